#!/usr/bin/env bash
# Table 1 on real data: genmix run on a config, wall time and peak RSS recorded (the largest
# single process from /usr/bin/time, and the whole process tree summed, workers included).
# Usage: benchmarks/quality/run.sh configs/breastmnist.yaml 0,1,2 [workers]
set -euo pipefail
cfg=$1; seeds=${2:-0,1,2}; workers=${3:-1}
name=$(basename "$cfg" .yaml)
out=${GENMIX_BENCH_OUT:-runs/bench-$name}
export HF_HUB_OFFLINE=1 GENMIX_DATA_ROOT=${GENMIX_DATA_ROOT:-../shared/data}
mkdir -p benchmarks/results
timefile="benchmarks/results/quality_${name}_time.txt"
/usr/bin/time -v genmix run "$cfg" --out "$out" --seeds "$seeds" --workers "$workers" --quiet 2> "$timefile" &
pid=$!
python benchmarks/quality/tree_rss.py "$pid" "benchmarks/results/quality_${name}_tree_rss.txt" &
wait "$pid"
wait
cat "$timefile" >&2
python benchmarks/quality/summarize.py "$out" "$cfg" "$seeds" "$timefile" "$workers"
