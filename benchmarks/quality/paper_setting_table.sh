#!/bin/bash
# Table 1's rows in the paper's setting, from-scratch rows beside (issue 28, item 5).
# usage: benchmarks/quality/paper_setting_table.sh NAME [WORKERS]   runs benchmarks/quality/paper-setting/NAME-table1.yaml
# Builds the backbone the config names (skipped when present): its classifier model at 28 px on all of the corpus
# without the target's source, the best of 8 epochs on held-out corpus images (paper_setting.sh's used 2,000 images
# per set, 3 epochs); runs the config and copies its table, verdict and per-unit metrics to
# benchmarks/results/paper_setting_table1_NAME.*. NAME is a dataset (ResNet-18) or DATASET-vgg16 (the paper's VGG-16:
# ~24x ResNet-18's time per step on this CPU, a GPU job).
#        benchmarks/quality/paper_setting_table.sh meta [EARLIER_META_JSON]   pools every finished ResNet-18 table in
#        runs/ (and the datasets of an earlier meta.json, e.g. the committed one when runs/ did not survive) with
#        genmix meta into benchmarks/results/paper_setting_table1_meta.{md,json}
set -e
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1 GENMIX_DATA_ROOT=${GENMIX_DATA_ROOT:-../shared/data/medmnist}
if [ "$1" = meta ]; then
  runs=$(ls -d runs/paper-setting-table1-* | grep -v -e -vgg16 -e -meta | while read -r d; do [ -f $d/table.csv ] && echo $d; done)
  earlier=""
  if [ -n "$2" ]; then earlier=$(mktemp --suffix=.json); cp "$2" "$earlier"; fi
  genmix meta $earlier $runs --out runs/paper-setting-table1-meta
  cp runs/paper-setting-table1-meta/meta.md benchmarks/results/paper_setting_table1_meta.md
  cp runs/paper-setting-table1-meta/meta.json benchmarks/results/paper_setting_table1_meta.json
  exit 0
fi
name=$1
W=${2:-2}
cfg=benchmarks/quality/paper-setting/$name-table1.yaml
read -r spec model bb < <(python -c "import sys; from genmix.experiment.config import load_config; \
c = load_config(sys.argv[1]); print(c['data'], c['classifier']['model'], c['classifier']['pretrained'])" $cfg)
[ -f $bb ] || nice -n 10 genmix pretrain-classifier --exclude-target "$spec" --model $model --epochs 8 --keep best \
    --image-size 28 --out $bb
nice -n 10 genmix run $cfg --out runs/paper-setting-table1-$name --workers $W --cpus-per-unit 1 --quiet
python -c "import json, sys; from genmix.pretrained import backbone_config; c = backbone_config(sys.argv[1]); \
print(json.dumps({k: c[k] for k in ('corpus', 'train_images', 'epochs', 'keep', 'chosen_epoch', 'chosen_val_acc', \
'history', 'wall_s')}, indent=1))" $bb > benchmarks/results/paper_setting_table1_${name}_backbone.json
for f in table.md verdict.json results.csv; do
  cp runs/paper-setting-table1-$name/$f benchmarks/results/paper_setting_table1_$name.${f#*.}
done
cp runs/paper-setting-table1-$name/timings.csv benchmarks/results/paper_setting_table1_${name}_timings.csv
if [ -f runs/paper-setting-table1-$name/audit.csv ]; then  # a config with audit: true (the generators' audit)
  cp runs/paper-setting-table1-$name/audit.csv benchmarks/results/paper_setting_table1_${name}_audit.csv
fi
