#!/bin/bash
# The ratio / balance defaults study (issue 14, item 3), decided on VALIDATION only.
# usage: benchmarks/quality/candidates_study.sh [WORKERS] [DATASET ...]
#   (default: all four: breastmnist organamnist-fll3 pneumoniamnist-small bloodmnist-small)
# Per dataset: runs configs/DATASET.yaml into runs/bench-DATASET when it has no table yet (its Table 1; cached and
# resumable), links its finished units into runs/bench-DATASET-candidates (benchmarks/quality/link_units.py), runs
# benchmarks/quality/DATASET-candidates.yaml there (only the new syntheses and classifier runs), and finally reads
# every dataset's candidates.csv with benchmarks/quality/defaults.py (validation macro-F1 only).
set -e
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1
W=${1:-2}
shift || true
SETS=${*:-breastmnist organamnist-fll3 pneumoniamnist-small bloodmnist-small}
EXPS=()
for DS in $SETS; do
  SRC=runs/bench-$DS D=runs/bench-$DS-candidates
  [ -f $SRC/table.csv ] || genmix run configs/$DS.yaml --out $SRC --seeds 0,1,2 --workers $W --cpus-per-unit 1 --quiet
  python benchmarks/quality/link_units.py $SRC benchmarks/quality/$DS-candidates.yaml $D 0,1,2
  genmix run benchmarks/quality/$DS-candidates.yaml --out $D --seeds 0,1,2 --workers $W --cpus-per-unit 1 --quiet
  EXPS+=($D)
done
python benchmarks/quality/defaults.py "${EXPS[@]}" --name defaults_study_ratio_balance
