"""The ``genmix`` command line. Heavy imports happen inside the command that needs them.

One module per command family (data, train, experiment, pretrain), each with its ``cmd_*`` functions and
an ``add_commands(sub)`` that declares their options; ``args`` holds what they share."""

from __future__ import annotations

import argparse
import sys

from . import data, experiment, pretrain, train


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: 'genmix: error: <message>' on stderr, exit status 2."""

    def error(self, message):
        print(f"genmix: error: {' '.join(message.split())}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    p = Parser(prog="genmix", description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"genmix {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for family in (data, train, experiment, pretrain):
        family.add_commands(sub)
    return p


def main(argv=None) -> int:
    """Exit status: 0 done; 2 bad input or an OS error (one line on stderr: file and cause; nothing
    half-written); 130 interrupted (rerun to resume); 1 an internal error (with its traceback)."""
    from ..errors import GenmixError
    from ..io import os_error

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line usage error
        return exc.code if isinstance(exc.code, int) else 2
    try:
        args.func(args)
    except (GenmixError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is None:
            raise
        msg = str(exc if isinstance(exc, GenmixError) else os_error(exc))
        print(f"genmix: error: {' '.join(msg.split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genmix: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception:  # a bug in genmix, not bad input: keep the traceback for the report
        import traceback

        traceback.print_exc()
        print("genmix: internal error (a bug; please report it with the traceback above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
