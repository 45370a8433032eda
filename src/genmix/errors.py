"""The one error type users see: a clear message, exit status 2 from the CLI."""


class GenmixError(Exception):
    """Bad input or an impossible request. The message names the file and the cause."""


class UnavailableInput(GenmixError):
    """An input that is missing now but may be provided later: pretrained weights not downloaded or
    not built yet. ``genmix run`` reports the units that need it as not run and retries them on its
    next run, instead of caching the failure as it does for bad input (e.g. a diverged training)."""


def fail(path, cause):
    """Raise a GenmixError of the form '<path>: <cause>'."""
    raise GenmixError(f"{path}: {cause}")


def one_line(exc: BaseException, limit: int = 200) -> str:
    """A library exception as one short line: '<Type>: <first line of its message>'."""
    lines = [l.strip() for l in str(exc).splitlines() if l.strip()]
    text = lines[0] if lines else ""
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
