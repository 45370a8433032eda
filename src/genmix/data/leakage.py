"""Leakage checks for file-based datasets: nothing of one patient or image in two splits.

- a group (patient) in two explicit splits is an error naming the group and where it occurs;
- the same file (resolved path) or byte-identical decoded pixels in two splits is an error
  naming both files;
- for automatic splits, each group stays together and an image without a group is tied to its
  byte-identical twins (connected components); the same two checks run after the split.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from ..errors import GenmixError


def pixel_digest(arr: np.ndarray) -> str:
    """Hash of a decoded image: shape and bytes."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((arr.dtype.str, arr.shape)).encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _list(where: list[str], limit: int = 3) -> str:
    more = f" and {len(where) - limit} more" if len(where) > limit else ""
    return ", ".join(where[:limit]) + more


def check_groups_disjoint(splits: list[str], groups: list[str], where: list[str], origin: str,
                          what: str = "group") -> None:
    """A group (non-empty) found in two splits is an error naming it and its places per split."""
    seen: dict[str, dict[str, list[str]]] = {}
    for s, g, w in zip(splits, groups, where):
        if g:
            seen.setdefault(g, {}).setdefault(s, []).append(w)
    for g, per in seen.items():
        if len(per) > 1:
            parts = "; ".join(f"{s}: {_list(ws)}" for s, ws in per.items())
            raise GenmixError(f"{origin}: {what} '{g}' is in {len(per)} splits ({parts}); "
                              "a patient must stay inside one split")


def _name(path: str, split: str, where: str) -> str:
    return f"{path} ({split}{', ' + where if where and where != path else ''})"


def check_files_disjoint(splits: list[str], paths: list[str], where: list[str], origin: str) -> None:
    """The same file (resolved path) in two splits is an error naming both."""
    first: dict[str, tuple[str, str, str]] = {}
    for s, p, w in zip(splits, paths, where):
        real = os.path.realpath(p)
        if real in first and first[real][0] != s:
            t, q, v = first[real]
            same = f" (both resolve to {real})" if q != p else ""
            raise GenmixError(f"{origin}: {_name(q, t, v)} and {_name(p, s, w)} are the same file{same}; "
                              "an image in two splits leaks into evaluation")
        first.setdefault(real, (s, p, w))


def check_pixels_disjoint(splits: list[str], paths: list[str], where: list[str], digests: list[str],
                          origin: str) -> None:
    """Byte-identical decoded pixels in two splits is an error naming both files."""
    first: dict[str, tuple[str, str, str]] = {}
    for s, p, w, d in zip(splits, paths, where, digests):
        if d in first and first[d][0] != s:
            t, q, v = first[d]
            raise GenmixError(f"{origin}: {_name(q, t, v)} and {_name(p, s, w)} have byte-identical pixels; "
                              "an image in two splits leaks into evaluation")
        first.setdefault(d, (s, p, w))


def tie_groups(groups: list[str], digests: list[str]) -> tuple[np.ndarray, int]:
    """Component id per image for the automatic split: images of one (non-empty) group stay
    together, and an image without a group joins its byte-identical twins (their group if one has
    one). Twins in two different named groups are not merged (a blank slice shared by many patients
    would otherwise fuse them); ``check_pixels_disjoint`` after the split refuses them if they part.
    Also returns how many images have a byte-identical twin."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(digests)
    keys: dict = {}
    rows, cols = [], []
    anchored: set[str] = set()
    for i, (g, d) in enumerate(zip(groups, digests)):
        links = []
        if g:
            links.append(("g", g))
            if d not in anchored:  # the first grouped twin carries the ungrouped ones
                anchored.add(d)
                links.append(("d", d))
        else:
            links.append(("d", d))
        for key in links:
            rows.append(i)
            cols.append(n + keys.setdefault(key, len(keys)))
    size = n + len(keys)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    _, comp = connected_components(graph, directed=False)
    counts: dict[str, int] = {}
    for d in digests:
        counts[d] = counts.get(d, 0) + 1
    twins = sum(1 for d in digests if counts[d] > 1)
    return comp[:n], twins
