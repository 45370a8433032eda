#!/bin/bash
# Pretrained backbone vs from scratch for Baseline and GenMix on BreastMNIST, 5 seeds (issue 15, item 4).
# usage: benchmarks/quality/backbone_genmix.sh [WORKERS]   (needs models/backbone-resnet18-28.safetensors
# from benchmarks/quality/backbone.sh). Reuses runs/bench-breastmnist's units for seeds 0-2 (same content;
# `genmix run --reuse`), trains the seed 3-4 generators once for both starts, then pairs the two runs by seed.
set -e
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1
W=${1:-2}
SRC=runs/bench-breastmnist S=runs/bench-breastmnist-scratch B=runs/bench-breastmnist-backbone
REUSE=$([ -d $SRC/units ] && echo "--reuse $SRC" || true)
nice -n 10 genmix run benchmarks/quality/breastmnist-scratch.yaml --out $S $REUSE --workers $W --cpus-per-unit 1 --quiet
nice -n 10 genmix run benchmarks/quality/breastmnist-backbone.yaml --out $B --reuse $S --workers $W --cpus-per-unit 1 \
    --quiet
python benchmarks/quality/paired_runs.py $S $B > benchmarks/results/backbone_genmix_breastmnist.md
