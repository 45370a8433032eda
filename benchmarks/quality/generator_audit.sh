#!/bin/bash
# Do the GANs learn the grayscale sets at their quick presets (issue 30's bar)? Runs
# benchmarks/quality/generator-audit/DATASET.yaml (DCGAN plain + StyleGAN2 ADA per replicate, audited, with their
# blended rows) for each DATASET and copies its audit and table to benchmarks/results/generator_audit_DATASET.*;
# then benchmarks/quality/generator_bar.py judges every replicate against the bar (with BloodMNIST-small's audit
# from its Table 1 in the paper's setting, where present).
# usage: benchmarks/quality/generator_audit.sh [WORKERS] DATASET...
set -e
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1 GENMIX_DATA_ROOT=${GENMIX_DATA_ROOT:-../shared/data/medmnist}
W=$1
shift
for name in "$@"; do
  nice -n 10 genmix run benchmarks/quality/generator-audit/$name.yaml --out runs/generator-audit-$name --workers $W \
      --cpus-per-unit 1 --quiet
  cp runs/generator-audit-$name/audit.csv benchmarks/results/generator_audit_$name.csv
  cp runs/generator-audit-$name/table.md benchmarks/results/generator_audit_$name.md
done
python benchmarks/quality/generator_bar.py
