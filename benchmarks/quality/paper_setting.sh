#!/bin/bash
# The paper's setting (pretrained classifier backbone) on each dataset, then a meta-analysis across them
# (issue 28, item 5). usage: benchmarks/quality/paper_setting.sh "pneumoniamnist-small organamnist-fll3 ..." [WORKERS]
# Per dataset: pretrain a ResNet-18 backbone on the corpus minus every set sharing its source, run
# benchmarks/quality/paper-setting/DS.yaml (adaptive replicates 3..5), copy its table, verdict and
# sequential record to benchmarks/results/paper_setting_DS.*; finally genmix meta over every finished run.
set -e
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1 GENMIX_DATA_ROOT=${GENMIX_DATA_ROOT:-../shared/data/medmnist}
DATASETS=${1:-"pneumoniamnist-small organamnist-fll3 bloodmnist-small breastmnist"}
W=${2:-2}
for ds in $DATASETS; do
  cfg=benchmarks/quality/paper-setting/$ds.yaml
  spec=$(sed -n 's/^data: //p' $cfg)
  bb=models/backbone-$ds-resnet18-28.safetensors
  [ -f $bb ] || nice -n 10 genmix pretrain-classifier --exclude-target "$spec" --model resnet18 --epochs 3 \
      --image-size 28 --max-per-dataset 2000 --out $bb
  nice -n 10 genmix run $cfg --out runs/paper-setting-$ds --workers $W --cpus-per-unit 1 --quiet
  for f in table.md verdict.json sequential.json results.csv; do
    [ -f runs/paper-setting-$ds/$f ] && cp runs/paper-setting-$ds/$f benchmarks/results/paper_setting_$ds.${f#*.}
  done
done
runs=$(for ds in pneumoniamnist-small organamnist-fll3 bloodmnist-small breastmnist; do
  [ -f runs/paper-setting-$ds/verdict.json ] && echo runs/paper-setting-$ds; done)
[ -n "$runs" ] && genmix meta $runs --out runs/paper-setting-meta && cp runs/paper-setting-meta/meta.md benchmarks/results/paper_setting_meta.md
