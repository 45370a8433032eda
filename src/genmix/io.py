"""Writing outputs without leaving half-written ones: everything goes to ``OUT.partial`` and is
renamed to ``OUT`` when complete.

- ``atomic_dir(out)``: a folder output. A user error (GenmixError, OSError) removes the partial
  folder if this call created it (and any parent folders it created); an interruption
  (KeyboardInterrupt, a kill) keeps it, so the same command resumes from it.
- ``atomic_file(path)``: one file, written to ``PATH.partial`` and renamed.
- ``os_error(exc)``: an OSError as a one-line GenmixError naming the path and the cause.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from .errors import GenmixError


def partial_path(out) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".partial")


def os_error(exc: OSError, path=None) -> GenmixError:
    """'<path>: <cause>' from an OSError (``No space left on device``, ``Permission denied``...)."""
    where = exc.filename if exc.filename is not None else path
    cause = exc.strerror or str(exc) or type(exc).__name__
    return GenmixError(f"{where}: {cause}" if where is not None else cause)


def check_output_dir(out) -> Path:
    """``out`` may be absent or a folder; a file there is a one-line error (before any work)."""
    out = Path(out)
    for p in (out, partial_path(out)):
        if p.exists() and not p.is_dir():
            raise GenmixError(f"{p}: exists and is not a folder; choose another --out")
    parent = next((a for a in out.parents if a.exists()), None)
    if parent is not None and not parent.is_dir():
        raise GenmixError(f"{parent}: is a file, not a folder; choose another --out")
    return out


def first_missing(path: Path) -> Path | None:
    """The top-most ancestor of ``path`` (itself included) that does not exist yet."""
    top = None
    for p in (path, *path.parents):
        if p.exists():
            break
        top = p
    return top


@contextmanager
def atomic_dir(out):
    """Yield ``OUT.partial`` (created); rename it to ``OUT`` when the block completes."""
    out = check_output_dir(out)
    part = partial_path(out)
    created = first_missing(part)
    try:
        try:
            part.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise os_error(exc, part) from None
        yield part
        try:
            if out.is_dir() and not any(out.iterdir()):
                out.rmdir()
            part.rename(out)
        except OSError as exc:
            raise os_error(exc, out) from None
    except (GenmixError, OSError) as exc:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        if isinstance(exc, OSError):
            raise os_error(exc) from None
        raise


@contextmanager
def atomic_file(path, mode: str = "w", **kw):
    """Open ``PATH.partial`` for writing; renamed to ``PATH`` on success, removed on any error."""
    path = Path(path)
    if path.is_dir():
        raise GenmixError(f"{path}: is a folder; give a file name")
    part = partial_path(path)
    created = first_missing(path.parent)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(part, mode, **kw) as f:
            yield f
        os.replace(part, path)
    except BaseException as exc:
        part.unlink(missing_ok=True)
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        if isinstance(exc, OSError):
            raise os_error(exc, path) from None
        raise


def write_text(path, text: str) -> None:
    with atomic_file(path) as f:
        f.write(text)
