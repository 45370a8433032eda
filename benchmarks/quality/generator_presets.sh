#!/bin/bash
# Quick-preset generators vs twice the training steps on BreastMNIST, 3 replicates (issue 14, item 3).
# usage: benchmarks/quality/generator_presets.sh [WORKERS]   (runs configs/breastmnist.yaml into runs/bench-breastmnist first when
#   that run has no table yet: ~2 h here, cached and resumable)
# The decision reads the validation columns (val F1 of the kept checkpoint, and the audit); test is reported.
set -e
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1
W=${1:-2}
SRC=runs/bench-breastmnist D=runs/bench-breastmnist-long-generators
[ -f $SRC/table.csv ] || genmix run configs/breastmnist.yaml --out $SRC --seeds 0,1,2 --workers $W --cpus-per-unit 1 --quiet
mkdir -p $D/units
for u in $SRC/units/clf-baseline-s*; do ln -sfn "$(realpath "$u")" $D/units/; done
genmix run benchmarks/quality/breastmnist-long-generators.yaml --out $D --seeds 0,1,2 --workers $W --cpus-per-unit 1 --quiet
python benchmarks/quality/paired_runs.py $SRC $D quick long > benchmarks/results/generator_presets_breastmnist.md
