"""StyleGAN2 (Karras et al. 2020) for small data, in plain PyTorch (no compiled CUDA ops).

Generator: mapping network (z ⊕ label embedding -> w, equalised learning rate, lr multiplier
0.01), synthesis network from a learned constant with modulated / demodulated convolutions,
per-layer noise inputs and skip ``toRGB`` outputs; style-mixing regularisation; truncation ψ
toward a per-class running mean of w. Discriminator: residual, minibatch standard deviation,
projection of a label embedding (class-conditional, as StyleGAN2-ADA). Non-saturating logistic
loss with lazy R1 penalty, EMA of G.

Small-data augmentation (``augment``, ops in ``diffaugment``; see :mod:`genmix.generate.diffaugment`),
applied differentiably to every image the discriminator sees, real and fake: DiffAugment (Zhao et al.
2020: colour, translation, cutout on every image; the default: no feedback loop to tune, stable with a
few hundred images), or ADA (Karras et al. 2020: each op with probability p, p raised while
r_t = E[sign(D(real))] is above ``ada_target`` and lowered below it, by up to 1 per ``ada_kimg``
thousand images; p and r_t are in the training log and p in the checkpoint), or none. Randomness
comes from the passed-in generator. Path-length regularisation is left out (it
serves latent-space smoothness, not sample quality at these sizes). Up-sampling is bilinear
rather than the paper's FIR filter.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from pydantic import Field, field_validator
from torch import nn

from ..optim import adam
from ..validation import (
    FiniteFloat,
    Fraction,
    GeneratorSettings,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    Probability,
)
from .base import GenerativeModel, frozen, register, upsampling_plan
from .diffaugment import AdaptiveAugment, diff_augment, parse_policy  # noqa: F401  (diff_augment: re-exported)

SQRT2 = math.sqrt(2.0)


def _plan(size: int) -> tuple[int, int]:
    return upsampling_plan(size, "stylegan2")


class EqualLinear(nn.Module):
    def __init__(self, i, o, bias_init=0.0, lr_mul=1.0, act=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(o, i) / lr_mul)
        self.bias = nn.Parameter(torch.full((o,), float(bias_init)))
        self.scale, self.lr_mul, self.act = lr_mul / math.sqrt(i), lr_mul, act

    def forward(self, x):
        out = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return F.leaky_relu(out, 0.2) * SQRT2 if self.act else out


class EqualConv(nn.Module):
    def __init__(self, i, o, k, bias=True, act=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(o, i, k, k))
        self.bias = nn.Parameter(torch.zeros(o)) if bias else None
        self.scale, self.pad, self.act = 1 / math.sqrt(i * k * k), k // 2, act

    def forward(self, x):
        out = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.pad)
        return F.leaky_relu(out, 0.2) * SQRT2 if self.act else out


class ModConv(nn.Module):
    """Modulated convolution: per-sample weights scaled by the style, then demodulated."""

    def __init__(self, cin, cout, k, w_dim, demodulate=True, up=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, cout, cin, k, k))
        self.affine = EqualLinear(w_dim, cin, bias_init=1.0)
        self.scale, self.k, self.demod, self.up, self.cout = 1 / math.sqrt(cin * k * k), k, demodulate, up, cout

    def forward(self, x, w):
        # StyleGAN2-ADA's non-fused path: modulate the input, convolve with the shared weight,
        # demodulate the output — equal to per-sample weights, and fast on CPUs
        b, c = x.shape[:2]
        s = self.affine(w)
        wgt = self.weight[0] * self.scale
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        out = F.conv2d(x * s.view(b, c, 1, 1), wgt, padding=self.k // 2)
        if self.demod:
            d = torch.rsqrt((wgt.pow(2).sum([2, 3]).unsqueeze(0) * s.pow(2).unsqueeze(1)).sum(2) + 1e-8)
            out = out * d.view(b, self.cout, 1, 1)
        return out


class SynthLayer(nn.Module):
    def __init__(self, cin, cout, w_dim, up=False):
        super().__init__()
        self.conv = ModConv(cin, cout, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x, w, noise_mode="random", generator=None):
        x = self.conv(x, w)
        if noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, generator=generator)
            x = x + noise * self.noise_strength
        return F.leaky_relu(x + self.bias.view(1, -1, 1, 1), 0.2) * SQRT2


class ToRGB(nn.Module):
    def __init__(self, cin, channels, w_dim):
        super().__init__()
        self.conv = ModConv(cin, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x, w):
        return self.conv(x, w) + self.bias.view(1, -1, 1, 1)


class Generator(nn.Module):
    def __init__(self, c, channels, size, num_classes):
        super().__init__()
        s0, k = _plan(size)
        self.z_dim, self.w_dim, self.k = c["z_dim"], c["w_dim"], k
        ch = [max(c["channel_min"], c["channel_max"] >> max(0, i - 1)) for i in range(k + 1)]
        self.embed = nn.Embedding(num_classes, c["z_dim"]) if num_classes > 1 else None
        layers = [EqualLinear(c["z_dim"] * (2 if self.embed is not None else 1), c["w_dim"], lr_mul=0.01, act=True)]
        layers += [EqualLinear(c["w_dim"], c["w_dim"], lr_mul=0.01, act=True) for _ in range(c["mapping_layers"] - 1)]
        self.mapping = nn.Sequential(*layers)
        self.const = nn.Parameter(torch.randn(1, ch[0], s0, s0))
        self.first = SynthLayer(ch[0], ch[0], c["w_dim"])
        self.rgb0 = ToRGB(ch[0], channels, c["w_dim"])
        self.ups = nn.ModuleList(SynthLayer(ch[i], ch[i + 1], c["w_dim"], up=True) for i in range(k))
        self.convs = nn.ModuleList(SynthLayer(ch[i + 1], ch[i + 1], c["w_dim"]) for i in range(k))
        self.rgbs = nn.ModuleList(ToRGB(ch[i + 1], channels, c["w_dim"]) for i in range(k))
        self.num_ws = 2 + 2 * k
        self.register_buffer("w_avg", torch.zeros(max(num_classes, 1), c["w_dim"]))

    def map(self, z, y):
        z = z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + 1e-8)
        if self.embed is not None:
            e = self.embed(y)
            z = torch.cat([z, e * torch.rsqrt(e.pow(2).mean(1, keepdim=True) + 1e-8)], 1)
        return self.mapping(z)

    def synthesize(self, ws, noise_mode="random", generator=None):
        """ws: (B, num_ws, w_dim)."""
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        x = self.first(x, ws[:, 0], noise_mode, generator)
        img = self.rgb0(x, ws[:, 1])
        for i in range(self.k):
            x = self.ups[i](x, ws[:, 2 + 2 * i], noise_mode, generator)
            x = self.convs[i](x, ws[:, 3 + 2 * i], noise_mode, generator)
            img = F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False) + self.rgbs[i](x, ws[:, 3 + 2 * i])
        return img

    def forward(self, z, y, truncation=1.0, z2=None, cutoff=None, noise_mode="random", generator=None):
        w = self.map(z, y)
        if truncation != 1.0:
            avg = self.w_avg[y if self.embed is not None else torch.zeros_like(y)]
            w = avg + truncation * (w - avg)
        ws = w.unsqueeze(1).repeat(1, self.num_ws, 1)
        if z2 is not None:  # style mixing: layers from ``cutoff`` on take the second latent's style
            w2 = self.map(z2, y)
            if truncation != 1.0:
                w2 = avg + truncation * (w2 - avg)
            ws[:, cutoff:] = w2.unsqueeze(1)
        return self.synthesize(ws, noise_mode, generator), w


class DBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.c1, self.c2 = EqualConv(cin, cin, 3), EqualConv(cin, cout, 3)
        self.skip = EqualConv(cin, cout, 1, bias=False, act=False)

    def forward(self, x):
        y = F.avg_pool2d(self.c2(self.c1(x)), 2)
        return (y + self.skip(F.avg_pool2d(x, 2))) / SQRT2


class Discriminator(nn.Module):
    def __init__(self, c, channels, size, num_classes):
        super().__init__()
        s0, k = _plan(size)
        ch = [max(c["channel_min"], c["channel_max"] >> max(0, i - 1)) for i in range(k + 1)]
        self.from_rgb = EqualConv(channels, ch[k], 1)
        self.blocks = nn.ModuleList(DBlock(ch[i + 1], ch[i]) for i in reversed(range(k)))
        self.mbstd_group = c["mbstd_group"]
        self.conv = EqualConv(ch[0] + 1, ch[0], 3)
        self.fc = EqualLinear(ch[0] * s0 * s0, ch[0], act=True)
        self.out = EqualLinear(ch[0], c["cmap_dim"])
        self.cmap = nn.Embedding(max(num_classes, 1), c["cmap_dim"])
        self.cmap_dim = c["cmap_dim"]

    def forward(self, x, y):
        h = self.from_rgb(x)
        for b in self.blocks:
            h = b(h)
        n, c, hh, ww = h.shape
        g = min(self.mbstd_group, n)
        while n % g:
            g -= 1
        s = h.view(g, -1, c, hh, ww)
        s = (s - s.mean(0)).pow(2).mean(0).add(1e-8).sqrt().mean([1, 2, 3])  # (n/g,)
        s = s.view(-1, 1, 1, 1).repeat(g, 1, hh, ww)
        h = self.conv(torch.cat([h, s], 1))
        h = self.out(self.fc(h.flatten(1)))
        yy = y if self.cmap.num_embeddings > 1 else torch.zeros_like(y)
        return (h * self.cmap(yy)).sum(1) / math.sqrt(self.cmap_dim)


class StyleGAN2Settings(GeneratorSettings):
    z_dim: PositiveInt = 128
    w_dim: PositiveInt = 128
    mapping_layers: PositiveInt = 4
    channel_max: PositiveInt = 128
    channel_min: PositiveInt = 32
    cmap_dim: PositiveInt = 128
    mbstd_group: PositiveInt = 4
    lr: PositiveFloat = 2e-3
    betas: Annotated[list[Fraction], Field(min_length=2, max_length=2)] = [0.0, 0.99]
    r1_gamma: NonNegativeFloat = 0.1
    r1_every: PositiveInt = 4
    style_mixing: Probability = 0.9
    # what D's inputs (real and fake) go through: DiffAugment (every op on every image), ADA (each op with
    # an adaptive probability p), or nothing
    augment: Literal["diffaugment", "ada", "none"] = "diffaugment"
    # comma-separated ops of either augmentation (color, translation, cutout, flip, rot90), or "" (none)
    diffaugment: str = "color,translation,cutout"
    ada_target: Probability = 0.6  # ADA: target of r_t = E[sign(D(real))]
    ada_interval: PositiveInt = 4  # ADA: adjust p every this many D steps, on their r_t
    ada_kimg: PositiveFloat = 500.0  # ADA: p can go 0 -> 1 in this many thousand real images
    ema_decay: Fraction = 0.999
    truncation: FiniteFloat = 1.0

    @field_validator("diffaugment")
    @classmethod
    def _policy(cls, v):
        parse_policy(v)
        return v


@register("stylegan2")
class StyleGAN2(GenerativeModel):
    settings = StyleGAN2Settings
    presets = {
        # the GenMix paper: 70k iterations, batch 8, lr 1e-3; StyleGAN2 widths and an 8-layer mapping net
        "paper": dict(steps=70_000, batch_size=8, lr=1e-3, z_dim=512, w_dim=512, mapping_layers=8, channel_max=512,
                      channel_min=64, cmap_dim=512, r1_gamma=1.0, checkpoint_every=5000, log_every=100),
        # CPU-sized, with ADA (p may reach 1 within 10k real images, ~310 steps). Against the validation split
        # (benchmarks/results/dcgan_small_data.json): on BloodMNIST-small it beat DiffAugment on FD, recall and
        # coverage; on BreastMNIST recall was higher and FD worse. p ended at 0 in both (r_t below the 0.6 target
        # at the end): no augmentation by the last steps; how high p went on the way was not recorded
        "quick": dict(steps=1500, batch_size=32, lr=2e-3, z_dim=64, w_dim=64, mapping_layers=2, channel_max=64,
                      channel_min=32, cmap_dim=64, ema_decay=0.995, checkpoint_every=250, log_every=25,
                      augment="ada", ada_kimg=10.0),
        # the same without ADA (fixed DiffAugment), the quick preset before issue 30
        "quick-diffaugment": dict(steps=1500, batch_size=32, lr=2e-3, z_dim=64, w_dim=64, mapping_layers=2,
                                  channel_max=64, channel_min=32, cmap_dim=64, ema_decay=0.995, checkpoint_every=250,
                                  log_every=25, augment="diffaugment"),
    }

    def __init__(self, config, num_classes, channels, image_size):
        super().__init__(config, num_classes, channels, image_size)
        c = self.config
        self.ema_decay = c["ema_decay"]
        self.G = Generator(c, channels, image_size, num_classes)
        self.D = Discriminator(c, channels, image_size, num_classes)
        self.policy = parse_policy(c["diffaugment"]) if c["augment"] != "none" else ()
        if c["augment"] == "ada":  # its p is a buffer: saved in checkpoints, restored on resume
            self.ada = AdaptiveAugment(self.policy, c["ada_target"], c["ada_interval"], c["ada_kimg"])
        else:
            self.ada = None
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))

    def ema_source(self):
        return self.G

    def configure_optimizers(self):
        c = self.config
        # lazy R1: Adam hyper-parameters of D rescaled as in StyleGAN2
        r = c["r1_every"] / (c["r1_every"] + 1)
        self.opt_g = adam(self.G.parameters(), lr=c["lr"], betas=tuple(c["betas"]))
        self.opt_d = adam(self.D.parameters(), lr=c["lr"] * r, betas=tuple(b ** r for b in c["betas"]))
        return {"g": self.opt_g, "d": self.opt_d}

    def _aug(self, x, generator):
        if self.ada is not None:
            return self.ada(x, generator)
        return diff_augment(x, generator, self.policy) if self.policy else x

    def _fake(self, y, generator, mixing=True):
        b, dev = len(y), y.device
        z = torch.randn(b, self.G.z_dim, device=dev, generator=generator)
        z2, cut = None, None
        if mixing and float(torch.rand((), device=dev, generator=generator)) < self.config["style_mixing"]:
            z2 = torch.randn(b, self.G.z_dim, device=dev, generator=generator)
            cut = int(torch.randint(1, self.G.num_ws, (), device=dev, generator=generator))
        return self.G(z, y, z2=z2, cutoff=cut, generator=generator)

    def training_step(self, x, y, generator):
        c = self.config
        real = x * 2 - 1
        y = y if self.num_classes > 1 else torch.zeros_like(y)
        # D step
        with torch.no_grad():
            fake, w = self._fake(y, generator)
        d_fake = self.D(self._aug(fake, generator), y)  # fake first: the RNG order of earlier versions
        d_real = self.D(self._aug(real, generator), y)
        loss_d = F.softplus(d_fake).mean() + F.softplus(-d_real).mean()
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        r1 = torch.zeros(())
        if int(self.steps_done) % c["r1_every"] == 0 and c["r1_gamma"] > 0:
            xr = real.detach().requires_grad_(True)
            out = self.D(self._aug(xr, generator), y)
            (g,) = torch.autograd.grad(out.sum(), xr, create_graph=True)
            r1 = g.pow(2).sum([1, 2, 3]).mean()
            (r1 * (c["r1_gamma"] / 2) * c["r1_every"]).backward()
        self.opt_d.step()
        # G step
        fake, w = self._fake(y, generator)
        with frozen(self.D):  # D's weight gradients would be discarded by the next D step
            loss_g = F.softplus(-self.D(self._aug(fake, generator), y)).mean()
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
        self.opt_g.step()
        with torch.no_grad():  # per-class running mean of w, for truncation
            for cls in y.unique():
                self.G.w_avg[cls].lerp_(w[y == cls].mean(0).detach(), 0.005)
        self.steps_done += 1
        out = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "r1": r1.detach()}
        if self.ada is not None:  # p and r_t go to the training log; p moves after the step that used it
            self.ada.observe(d_real)
            out.update(ada_p=self.ada.p.clone(), ada_rt=self.ada.rt.clone())
        return out

    @torch.no_grad()
    def sample(self, n, labels=None, generator=None, truncation=None, batch_size: int = 128, noise_mode="random",
               **kw):
        G = self.sampling_module()
        dev = next(G.parameters()).device
        psi = self.config["truncation"] if truncation is None else truncation
        labels = torch.zeros(n, dtype=torch.long) if labels is None else torch.as_tensor(labels).long()
        if self.num_classes == 1:
            labels = torch.zeros_like(labels)
        out = torch.empty(n, self.channels, self.image_size, self.image_size)
        for i in range(0, n, batch_size):
            yb = labels[i:i + batch_size].to(dev)
            z = torch.randn(len(yb), G.z_dim, device=dev, generator=generator)
            img, _ = G(z, yb, truncation=psi, noise_mode=noise_mode, generator=generator)
            out[i:i + len(yb)] = ((img + 1) / 2).clamp(0, 1).cpu()
        return out
