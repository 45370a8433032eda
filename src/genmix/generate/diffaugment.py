"""Differentiable augmentation of the images a GAN discriminator sees, shared by the GANs.

- :func:`diff_augment`: DiffAugment (Zhao et al. 2020) — every op applied to every image (colour:
  brightness, saturation, contrast; translation by up to 1/8 of the side; cutout of half the side).
- :func:`ada_augment` + :class:`AdaptiveAugment`: ADA (Karras et al. 2020, "Training Generative
  Adversarial Networks with Limited Data") — each op applied to each image with probability p, and
  p driven by the overfitting heuristic r_t = E[sign(D(x_real))]: every ``interval`` D steps, p moves
  by sign(r_t - target) * (images seen since the last update) / (``kimg`` * 1000), so p can go from 0
  to 1 in ``kimg`` thousand images; clamped to [0, 1].

Ops (images in [-1, 1], all differentiable w.r.t. the images): ``color``, ``translation``, ``cutout``
(DiffAugment's), and ``flip`` (horizontal) and ``rot90`` (a random multiple of 90°; square images),
two of ADA's geometric ops. Randomness comes from the passed-in ``torch.Generator`` only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

OPS = ("flip", "rot90", "color", "translation", "cutout")  # the order they are applied in
DIFFAUGMENT_DEFAULT = "color,translation,cutout"


def parse_policy(v: str) -> tuple[str, ...]:
    """'color,translation' -> ('color', 'translation'); ValueError on an unknown op ("" -> ())."""
    ops = tuple(p for p in v.split(",") if p)
    bad = [p for p in ops if p not in OPS]
    if bad:
        raise ValueError(f"unknown augmentation op(s) {bad} (known: {', '.join(OPS)})")
    return ops


def _rand(x, generator):
    return lambda *shape: torch.rand(*shape, device=x.device, generator=generator)


def _flip(x, rnd):
    return x.flip(3)


def _rot90(x, rnd):
    b = x.shape[0]
    k = (rnd(b) * 3).long() + 1  # 90, 180 or 270 degrees
    rots = torch.stack([torch.rot90(x, i, (2, 3)) for i in (1, 2, 3)])  # (3, B, C, H, W)
    return rots[k - 1, torch.arange(b, device=x.device)]


def _brightness(x, rnd):
    return x + (rnd(x.shape[0], 1, 1, 1) - 0.5)


def _saturation(x, rnd):
    m = x.mean(1, keepdim=True)
    return (x - m) * (rnd(x.shape[0], 1, 1, 1) * 2) + m


def _contrast(x, rnd):
    m = x.mean([1, 2, 3], keepdim=True)
    return (x - m) * (rnd(x.shape[0], 1, 1, 1) + 0.5) + m


def _translation(x, rnd):
    b, c, h, w = x.shape
    dev = x.device
    p = max(1, int(h * 0.125 + 0.5))
    sy = (rnd(b) * (2 * p + 1)).long() - p
    sx = (rnd(b) * (2 * p + 1)).long() - p
    xp = F.pad(x, [p, p, p, p])
    rows = torch.arange(h, device=dev).view(1, h) + p - sy.view(b, 1)
    cols = torch.arange(w, device=dev).view(1, w) + p - sx.view(b, 1)
    return xp[torch.arange(b, device=dev).view(b, 1, 1), :, rows.view(b, h, 1), cols.view(b, 1, w)].permute(0, 3, 1, 2)


def _cutout(x, rnd):
    b, c, h, w = x.shape
    dev = x.device
    ch_, cw_ = int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)
    cy = (rnd(b) * (h + 1 - ch_ % 2)).long().view(b, 1, 1)
    cx = (rnd(b) * (w + 1 - cw_ % 2)).long().view(b, 1, 1)
    gy = torch.arange(h, device=dev).view(1, h, 1)
    gx = torch.arange(w, device=dev).view(1, 1, w)
    keep = ((gy - cy).abs() >= ch_ // 2 + ch_ % 2) | ((gx - cx).abs() >= cw_ // 2 + cw_ % 2)
    return x * keep.unsqueeze(1).to(x.dtype)


_FUNCS = {"flip": (_flip,), "rot90": (_rot90,), "color": (_brightness, _saturation, _contrast),
          "translation": (_translation,), "cutout": (_cutout,)}


def diff_augment(x, generator, policy=("color", "translation", "cutout")):
    """DiffAugment (Zhao et al. 2020) on images in [-1, 1]: every op of ``policy`` on every image."""
    rnd = _rand(x, generator)
    for op in OPS:
        if op in policy:
            for f in _FUNCS[op]:
                x = f(x, rnd)
    return x


def ada_augment(x, generator, p: float, policy=("color", "translation", "cutout")):
    """ADA's stochastic augmentation: each elementary op of ``policy`` (brightness, saturation and
    contrast separately for ``color``) applied to each image independently with probability ``p``."""
    if p <= 0 or not policy:
        return x
    rnd = _rand(x, generator)
    b = x.shape[0]
    for op in OPS:
        if op in policy:
            for f in _FUNCS[op]:
                on = (rnd(b) < p).view(b, 1, 1, 1)
                x = torch.where(on, f(x, rnd), x)
    return x


class AdaptiveAugment(nn.Module):
    """ADA's controller. Its state (p, the running sum of sign(D(real)) and its count, the last r_t) is
    kept in buffers, so it is saved in a checkpoint and restored on resume."""

    def __init__(self, policy, target: float = 0.6, interval: int = 4, kimg: float = 500.0):
        super().__init__()
        self.policy, self.target, self.interval, self.kimg = tuple(policy), target, interval, kimg
        self.register_buffer("p", torch.zeros(()))
        self.register_buffer("sign_sum", torch.zeros(()))
        self.register_buffer("sign_n", torch.zeros((), dtype=torch.long))
        self.register_buffer("batches", torch.zeros((), dtype=torch.long))
        self.register_buffer("rt", torch.zeros(()))

    def forward(self, x, generator):
        return ada_augment(x, generator, float(self.p), self.policy)

    @torch.no_grad()
    def observe(self, real_logits: torch.Tensor):
        """Accumulate D's outputs on the (augmented) real images of one D step; every ``interval`` of them,
        move p toward the target r_t."""
        self.sign_sum += real_logits.detach().sign().sum().to(self.sign_sum)
        self.sign_n += real_logits.numel()
        self.batches += 1
        if int(self.batches) % self.interval == 0:
            rt = self.sign_sum / self.sign_n.clamp(min=1)
            step = float(self.sign_n) / (self.kimg * 1000)  # images seen since the last adjustment
            self.p.copy_((self.p + torch.sign(rt - self.target) * step).clamp(0, 1))
            self.rt.copy_(rt)
            self.sign_sum.zero_()
            self.sign_n.zero_()
