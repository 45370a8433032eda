"""ResNet-18 on BreastMNIST with the paper preset (100 epochs, batch 8, lr 2e-4, patience 20),
seed 0, for none / mixup / augmix: test metrics and wall time of each run.
Run: python benchmarks/quality/paper_preset.py [OUT_DIR]
"""

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import save  # noqa: E402


def main(out="runs/paper-preset-breastmnist"):
    rows = {}
    for aug in ("none", "mixup", "augmix"):
        run = Path(out) / aug
        t = time.perf_counter()
        subprocess.run(["genmix", "train-classifier", "--data", "medmnist:breastmnist", "--augment", aug,
                        "--model", "resnet18", "--preset", "paper", "--seed", "0", "--out", str(run), "--quiet"],
                       check=True)
        m = json.loads((run / "metrics.json").read_text())
        rows[aug] = {k: round(m[k], 4) for k in ("accuracy", "f1_macro", "balanced_accuracy", "auc_macro")}
        rows[aug].update(epochs_run=m["epochs_run"], best_epoch=m["best_epoch"],
                         wall_s=round(time.perf_counter() - t, 1),
                         sensitivity={k: round(v["sensitivity"], 4) for k, v in m["per_class"].items()},
                         specificity={k: round(v["specificity"], 4) for k, v in m["per_class"].items()})
    save("paper_preset_breastmnist", {"benchmark": "resnet18, paper preset, BreastMNIST test, seed 0",
                                      "runs": rows, "command": "python benchmarks/quality/paper_preset.py"})


if __name__ == "__main__":
    main(*sys.argv[1:2])
