import math

import numpy as np

from genmix.evaluate import compute_metrics


def test_metrics_match_hand_computed_three_class_confusion_matrix():
    # truth:  0 0 0 0 1 1 1 2 2 2 ; predictions: class 2 is never predicted
    y = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    pred = np.array([0, 0, 0, 1, 1, 1, 0, 0, 1, 1])
    probs = np.eye(3)[pred] * 0.8 + 0.2 / 3
    m = compute_metrics(y, probs, ["a", "b", "c"])
    assert m["confusion_matrix"] == [[3, 1, 0], [1, 2, 0], [1, 2, 0]]
    assert m["accuracy"] == 0.5 and m["n"] == 10
    # a: tp3 fn1 fp2 tn4 ; b: tp2 fn1 fp3 tn4 ; c: tp0 fn3 fp0 tn7
    pc = m["per_class"]
    assert pc["a"]["sensitivity"] == 3 / 4 and pc["a"]["specificity"] == 4 / 6
    assert pc["b"]["sensitivity"] == 2 / 3 and pc["b"]["specificity"] == 4 / 7
    assert pc["c"]["sensitivity"] == 0 and pc["c"]["specificity"] == 1.0
    f1a, f1b = 2 * 3 / (2 * 3 + 1 + 2), 2 * 2 / (2 * 2 + 1 + 3)
    assert math.isclose(pc["a"]["f1"], f1a) and math.isclose(pc["b"]["f1"], f1b) and pc["c"]["f1"] == 0
    assert math.isclose(m["f1_macro"], (f1a + f1b) / 3)
    assert math.isclose(m["balanced_accuracy"], (3 / 4 + 2 / 3 + 0) / 3)
    assert [pc[k]["support"] for k in "abc"] == [4, 3, 3]
    assert 0 <= m["auc_macro"] <= 1


def test_binary_auc_uses_positive_class_probability():
    y = np.array([0, 0, 1, 1])
    p1 = np.array([0.1, 0.4, 0.35, 0.8])
    m = compute_metrics(y, np.stack([1 - p1, p1], 1), ["neg", "pos"])
    assert m["auc_macro"] == 0.75
