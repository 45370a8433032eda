#!/bin/bash
# The GPU path on a lent GPU (issue 29 item 4), under 8 minutes on one H100-class GPU. Run it only when the
# `device` tool's status shows a machine is lent; from the repository root:   bash benchmarks/gpu/check.sh
# 1. benchmarks/gpu/check.py: a classifier run and a DCGAN fit at 28 and 224 px, fp32 vs auto precision, timed,
#    with their agreement; 2. the README's main job on the GPU, four units sharing it (--units-per-gpu 4).
# Results go to $OUT (the device tool's folder) or runs/gpu-check; copy gpu_check.json to benchmarks/results/.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-runs/gpu-check}
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$OUT/nvidia-smi.txt"
python -c "import torch, torchvision, safetensors, sklearn, pydantic, yaml; print('torch', torch.__version__)" \
  || { echo "missing dependencies: pip install -e . on the device first"; exit 3; }
timeout 330 python benchmarks/gpu/check.py --out "$OUT" 2>&1 | tee "$OUT/check.log"
s=$(date +%s)
timeout 120 python -m genmix run configs/quickstart.yaml --out "$OUT/quickstart" --device cuda --workers 4 \
  --units-per-gpu 4 --no-figures --quiet > "$OUT/quickstart.log" 2>&1 && echo "quickstart on the GPU: $(( $(date +%s) - s )) s" \
  | tee -a "$OUT/check.log" || echo "quickstart on the GPU: did not finish in 120 s (see quickstart.log)" | tee -a "$OUT/check.log"
cp "$OUT/quickstart/results.csv" "$OUT/quickstart_results.csv" 2>/dev/null || true
