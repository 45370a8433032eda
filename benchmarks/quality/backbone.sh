#!/bin/bash
# Pretrained classifier backbone vs from scratch on BreastMNIST (issue 15, item 4).
# usage: benchmarks/quality/backbone.sh "0 1 2"   (1 torch thread per process, nice 10)
# Pretrains resnet18 at 28 px on the public MedMNIST corpus minus every set sharing BreastMNIST's
# source (PneumoniaMNIST, OrganAMNIST, BloodMNIST; at most 2000 training images each, 3 epochs),
# then trains the BreastMNIST Baseline (quick preset) from scratch and from the backbone per seed.
set -e
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1
SEEDS=${1:-"0 1"}
run() { nice -n 10 python -c 'import torch,sys;torch.set_num_threads(1);from genmix.cli import main;sys.exit(main(sys.argv[1:]))' "$@"; }
BB=models/backbone-resnet18-28.safetensors
[ -f $BB ] || run pretrain-classifier --exclude-target medmnist:breastmnist --model resnet18 --epochs 3 \
    --image-size 28 --max-per-dataset 2000 --out $BB
for seed in $SEEDS; do
  run train-classifier --data medmnist:breastmnist --model resnet18 --preset quick --seed $seed \
      --out models/bench/scratch-s$seed --quiet
  run train-classifier --data medmnist:breastmnist --model resnet18 --preset quick --seed $seed \
      --out models/bench/pretrained-s$seed --pretrained $BB --quiet
done
python benchmarks/quality/backbone_table.py models/bench > benchmarks/results/backbone_breastmnist.md
