"""Class fidelity (Shmelkov, Schmid & Alahari, "How good is my GAN?", ECCV 2018).

- GAN-test: accuracy, per class, of a classifier trained on the *real* training split when it
  classifies the synthetic images (are the images recognisably of the class they were drawn for?).
  Floor: the same classifier on the real test split.
- GAN-train: accuracy, per class, on the *real validation* split of a classifier of the same
  kind trained on the *synthetic* images only (do they carry what the class needs?). Floor: a
  classifier of the same kind trained on as many *real* training images per class.

Both classifiers choose their epoch on their own training images, never on validation or test.
"""

from __future__ import annotations

import torch


def per_class_accuracy(pred: torch.Tensor, labels: torch.Tensor, num_classes: int) -> tuple[list[float], float]:
    """Recall of each class (nan where a class has no image) and the overall accuracy."""
    per = []
    for c in range(num_classes):
        m = labels == c
        per.append(float((pred[m] == c).double().mean()) if m.any() else float("nan"))
    overall = float((pred == labels).double().mean()) if len(labels) else float("nan")
    return per, overall
