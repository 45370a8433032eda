#!/bin/bash
# Table 1's rows in the paper's setting, from-scratch rows beside (issue 28, item 5).
# usage: benchmarks/quality/paper_setting_table.sh DATASET [WORKERS]
# Builds the backbone (skipped when present): ResNet-18 at 28 px on all of the corpus without the target's source,
# the best of 8 epochs on held-out corpus images (paper_setting.sh's used 2,000 images per set, 3 epochs); runs
# benchmarks/quality/paper-setting/DATASET-table1.yaml and copies its table, verdict and
# per-unit metrics to benchmarks/results/paper_setting_table1_DATASET.*.
set -e
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1 GENMIX_DATA_ROOT=${GENMIX_DATA_ROOT:-../shared/data/medmnist}
ds=$1
W=${2:-2}
cfg=benchmarks/quality/paper-setting/$ds-table1.yaml
spec=$(sed -n 's/^data: //p' $cfg)
bb=models/backbone-$ds-resnet18-28-full.safetensors
[ -f $bb ] || nice -n 10 genmix pretrain-classifier --exclude-target "$spec" --model resnet18 --epochs 8 --keep best \
    --image-size 28 --out $bb
nice -n 10 genmix run $cfg --out runs/paper-setting-table1-$ds --workers $W --cpus-per-unit 1 --quiet
python -c "import json, sys; from genmix.pretrained import backbone_config; c = backbone_config(sys.argv[1]); \
print(json.dumps({k: c[k] for k in ('corpus', 'train_images', 'epochs', 'keep', 'chosen_epoch', 'chosen_val_acc', \
'history', 'wall_s')}, indent=1))" $bb > benchmarks/results/paper_setting_table1_${ds}_backbone.json
for f in table.md verdict.json results.csv; do
  cp runs/paper-setting-table1-$ds/$f benchmarks/results/paper_setting_table1_$ds.${f#*.}
done
cp runs/paper-setting-table1-$ds/timings.csv benchmarks/results/paper_setting_table1_${ds}_timings.csv
