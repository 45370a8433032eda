#!/bin/bash
# From-scratch vs fine-tuned DDPM on BreastMNIST, 3 replicates (issue 15, item 5; the paper's Fig. 2).
# usage: benchmarks/quality/ddpm_init.sh [WORKERS]   (runs configs/breastmnist.yaml into runs/bench-breastmnist first when
#   that run has no table yet: ~2 h here, cached and resumable)
# Pretrains (or resumes) the class-agnostic DDPM on the public corpus without BreastMNIST's source, runs
# benchmarks/quality/breastmnist-ddpm-init.yaml (runs/bench-breastmnist's Baseline units reused: same content),
# pairs its Diffusion rows with runs/bench-breastmnist's by seed and puts the two Fig. 2 strips of seed 1 side by side.
set -e
cd "$(dirname "$0")/../.."
export HF_HUB_OFFLINE=1
W=${1:-2}
SRC=runs/bench-breastmnist D=runs/bench-breastmnist-ddpm-init
genmix pretrain-ddpm --exclude-target medmnist:breastmnist --steps 3000 --out models/ddpm-breastmnist
[ -f $SRC/table.csv ] || genmix run configs/breastmnist.yaml --out $SRC --seeds 0,1,2 --workers $W --cpus-per-unit 1 --quiet
genmix run benchmarks/quality/breastmnist-ddpm-init.yaml --out $D --reuse $SRC --seeds 0,1,2 --workers $W \
    --cpus-per-unit 1 --quiet
python benchmarks/quality/paired_runs.py $SRC $D scratch fine-tuned > benchmarks/results/ddpm_init_breastmnist.md
python - "$SRC" "$D" <<'PY'
import json, sys
from PIL import Image
strips = [Image.open(json.load(open(f"{e}/plan.json"))["units"]["gen"]["ddpm@s1"]["dir"] + "/fig2.png") for e in sys.argv[1:]]
w, h = sum(s.width for s in strips), max(s.height for s in strips)
out = Image.new("RGB", (w, h), "white")
x = 0
for s in strips:
    out.paste(s.convert("RGB"), (x, 0))
    x += s.width
out.resize((w // 2, h // 2), Image.LANCZOS).save("benchmarks/results/fig2_breastmnist_ddpm.png", optimize=True)
PY
