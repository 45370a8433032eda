"""``folder:<path>``: one sub-folder per class, optionally under ``train/ val/ test/``.

Images may sit directly in a class folder or in sub-folders of it; the first sub-folder level
under a class folder is the patient (group): ``benign/patient07/slice3.png``. The same sub-folder
name under two classes is the same patient. Linked directories are followed once; a file reached
under two classes or two splits is an error. Hidden files and folders (``.name``) are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import GenmixError
from .assemble import Entry, build_dataset
from .base import SPLITS
from .files import is_image

GROUPS_BY = "first sub-folder under each class"


def _class_dirs(root: Path) -> list[Path]:
    return sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))


def _check_not_a_loop(d: Path, root: Path) -> None:
    real, top = d.resolve(), root.resolve()
    if top == real or top.is_relative_to(real):
        raise GenmixError(f"{d}: class folder is a link to {real}, which holds the class folders themselves; "
                          "its images would be read twice under two labels")


def _files(d: Path) -> list[tuple[Path, str]]:
    """Image files under class folder ``d`` with their group (first sub-folder, "" when directly
    in ``d``). Each real directory is visited once, so linked folders are not followed twice."""
    out, seen = [], set()
    top = Path(os.path.realpath(d))
    for dirpath, dirnames, filenames in os.walk(d, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(n for n in dirnames if not n.startswith("."))
        here = Path(dirpath)
        for name in dirnames:
            _check_link(here / name, d, top)
        rel = here.relative_to(d).parts
        for name in filenames:
            p = here / name
            if name.startswith(".") or not is_image(p):
                continue
            if p.is_file():
                out.append((p, rel[0] if rel else ""))
            elif p.is_symlink() and _loops(p):
                raise GenmixError(f"{p}: symlink loop (it points to {os.readlink(p)}, which leads back to "
                                  "itself); remove the link")
    return sorted(out)


def _loops(p: Path) -> bool:
    import errno

    try:
        os.stat(p)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _check_link(link: Path, d: Path, top: Path) -> None:
    """A linked folder inside class folder ``d`` that points to a folder above ``d`` (the dataset
    root, or higher) is a loop: following it would read ``d`` again and the other classes under
    ``d``'s label. A link to ``d`` itself or inside it is harmless (read once)."""
    if not link.is_symlink():
        return
    target = Path(os.path.realpath(link))
    if target != top and top.is_relative_to(target):
        raise GenmixError(f"{link}: symlink loop: it points to {os.readlink(link)} ({target}), which holds the "
                          f"class folder {d} itself; its images would be read again, the other classes' under "
                          f"'{d.name}'; remove the link")


def _collect(d: Path, label: int, names: list[str], split: str, seen: dict, entries: list[Entry]) -> int:
    """Append the images of class folder ``d``; a real file already seen under another class or
    split is an error naming both paths, under the same class it is skipped."""
    n = 0
    for p, group in _files(d):
        real = os.path.realpath(p)
        if real in seen:
            q, lab, spl = seen[real]
            if lab != label:
                raise GenmixError(f"{q} (class '{names[lab]}') and {p} (class '{names[label]}') are the same file "
                                  f"({real}) reached under two classes; remove the link or the copy")
            if spl != split:
                raise GenmixError(f"{q} ({spl}) and {p} ({split}) are the same file ({real}); "
                                  "an image in two splits leaks into evaluation")
            continue
        seen[real] = (p, label, split)
        entries.append(Entry(p, label, split, group, str(p)))
        n += 1
    return n


def load_folder(path: str, image_size=None, channels=None, window=None, seed: int = 0):
    root = Path(path).expanduser()
    if not root.is_dir():
        raise GenmixError(f"{root}: folder not found")
    spec = f"folder:{path}"
    present = [s for s in SPLITS if (root / s).is_dir()]
    entries: list[Entry] = []
    seen: dict = {}
    if present:
        if len(present) < len(SPLITS):
            missing = [s for s in SPLITS if s not in present]
            raise GenmixError(f"{root}: has {'/, '.join(present)}/ but no {'/, '.join(missing)}/; a split layout "
                              "needs train/, val/ and test/ (or put the class folders directly in it for an "
                              "automatic split)")
        names = [d.name for d in _class_dirs(root / "train")]
        if not names:
            raise GenmixError(f"{root / 'train'}: no class sub-folders")
        for s in SPLITS:
            for d in _class_dirs(root / s):
                if d.name not in names:
                    raise GenmixError(f"{d}: unknown label '{d.name}' (not a class of {root / 'train'})")
                _check_not_a_loop(d, root)
            for c, name in enumerate(names):
                d = root / s / name
                if not d.is_dir() or not _collect(d, c, names, s, seen, entries):
                    have = [n for n in names if (root / s / n).is_dir() and _files(root / s / n)]
                    raise GenmixError(f"{root / s}: class '{name}' is missing from split '{s}' "
                                      f"(it has images of: {', '.join(have) or 'no class'})")
    else:
        dirs = _class_dirs(root)
        if not dirs:
            raise GenmixError(f"{root}: empty folder (expected one sub-folder of images per class)")
        names = [d.name for d in dirs]
        for d in dirs:
            _check_not_a_loop(d, root)
        for c, d in enumerate(dirs):
            if not _collect(d, c, names, "", seen, entries):
                raise GenmixError(f"{d}: empty class folder (no PNG/JPEG/TIFF/DICOM/NIfTI images)")
    groups_by = GROUPS_BY if any(e.group for e in entries) else None
    return build_dataset(spec, str(root), names, entries, image_size, channels, window, seed, groups_by)
