#!/usr/bin/env bash
# Table 1 on real data: genmix run on a config, wall time and peak RSS recorded.
# Usage: benchmarks/quality/run.sh configs/breastmnist.yaml 0,1,2 [workers]
set -euo pipefail
cfg=$1; seeds=${2:-0,1,2}; workers=${3:-1}
name=$(basename "$cfg" .yaml)
out=${GENMIX_BENCH_OUT:-runs/bench-$name}
export HF_HUB_OFFLINE=1 GENMIX_DATA_ROOT=${GENMIX_DATA_ROOT:-../shared/data}
mkdir -p benchmarks/results
/usr/bin/time -v genmix run "$cfg" --out "$out" --seeds "$seeds" --workers "$workers" --quiet \
  2> >(tee "benchmarks/results/quality_${name}_time.txt" >&2)
python benchmarks/quality/summarize.py "$out" "$cfg" "$seeds" "benchmarks/results/quality_${name}_time.txt"
