"""Metrics of the GenMix paper's Table 1 (accuracy, macro-F1, per-class sensitivity and
specificity) plus balanced accuracy, one-vs-rest macro AUC and the confusion matrix."""

from __future__ import annotations

import numpy as np
import torch


def compute_metrics(y_true, probs, class_names: list[str], split: str = "test") -> dict:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score, roc_auc_score

    y_true = np.asarray(y_true, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    k = len(class_names)
    labels = list(range(k))
    y_pred = probs.argmax(1)
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    f1 = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    per_class = {}
    total = cm.sum()
    for c, name in enumerate(class_names):
        tp = cm[c, c]
        fn = cm[c].sum() - tp
        fp = cm[:, c].sum() - tp
        tn = total - tp - fn - fp
        per_class[name] = {
            "sensitivity": float(tp / (tp + fn)) if tp + fn else float("nan"),
            "specificity": float(tn / (tn + fp)) if tn + fp else float("nan"),
            "f1": float(f1[c]),
            "support": int(cm[c].sum()),
        }
    try:
        if k == 2:
            auc = float(roc_auc_score(y_true, probs[:, 1]))
        else:
            p = probs / probs.sum(1, keepdims=True)
            auc = float(roc_auc_score(y_true, p, multi_class="ovr", average="macro", labels=labels))
    except ValueError:  # a class absent from y_true
        auc = float("nan")
    return {
        "split": split,
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_macro": float(f1.mean()),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "auc_macro": auc,
        "confusion_matrix": cm.tolist(),
        "per_class": per_class,
    }


@torch.no_grad()
def predict(model, split, device, batch_size: int = 256, features: bool = False):
    """Softmax probabilities (N,K) — and penultimate features when asked — for a Split."""
    model.eval()
    probs, feats = [], []
    images = split.images.to(device)  # the whole (uint8) split resident on the device, batches cut there
    for i in range(0, len(split), batch_size):
        x = images[i:i + batch_size].float().div_(255.0)
        f = model.features(x)
        probs.append(torch.softmax(model.head(f), 1).cpu())
        if features:
            feats.append(f.cpu())
    p = torch.cat(probs).numpy()
    return (p, torch.cat(feats).numpy()) if features else p


def flatten_metrics(m: dict) -> dict:
    """metrics.json -> one flat row (per-class values as ``<class>/<metric>``)."""
    row = {k: m[k] for k in ("split", "n", "accuracy", "f1_macro", "balanced_accuracy", "auc_macro")}
    for name, d in m["per_class"].items():
        for key, v in d.items():
            row[f"{name}/{key}"] = v
    return row
