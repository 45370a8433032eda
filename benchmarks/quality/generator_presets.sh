#!/bin/bash
# Quick-preset generators vs twice the training steps, 3 replicates (issue 14, item 3).
# usage: benchmarks/quality/generator_presets.sh [WORKERS] [DATASET]
#   DATASET: breastmnist (default), bloodmnist-small, pneumoniamnist-small or organamnist-fll3; pairs the
#   quick side with benchmarks/quality/DATASET-long-generators.yaml by seed. The quick side is runs/bench-DATASET
#   when that Table 1 run has a table, else benchmarks/quality/DATASET-quick-generators.yaml when there is one
#   (just the paired rows, the same unit hashes; the finished units of runs/bench-DATASET-candidates, the defaults
#   study, are reused: `genmix run --reuse`), else configs/DATASET.yaml is run first (~2 h here; cached and
#   resumable).
# The decision reads the validation columns (val F1 of the kept checkpoint, and the audit); test is reported.
set -e
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1
W=${1:-2}
DS=${2:-breastmnist}
SRC=runs/bench-$DS D=runs/bench-$DS-long-generators
Q=benchmarks/quality/$DS-quick-generators.yaml
if [ ! -f $SRC/table.csv ] && [ -f $Q ]; then
  SRC=runs/bench-$DS-quick-generators
  C=runs/bench-$DS-candidates  # the defaults study trains the same quick generators: reuse them
  REUSE=$([ -d $C/units ] && echo "--reuse $C" || true)
  [ -f $SRC/table.csv ] || genmix run $Q --out $SRC $REUSE --seeds 0,1,2 --workers $W --cpus-per-unit 1 --quiet
fi
[ -f $SRC/table.csv ] || genmix run configs/$DS.yaml --out $SRC --seeds 0,1,2 --workers $W --cpus-per-unit 1 --quiet
genmix run benchmarks/quality/$DS-long-generators.yaml --out $D --reuse $SRC --seeds 0,1,2 --workers $W \
    --cpus-per-unit 1 --quiet  # its Baseline units are $SRC's
python benchmarks/quality/paired_runs.py $SRC $D quick long > benchmarks/results/generator_presets_$DS.md
