"""``extends:`` — an experiment config written as another config with some settings changed.

``extends: PATH`` (relative to the file that says it) reads that config first; the file's own keys then go over
it: mappings merge key by key at every depth (``generators: {dcgan: {steps: 3000}}`` changes one generator
setting and keeps the rest), anything else — a list such as ``rows`` or ``seeds``, a number, a string — replaces
the parent's. A parent may extend another in turn. The merged mapping is what the schema checks.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import GenmixError


def read_yaml(path: Path) -> dict:
    """One YAML file's top-level mapping, or a one-line error naming the file."""
    import yaml

    if not path.is_file():
        raise GenmixError(f"{path}: config not found" if not path.exists() else f"{path}: not a file")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise GenmixError(f"{path}: not valid YAML ({where}{getattr(exc, 'problem', None) or exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GenmixError(f"{path}: unreadable ({getattr(exc, 'strerror', None) or exc})") from None
    if not isinstance(raw, dict):
        raise GenmixError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    return raw


def merge(parent: dict, child: dict) -> dict:
    """``child`` over ``parent``: mappings merged at every depth, other values replaced."""
    out = dict(parent)
    for k, v in child.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_config_tree(path: Path, seen: tuple = ()) -> dict:
    """The config at ``path`` with its ``extends:`` chain merged in (the key itself removed)."""
    path = Path(path)
    if path.resolve() in seen:
        chain = " -> ".join(str(p) for p in (*seen, path.resolve()))
        raise GenmixError(f"{path}: extends: the configs extend each other in a circle ({chain})")
    raw = read_yaml(path)
    if "extends" not in raw:
        return raw
    parent = raw.pop("extends")
    if not isinstance(parent, str) or not parent.strip():
        raise GenmixError(f"{path}: extends: expected the path of another config, got {parent!r}")
    ppath = path.parent / parent
    if not ppath.is_file():
        raise GenmixError(f"{path}: extends: {ppath} not found (a path relative to this file)")
    return merge(read_config_tree(ppath, (*seen, path.resolve())), raw)
