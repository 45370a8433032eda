"""Generators (GenMix stage 1): one registry, one module per method, one shared fit loop.

``dcgan``, ``stylegan2``, ``textual-inversion``, ``ddpm`` — see ``base.GenerativeModel`` for the
interface, ``fit.train_generator`` / ``fit.load_generator`` and ``synthesize.synthesize``.

This package is the registry's catalogue: ``load_all`` imports every generator module (each one
registers its class into ``base.GENERATORS`` with ``@base.register``), and the look-ups by name
(``generator_class``, ``validate_settings``, ``resolve_config``, ``build_generator``) load them first.
``base`` imports no generator module, so the modules depend on it and never the other way round.
"""

from __future__ import annotations

import torch

from ..errors import GenmixError
from .base import FIT_KEYS, GENERATORS, GenerativeModel, check_settings

__all__ = ["GENERATORS", "load_all", "generator_class", "validate_settings", "resolve_config", "build_generator"]


def load_all():
    """Import every generator module (registers them; an import error here is a real bug: let it show)."""
    from . import dcgan, ddpm, stylegan2, textual_inversion  # noqa: F401


def generator_class(name: str) -> type[GenerativeModel]:
    """The registered class of generator ``name`` (GenmixError naming the known ones otherwise)."""
    load_all()
    if name not in GENERATORS:
        raise GenmixError(f"unknown generator '{name}' (known: {', '.join(sorted(GENERATORS))})")
    return GENERATORS[name]


def validate_settings(name: str, config: dict, where: str | None = None, prefix: tuple = ()) -> dict:
    """Check a generator's settings (its own declared ones plus the fit loop's) against their
    types and ranges; returns ``config`` unchanged. Errors: '<where>: <key>: <cause>, got <value>'."""
    return check_settings(generator_class(name), config, where or name, prefix)


def resolve_config(name: str, preset: str | None, overrides: dict, where: str | None = None,
                   prefix: tuple = ()) -> dict:
    """Preset values, then ``overrides`` (None values ignored), checked by ``validate_settings``."""
    cls = generator_class(name)
    cfg = {}
    if preset:
        if preset not in cls.presets:
            raise GenmixError(f"{name}: unknown preset '{preset}' (known: {', '.join(cls.presets)})")
        cfg.update(cls.presets[preset])
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    return validate_settings(name, cfg, where, prefix)


def build_generator(name: str, config: dict, num_classes: int, channels: int, image_size: int) -> GenerativeModel:
    cls = generator_class(name)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(config.get("seed", 0)))  # initial weights depend on the seed alone
        model = cls({k: v for k, v in config.items() if k not in FIT_KEYS}, num_classes, channels, image_size)
    model.init_ema()
    return model
