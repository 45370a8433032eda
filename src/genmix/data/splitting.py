"""The automatic train/val/test split: stratified by class, grouped by patient (seed 0, ~70/15/15).

scikit-learn's ``StratifiedGroupKFold`` draws the split (one fold of 7 for test, then one of 6
of the rest for validation). Tiny data can leave a class out of a fold; a small repair then moves
the smallest patient of that class from the split that has the most of them, so every split holds
every class. ``check_enough`` refuses, in one line, data that no grouped split can serve.
"""

from __future__ import annotations

import numpy as np

from ..errors import GenmixError

MIN_PER_CLASS = 3  # one group per split


def group_ids(groups: list[str] | None, n: int) -> np.ndarray:
    """Integer group id per image; an empty or missing group makes the image its own group."""
    if groups is None:
        return np.arange(n)
    ids, out = {}, np.empty(n, dtype=np.int64)
    for i, g in enumerate(groups):
        key = g if g else ("\0own", i)
        out[i] = ids.setdefault(key, len(ids))
    return out


def check_enough(labels: np.ndarray, gid: np.ndarray, class_names: list[str], origin: str,
                 unit: str = "images", note: str = "") -> None:
    """Every class needs groups in all three splits: at least ``MIN_PER_CLASS`` distinct groups."""
    for c, name in enumerate(class_names):
        k = len(np.unique(gid[labels == c]))
        if k < MIN_PER_CLASS:
            what = "grouped split" if unit != "images" else "split"
            noun = unit[:-1] if k == 1 else unit
            raise GenmixError(
                f"{origin}: class '{name}' has {k} {noun}{note}; an automatic 70/15/15 {what} needs at "
                f"least {MIN_PER_CLASS} {unit} per class (one per split); add {unit} or give train/val/test "
                "explicitly")


def split_indices(labels: np.ndarray, groups: np.ndarray | None, seed: int = 0,
                  val_fraction: float = 0.15, test_fraction: float = 0.15,
                  class_names: list[str] | None = None, origin: str = "dataset") -> dict[str, np.ndarray]:
    """Stratified train/val/test split that keeps every group (patient) inside one split.
    Call ``check_enough`` first; then every split holds every class."""
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    labels = np.asarray(labels)
    n = len(labels)
    gid = np.arange(n) if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1]
    names = class_names or [str(c) for c in range(int(labels.max()) + 1)]
    idx = np.arange(n)

    def take(sub, frac, rs):
        n_groups = len(np.unique(gid[sub]))
        # sklearn needs k <= the number of groups and <= the largest class's count
        k = min(max(2, int(round(1.0 / frac))), n_groups, int(np.bincount(labels[sub]).max(initial=0)))
        if k < 2:
            return sub, sub[:0]
        cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=rs)
        rest, held = next(cv.split(sub, labels[sub], gid[sub]))
        return sub[rest], sub[held]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns when a class has fewer members than folds
        rest, test = take(idx, test_fraction, seed)
        train, val = take(rest, val_fraction / (1.0 - test_fraction), seed + 1)
    where = np.empty(n, dtype=np.int64)
    for s, part in enumerate((train, val, test)):
        where[part] = s
    _repair(where, labels, gid, names, origin)
    return {s: np.flatnonzero(where == i) for i, s in enumerate(("train", "val", "test"))}


def _repair(where: np.ndarray, labels: np.ndarray, gid: np.ndarray, names: list[str], origin: str) -> None:
    """Give every split every class by moving whole groups (in place)."""
    split_names = ("train", "val", "test")
    n_classes = len(names)
    members = {g: np.flatnonzero(gid == g) for g in np.unique(gid)}
    group_split = {g: int(where[m[0]]) for g, m in members.items()}
    group_classes = {g: set(labels[m].tolist()) for g, m in members.items()}

    def groups_of(s, c):
        return [g for g, gs in group_split.items() if gs == s and c in group_classes[g]]

    for s in (2, 1, 0):  # test, val, train
        for c in range(n_classes):
            if groups_of(s, c):
                continue
            donors = sorted((d for d in range(3) if d != s), key=lambda d: (-len(groups_of(d, c)), d))
            moved = False
            for d in donors:
                own = groups_of(d, c)
                if len(own) < 2:
                    continue
                for g in sorted(own, key=lambda g: (len(members[g]), g)):
                    # moving g must leave d with every class it holds
                    if all(len(groups_of(d, k)) > 1 for k in group_classes[g]):
                        group_split[g] = s
                        where[members[g]] = s
                        moved = True
                        break
                if moved:
                    break
            if not moved:
                raise GenmixError(
                    f"{origin}: no patient of class '{names[c]}' can move into split '{split_names[s]}' "
                    f"without taking a class out of another split (patients with several classes tie them "
                    f"together); add patients of class '{names[c]}' or give train/val/test explicitly")
