#!/bin/bash
# The ratio / balance defaults study (issue 14, item 3), decided on VALIDATION only.
# usage: benchmarks/quality/candidates_study.sh [WORKERS] [DATASET ...]
#   (default: all four: breastmnist organamnist-fll3 pneumoniamnist-small bloodmnist-small)
# Per dataset: pretrains the offline text-to-image model configs/DATASET.yaml names when it is missing (cached),
# runs benchmarks/quality/DATASET-candidates.yaml into runs/bench-DATASET-candidates reusing the finished units of
# runs/bench-DATASET (its Table 1 run, when it is on disk; `genmix run --reuse`), so only what is not there runs
# (cached and resumable), and finally reads every dataset's candidates.csv with
# benchmarks/quality/defaults.py (validation macro-F1 only).
set -e
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1
W=${1:-2}
shift || true
SETS=${*:-breastmnist organamnist-fll3 pneumoniamnist-small bloodmnist-small}
EXPS=()
for DS in $SETS; do
  SRC=runs/bench-$DS D=runs/bench-$DS-candidates
  T2I=models/t2i-$DS TARGET=$DS
  [ "$DS" = breastmnist ] && TARGET=medmnist:breastmnist
  [ -f $T2I/genmix.json ] || genmix pretrain-t2i --exclude-target $TARGET --out $T2I
  REUSE=$([ -d $SRC/units ] && echo "--reuse $SRC" || true)
  genmix run benchmarks/quality/$DS-candidates.yaml --out $D $REUSE --seeds 0,1,2 --workers $W --cpus-per-unit 1 --quiet
  EXPS+=($D)
done
python benchmarks/quality/defaults.py "${EXPS[@]}" --name defaults_study_ratio_balance
