#!/bin/bash
# Pretrained backbone vs from scratch for Baseline and GenMix on BreastMNIST, 5 seeds (issue 15, item 4).
# usage: benchmarks/quality/backbone_genmix.sh [WORKERS]   (needs models/backbone-resnet18-28.safetensors
# from benchmarks/quality/backbone.sh). Reuses runs/bench-breastmnist's units for seeds 0-2 (same hashes),
# trains the seed 3-4 generators once for both starts, then pairs the two runs by seed.
set -e
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1
W=${1:-2}
SRC=runs/bench-breastmnist/units S=runs/bench-breastmnist-scratch B=runs/bench-breastmnist-backbone
mkdir -p $S/units $B/units
for u in $SRC/gen-dcgan-* $SRC/gen-ddpm-* $SRC/synth-dcgan-* $SRC/synth-ddpm-* $SRC/clf-baseline-s* \
         $SRC/clf-genmix-dcgan-s[0-9]-* $SRC/clf-genmix-diffusion-s[0-9]-*; do
  [ -e "$u" ] && ln -sfn "$(realpath "$u")" $S/units/
done
nice -n 10 genmix run benchmarks/quality/breastmnist-scratch.yaml --out $S --workers $W --cpus-per-unit 1 --quiet
for u in $S/units/gen-* $S/units/synth-*; do ln -sfn "$(realpath "$u")" $B/units/; done
nice -n 10 genmix run benchmarks/quality/breastmnist-backbone.yaml --out $B --workers $W --cpus-per-unit 1 --quiet
python benchmarks/quality/paired_runs.py $S $B > benchmarks/results/backbone_genmix_breastmnist.md
