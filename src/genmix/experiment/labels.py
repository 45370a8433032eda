"""Class names as table columns and figure labels; row names as file and unit names."""

from __future__ import annotations

import re


def column_label(class_name: str) -> str:
    """A class name as a table column: parenthesised detail dropped ('immature granulocytes(myelocytes, ...)'
    -> 'immature granulocytes'), the name kept whole when nothing else is left."""
    return re.sub(r"\s*\(.*?\)", "", class_name).strip() or class_name


def column_labels(classes) -> list[str]:
    """column_label of every class, or the full names when shortening would make two columns alike."""
    labels = [column_label(c) for c in classes]
    return labels if len(set(labels)) == len(labels) else list(classes)


def slug(s: str) -> str:
    """A row name as part of a file or unit name: 'GenMix (DCGAN, selected)' -> 'genmix-dcgan-selected'."""
    return re.sub(r"[^A-Za-z0-9]+", "-", s).strip("-").lower()
