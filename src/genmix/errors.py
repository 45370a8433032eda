"""The one error type users see: a clear message, exit status 2 from the CLI."""


class GenmixError(Exception):
    """Bad input or an impossible request. The message names the file and the cause."""


def fail(path, cause):
    """Raise a GenmixError of the form '<path>: <cause>'."""
    raise GenmixError(f"{path}: {cause}")
