"""The generator interface and registry.

A generator is an ``nn.Module`` built from ``(config, num_classes, channels, image_size)``. It
owns its optimizers, performs one update in ``training_step(x, y, generator)`` (x float in
[0,1], y int labels; returns named float losses) and draws images with
``sample(n, labels, generator=...)`` -> float (n,C,H,W) in [0,1]. Methods that keep an EMA copy
name the module to average in ``ema_source()``; the shared fit loop keeps the average.

Each generator module registers its class here with ``@register(name)``; this module imports none
of them. The package (``genmix.generate``) lists the modules and looks generators up by name
(``load_all``, ``resolve_config``, ``build_generator``).
"""

from __future__ import annotations

import contextlib
import copy
import re

import torch
from torch import nn

from ..errors import GenmixError
from ..validation import NonNegativeInt, PositiveInt, Strict, validate

GENERATORS: dict[str, type] = {}


def has_accelerate() -> bool:
    """Whether ``accelerate`` is installed: diffusers' ``from_pretrained(low_cpu_mem_usage=...)`` needs it
    (passing False without it keeps diffusers from warning on every load of a small local model)."""
    import importlib.util

    return importlib.util.find_spec("accelerate") is not None


def load_pretrained_part(load, path_or_id, what: str, build_hint: str):
    """``load(path_or_id)`` for pretrained weights, with the failure a user can act on: a local folder that
    is not there yet (``models/x`` under an existing folder, an absolute or ./ path) or a hub id that cannot be
    fetched is an :class:`UnavailableInput` (``genmix run`` retries it once the model exists); an existing
    folder that does not load is bad input."""
    from pathlib import Path

    from ..errors import UnavailableInput, one_line

    text = str(path_or_id)
    p = Path(text).expanduser()
    local = p.exists() or p.is_absolute() or text.startswith((".", "~")) or (
        len(p.parts) > 1 and p.parent.is_dir())
    if local and not p.exists():
        raise UnavailableInput(f"{text}: cannot load a pretrained {what}: no such folder yet ({build_hint})")
    try:
        return load(text)
    except Exception as exc:
        if local:
            raise GenmixError(f"{text}: cannot load a pretrained {what} ({one_line(exc)})") from None
        raise UnavailableInput(f"{text}: cannot load a pretrained {what} ({one_line(exc)}). Offline, download "
                               "it first (huggingface-cli download ID) and pass its local folder") from None


class FitSettings(Strict):
    """Settings of the shared fit loop (defaults: genmix.generate.fit.FIT_DEFAULTS and the presets)."""
    steps: PositiveInt | None = None
    batch_size: PositiveInt | None = None
    checkpoint_every: PositiveInt | None = None
    log_every: PositiveInt | None = None
    seed: NonNegativeInt | None = None


FIT_KEYS = frozenset(FitSettings.model_fields)


def register(name: str):
    def deco(cls):
        cls.name = name
        if cls.settings is not None:  # the declared settings are the single source of the defaults
            cls.defaults = cls.settings().model_dump()
        GENERATORS[name] = cls
        return cls
    return deco


def check_settings(cls, config: dict, where: str | None = None, prefix: tuple = ()) -> dict:
    """Check a generator class's settings (its own declared ones plus the fit loop's) against their
    types and ranges; returns ``config`` unchanged. Errors: '<where>: <key>: <cause>, got <value>'."""
    where = where or cls.name
    own = {k: v for k, v in config.items() if k not in FIT_KEYS}
    validate(FitSettings, {k: v for k, v in config.items() if k in FIT_KEYS}, where, prefix=prefix)
    if cls.settings is not None:
        validate(cls.settings, {**cls.defaults, **own}, where, prefix=prefix)
    else:
        unknown = set(own) - set(cls.defaults)
        if unknown:
            raise GenmixError(f"{where}: unknown setting(s) {sorted(unknown)} (known: {sorted(cls.defaults)})")
    return config


class GenerativeModel(nn.Module):
    name = "base"
    presets: dict[str, dict] = {}
    settings = None  # a genmix.validation.GeneratorSettings subclass: names, types, ranges, defaults
    defaults: dict = {}  # derived from ``settings`` by @register
    ema_decay: float | None = None  # None: no EMA
    mixed_precision: bool = False  # whether training_step may run under bf16 autocast (the GPU path)

    def __init__(self, config: dict, num_classes: int, channels: int, image_size: int):
        super().__init__()
        check_settings(type(self), config)
        self.config = {**self.defaults, **config}
        self.num_classes, self.channels, self.image_size = num_classes, channels, image_size
        self.ema: nn.Module | None = None

    # --- to implement -------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def training_step(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | None = None, generator: torch.Generator | None = None,
               **kw) -> torch.Tensor:
        raise NotImplementedError

    def ema_source(self) -> nn.Module | None:
        return None

    def export(self, out_dir, class_names):  # hook: write method-specific artefacts after training
        return None

    def fit_data(self, train_split):  # hook for methods that pre-process the training set once
        return None

    def check_data(self, spec: str) -> None:  # hook: refuse a pretrained part that saw this data's source
        return None

    def snapshot(self) -> torch.Tensor | None:  # hook: fixed-noise samples kept at every checkpoint (fig2.png)
        return None

    # --- EMA ---------------------------------------------------------------------------
    def init_ema(self):
        src = self.ema_source()
        if src is not None and self.ema_decay is not None:
            self.ema = copy.deepcopy(src).requires_grad_(False)
            self.ema.eval()

    @torch.no_grad()
    def update_ema(self, step: int):
        if self.ema is None:
            return
        # warm-up as in the ADM/StyleGAN2 codebases: no averaging over the very first steps
        decay = min(self.ema_decay, (1 + step) / (10 + step))
        for e, p in zip(self.ema.parameters(), self.ema_source().parameters()):
            e.lerp_(p, 1 - decay)
        for e, b in zip(self.ema.buffers(), self.ema_source().buffers()):
            e.copy_(b)

    def sampling_module(self) -> nn.Module:
        return self.ema if self.ema is not None else self.ema_source()


@contextlib.contextmanager
def frozen(module: nn.Module):
    """``module``'s parameters need no gradient inside the block (restored after): a GAN's generator step
    backpropagates through D to G without computing D's weight gradients, which the next D step would discard
    (as StyleGAN2-ADA's training loop does). Exact: G's gradients are the same, bit for bit."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for p, f in zip(module.parameters(), flags):
            p.requires_grad_(f)


def upsampling_plan(size: int, method: str) -> tuple[int, int]:
    """(s0, k): start from an s0 x s0 map (3 <= s0 <= 7) and up-sample k times by 2 to ``size``
    (28 -> 7 x 2**2, 32 -> 4 x 2**3, 64 -> 4 x 2**4); shared by the GANs."""
    for k in range(1, 10):
        s0 = size >> k
        if s0 << k != size:
            break
        if 3 <= s0 <= 7:
            return s0, k
    raise GenmixError(f"{method}: image size {size} unsupported (use 28, 32, 48, 56, 64, 96, 128, ...)")


def safe_name(name: str) -> str:
    """``name`` as a file/folder name (class folders of a synthetic set, learned-embedding files)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "class"
