#!/bin/bash
# Table 1's rows in the paper's setting, from-scratch rows beside (issue 28, item 5).
# usage: benchmarks/quality/paper_setting_table.sh DATASET [WORKERS]
# Builds the same backbone as paper_setting.sh (skipped when present), runs
# benchmarks/quality/paper-setting/DATASET-table1.yaml and copies its table, verdict, sequential record and
# per-unit metrics to benchmarks/results/paper_setting_table1_DATASET.*.
set -e
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1 GENMIX_DATA_ROOT=${GENMIX_DATA_ROOT:-../shared/data/medmnist}
ds=$1
W=${2:-2}
cfg=benchmarks/quality/paper-setting/$ds-table1.yaml
spec=$(sed -n 's/^data: //p' $cfg)
bb=models/backbone-$ds-resnet18-28.safetensors
[ -f $bb ] || nice -n 10 genmix pretrain-classifier --exclude-target "$spec" --model resnet18 --epochs 3 \
    --image-size 28 --max-per-dataset 2000 --out $bb
nice -n 10 genmix run $cfg --out runs/paper-setting-table1-$ds --workers $W --cpus-per-unit 1 --quiet
for f in table.md verdict.json sequential.json results.csv timings.csv; do
  [ -f runs/paper-setting-table1-$ds/$f ] && cp runs/paper-setting-table1-$ds/$f benchmarks/results/paper_setting_table1_$ds.${f#*.}
done
