"""What the commands share: argparse types with one-line messages, the data options, loading."""

from __future__ import annotations

import argparse


def number(kind, lo=None, lo_open=False, hi=None, hi_open=False, what=None):
    """An argparse type: an int/float in a range; the message names the bound."""
    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what or ('an integer' if kind is int else 'a number')}, "
                                             f"got '{text}'") from None
        if kind is float and v != v or v in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"must be a finite number, got '{text}'")
        bad = (lo is not None and (v <= lo if lo_open else v < lo)) or (hi is not None and (v >= hi if hi_open else v > hi))
        if bad:
            rng = (f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}" if lo is not None and hi is not None
                   else f"{'>' if lo_open else '>='} {lo}" if lo is not None else f"{'<' if hi_open else '<='} {hi}")
            raise argparse.ArgumentTypeError(f"must be {rng}, got {text}")
        return v
    return parse


def int_list(lo=0, unique=False):
    def parse(text):
        try:
            vals = [int(v) for v in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be comma-separated integers, e.g. 0,1,2, got '{text}'") from None
        if any(v < lo for v in vals):
            raise argparse.ArgumentTypeError(f"must be integers >= {lo}, got '{text}'")
        if unique and len(set(vals)) != len(vals):
            raise argparse.ArgumentTypeError(f"lists a value more than once: '{text}'")
        return vals
    return parse


POS_INT = number(int, 1)
NONNEG_INT = number(int, 0)
POS_FLOAT = number(float, 0, lo_open=True)
NONNEG_FLOAT = number(float, 0)
RATIO = number(float, 0, hi=1, hi_open=True)
FLOAT = number(float)


def data_args(p, spec_required=True):
    if spec_required:
        p.add_argument("--data", required=True, help="dataset spec, e.g. medmnist:breastmnist, simulated:fll")
    p.add_argument("--data-root", default=None, help="folder of MedMNIST files (default: $GENMIX_DATA_ROOT)")
    p.add_argument("--image-size", type=POS_INT, default=None, help="resize every image to N x N (explicit)")
    p.add_argument("--channels", type=POS_INT, default=None, help="convert images to N channels (explicit)")
    p.add_argument("--download", action="store_true", help="download missing MedMNIST files (online)")


def corpus_args(p):
    p.add_argument("--data", help="comma-separated corpus specs (default: the public MedMNIST corpus)")
    p.add_argument("--exclude-target", action="append", metavar="SPEC",
                   help="drop every corpus dataset sharing a source with SPEC (repeatable)")


def load(args, spec=None):
    from ..data import load_dataset

    return load_dataset(spec or args.data, args.data_root, args.image_size, args.channels,
                        download=args.download or None)


def specs(value):
    from ..corpus import PUBLIC_CORPUS

    return [v.strip() for v in value.split(",") if v.strip()] if value else list(PUBLIC_CORPUS)


def resumable(out, finished_file, fn):
    """Run ``fn(folder)`` so that OUT appears only when complete (OUT.partial meanwhile; an
    interrupted run resumes from it). A finished OUT is passed as is (reused, or refused if its
    config differs); an unfinished run of an older genmix inside OUT resumes in place."""
    from ..errors import GenmixError
    from ..io import atomic_dir, check_output_dir

    out = check_output_dir(out)
    if out.is_dir() and any(out.iterdir()):
        if (out / finished_file).is_file() or (out / "checkpoint.safetensors").is_file():
            return fn(out)
        raise GenmixError(f"{out}: exists and holds something else; choose a new --out")
    with atomic_dir(out) as part:
        return fn(part)


def parse_set(items, overrides: dict) -> dict:
    """``--set KEY=VALUE`` (repeatable; VALUE read as YAML) into ``overrides`` (dashes in KEY become _)."""
    from ..errors import GenmixError

    for kv in items or []:
        if "=" not in kv:
            raise GenmixError(f"--set expects KEY=VALUE, got '{kv}'")
        import yaml

        k, v = kv.split("=", 1)
        overrides[k.replace("-", "_")] = yaml.safe_load(v)
    return overrides
