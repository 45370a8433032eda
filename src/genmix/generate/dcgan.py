"""Class-conditional DCGAN (Radford et al. 2016), scaled to the image size.

G: (z, label embedding) -> linear to a s0 x s0 map (s0 = 7 for 28 px, 4 for 32/64 px), then
stride-2 transposed convolutions with BatchNorm + ReLU, tanh output. D: stride-2 convolutions
with LeakyReLU (BatchNorm after the first), then a projection-discriminator label term
(Miyato & Koyama 2018). Non-saturating BCE loss, Adam(β1=0.5).

``per_class: true`` trains one unconditional G/D pair per class instead (the label picks the
pair), the alternative the GenMix paper's setting allows.

Small-data options, each a setting (defaults = the plain recipe above, so a config or checkpoint
written before they existed means the same model): ``diffaugment`` (DiffAugment ops on every image D
sees, real and fake; :mod:`genmix.generate.diffaugment`), ``spectral_norm`` (Miyato et al. 2018 on
every layer of D, which then has no BatchNorm), ``ema_decay`` (> 0: an exponential moving average of G,
saved in the checkpoint and used for sampling), ``loss: hinge`` (D: relu(1 - D(x)) + relu(1 + D(G(z))),
G: -D(G(z))) and ``lr_d`` (a separate discriminator learning rate, TTUR; Heusel et al. 2017).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import field_validator
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..optim import adam
from ..validation import Fraction, GeneratorSettings, PositiveFloat, PositiveInt
from .base import GenerativeModel, frozen, register, upsampling_plan
from .diffaugment import diff_augment, parse_policy


def _plan(size: int) -> tuple[int, int]:
    return upsampling_plan(size, "dcgan")


class _G(nn.Module):
    def __init__(self, nz, ngf, channels, size, num_classes, emb):
        super().__init__()
        s0, k = _plan(size)
        self.s0, self.c0 = s0, ngf * 2 ** (k - 1)
        self.embed = nn.Embedding(num_classes, emb) if num_classes > 1 else None
        self.fc = nn.Sequential(nn.Linear(nz + (emb if self.embed else 0), self.c0 * s0 * s0, bias=False),
                                nn.BatchNorm1d(self.c0 * s0 * s0), nn.ReLU(True))
        layers, c = [], self.c0
        for _ in range(k - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z, y):
        h = torch.cat([z, self.embed(y)], 1) if self.embed is not None else z
        return self.net(self.fc(h).view(-1, self.c0, self.s0, self.s0))


class _D(nn.Module):
    def __init__(self, ndf, channels, size, num_classes, batchnorm=True):
        super().__init__()
        s0, k = _plan(size)
        layers, c = [], channels
        for i in range(k):
            o = ndf * 2 ** i
            layers += [nn.Conv2d(c, o, 4, 2, 1, bias=i == 0 or not batchnorm)]
            if i > 0 and batchnorm:
                layers += [nn.BatchNorm2d(o)]
            layers += [nn.LeakyReLU(0.2, True)]
            c = o
        self.net = nn.Sequential(*layers, nn.Flatten())
        feat = c * s0 * s0
        self.out = nn.Linear(feat, 1)
        self.proj = nn.Embedding(num_classes, feat) if num_classes > 1 else None
        if self.proj is not None:
            nn.init.normal_(self.proj.weight, 0, 0.02)

    def forward(self, x, y):
        h = self.net(x)
        o = self.out(h).squeeze(1)
        if self.proj is not None:
            o = o + (self.proj(y) * h).sum(1)
        return o


def _init(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class DCGANSettings(GeneratorSettings):
    nz: PositiveInt = 100  # latent size
    ngf: PositiveInt = 64  # generator width
    ndf: PositiveInt = 64  # discriminator width
    embed_dim: PositiveInt = 50  # label embedding (conditional model)
    lr: PositiveFloat = 2e-4
    beta1: Fraction = 0.5  # Adam beta1
    per_class: bool = False  # one unconditional GAN per class instead of one conditional GAN
    # small-data options (defaults: the plain 2016 recipe)
    diffaugment: str = ""  # comma-separated DiffAugment ops on D's inputs (color, translation, cutout, ...), "" = off
    spectral_norm: bool = False  # spectral normalisation on every D layer (and no BatchNorm in D)
    ema_decay: Fraction = 0.0  # > 0: sample from an exponential moving average of G with this decay
    loss: Literal["bce", "hinge"] = "bce"  # non-saturating BCE or hinge
    lr_d: PositiveFloat | None = None  # discriminator learning rate (TTUR); None: lr

    @field_validator("diffaugment")
    @classmethod
    def _policy(cls, v):
        parse_policy(v)
        return v


@register("dcgan")
class DCGAN(GenerativeModel):
    mixed_precision = True  # bf16 autocast on the GPU path (genmix.precision)
    settings = DCGANSettings
    presets = {
        # the GenMix paper: 70k iterations, batch 8, lr 1e-3
        "paper": dict(steps=70_000, batch_size=8, lr=1e-3, checkpoint_every=5000, log_every=100),
        # CPU-sized: a couple of minutes at 28-32 px
        "quick": dict(steps=1500, batch_size=64, lr=2e-4, ngf=32, ndf=32, checkpoint_every=250, log_every=25),
        # the quick size with the small-data options on
        "quick-small-data": dict(steps=1500, batch_size=64, lr=2e-4, ngf=32, ndf=32, checkpoint_every=250,
                                 log_every=25, diffaugment="color,translation,cutout", spectral_norm=True,
                                 ema_decay=0.999, loss="hinge", lr_d=4e-4),
    }

    def __init__(self, config, num_classes, channels, image_size):
        super().__init__(config, num_classes, channels, image_size)
        c = self.config
        if c["per_class"]:
            self.G = nn.ModuleList(_G(c["nz"], c["ngf"], channels, image_size, 1, 0) for _ in range(num_classes))
            self.D = nn.ModuleList(_D(c["ndf"], channels, image_size, 1, not c["spectral_norm"])
                                   for _ in range(num_classes))
        else:
            self.G = nn.ModuleList([_G(c["nz"], c["ngf"], channels, image_size, num_classes, c["embed_dim"])])
            self.D = nn.ModuleList([_D(c["ndf"], channels, image_size, num_classes, not c["spectral_norm"])])
        self.apply(_init)
        if c["spectral_norm"]:  # after the init: the parametrisation divides the initialised weight by its norm
            for m in [m for m in self.D.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]:
                spectral_norm(m)
        self.policy = parse_policy(c["diffaugment"])
        self.ema_decay = c["ema_decay"] or None  # the shared fit loop keeps the average (base.GenerativeModel)

    def ema_source(self):
        return self.G if self.ema_decay else None

    def configure_optimizers(self):
        c = self.config
        betas = (c["beta1"], 0.999)
        self.opt_g = adam(self.G.parameters(), lr=c["lr"], betas=betas)
        self.opt_d = adam(self.D.parameters(), lr=c["lr_d"] or c["lr"], betas=betas)
        return {"g": self.opt_g, "d": self.opt_d}

    def _groups(self, y):
        """(G, D, index into the batch, labels for the nets) per sub-model."""
        if not self.config["per_class"]:
            return [(self.G[0], self.D[0], slice(None), y)]
        out = []
        for c in y.unique().tolist():
            idx = torch.nonzero(y == c).flatten()
            if len(idx) > 1:  # BatchNorm needs two samples
                out.append((self.G[c], self.D[c], idx, torch.zeros_like(y[idx])))
        return out

    def _aug(self, x, generator):
        return diff_augment(x, generator, self.policy) if self.policy else x

    def losses(self, dr, df, dg=None):
        """(D loss, G loss) from D's logits on real, detached fake and fake images (G loss None without dg)."""
        if self.config["loss"] == "hinge":
            loss_d = F.relu(1 - dr).mean() + F.relu(1 + df).mean()
            loss_g = None if dg is None else -dg.mean()
        else:
            loss_d = F.binary_cross_entropy_with_logits(dr, torch.ones_like(dr)) + \
                F.binary_cross_entropy_with_logits(df, torch.zeros_like(df))
            loss_g = None if dg is None else F.binary_cross_entropy_with_logits(dg, torch.ones_like(dg))
        return loss_d, loss_g

    def training_step(self, x, y, generator):
        nz = self.config["nz"]
        real = x * 2 - 1
        ld_total, lg_total = 0.0, 0.0
        for G, D, idx, yy in self._groups(y):
            xr = real[idx]
            z = torch.randn(len(xr), nz, device=x.device, generator=generator)
            fake = G(z, yy)
            dr, df = D(self._aug(xr, generator), yy), D(self._aug(fake.detach(), generator), yy)
            loss_d, _ = self.losses(dr, df)
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
            with frozen(D):  # D's weight gradients would be discarded by the next D step
                dg = D(self._aug(fake, generator), yy)
                _, loss_g = self.losses(dr.detach(), df.detach(), dg)
                self.opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
            self.opt_g.step()
            ld_total, lg_total = ld_total + loss_d.detach(), lg_total + loss_g.detach()
        return {"loss_d": ld_total, "loss_g": lg_total}

    @torch.no_grad()
    def sample(self, n, labels=None, generator=None, batch_size: int = 256, **kw):
        dev = next(self.parameters()).device
        labels = torch.zeros(n, dtype=torch.long) if labels is None else torch.as_tensor(labels).long()
        out = torch.empty(n, self.channels, self.image_size, self.image_size)
        nets = self.sampling_module()  # the EMA of G when kept, else G itself
        was_training = nets.training
        nets.eval()
        for i in range(0, n, batch_size):
            yb = labels[i:i + batch_size].to(dev)
            z = torch.randn(len(yb), self.config["nz"], device=dev, generator=generator)
            if self.config["per_class"]:
                x = torch.empty(len(yb), self.channels, self.image_size, self.image_size, device=dev)
                for c in yb.unique().tolist():
                    m = yb == c
                    x[m] = nets[c](z[m], torch.zeros_like(yb[m]))
            else:
                x = nets[0](z, yb)
            out[i:i + len(yb)] = ((x + 1) / 2).clamp(0, 1).cpu()
        nets.train(was_training)
        return out

    def sampling_module(self):
        return self.ema if self.ema is not None else self.G
