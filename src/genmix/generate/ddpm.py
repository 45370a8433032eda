"""ADM-style class-conditional diffusion: a diffusers ``UNet2DModel`` with a class embedding,
trained with the DDPM objective (diffusers ``DDPMScheduler``; cosine schedule as in improved
DDPM / ADM, v-prediction by default, epsilon or x0 selectable), EMA weights, sampling
with DDIM (steps configurable) or full DDPM, and classifier-free guidance (labels dropped to
a null class during training; ``guidance_scale`` at sampling, 1.0 = plain conditional).

``init`` starts from a pretrained diffusers UNet (a ``genmix pretrain-ddpm`` folder, any diffusers
UNet2DModel folder or hub id), adapted to the data's channel and class counts; a folder whose
``genmix.json`` records a corpus sharing a source with the data is refused. Training writes
``fig2.png``: the same noise sampled at every checkpoint (the paper's Fig. 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import nn

from ..errors import GenmixError
from ..optim import adam
from ..validation import Fraction, GeneratorSettings, NonNegativeFloat, PositiveFloat, PositiveInt
from .base import GenerativeModel, has_accelerate, load_pretrained_part, register


class DDPMSettings(GeneratorSettings):
    block_out_channels: Annotated[list[PositiveInt], Field(min_length=1)] = [64, 128, 128]
    layers_per_block: PositiveInt = 2
    attention_levels: Annotated[list[bool], Field(min_length=1)] = [False, True, True]
    num_train_timesteps: PositiveInt = 1000
    beta_schedule: Literal["linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid"] = "squaredcos_cap_v2"
    prediction_type: Literal["epsilon", "v_prediction", "sample"] = "v_prediction"
    lr: PositiveFloat = 2e-4
    ema_decay: Fraction = 0.9999
    label_dropout: Fraction = 0.1  # classifier-free guidance: share of null labels in training
    sampler: Literal["ddim", "ddpm"] = "ddim"
    sampling_steps: PositiveInt = 50
    guidance_scale: NonNegativeFloat = 1.0
    init: str | None = None  # a pretrained diffusers UNet2DModel (folder or hub id)

    @model_validator(mode="after")
    def _levels(self):
        if len(self.attention_levels) != len(self.block_out_channels):
            raise ValueError(f"attention_levels has {len(self.attention_levels)} entries, block_out_channels "
                             f"{len(self.block_out_channels)}; give one per level")
        return self


def adapt_conv_in(conv: nn.Conv2d, channels: int) -> nn.Conv2d:
    """``conv`` taking ``channels`` inputs: summed over the old inputs for 1 channel (a gray image
    gives what its RGB replica gave), tiled and rescaled otherwise (1 -> 3: repeated / 3)."""
    new = nn.Conv2d(channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                    bias=conv.bias is not None)
    w = conv.weight.data
    with torch.no_grad():
        if channels == 1:
            new.weight.copy_(w.sum(1, keepdim=True))
        else:
            reps = -(-channels // w.shape[1])
            new.weight.copy_(w.repeat(1, reps, 1, 1)[:, :channels] * (w.shape[1] / channels))
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    return new


def adapt_conv_out(conv: nn.Conv2d, channels: int) -> nn.Conv2d:
    """``conv`` giving ``channels`` outputs: their mean for 1 channel, the old outputs tiled otherwise
    (1 -> 3: each channel the gray prediction)."""
    new = nn.Conv2d(conv.in_channels, channels, conv.kernel_size, conv.stride, conv.padding,
                    bias=conv.bias is not None)
    w = conv.weight.data
    with torch.no_grad():
        if channels == 1:
            new.weight.copy_(w.mean(0, keepdim=True))
            if conv.bias is not None:
                new.bias.copy_(conv.bias.mean(0, keepdim=True))
        else:
            reps = -(-channels // w.shape[0])
            new.weight.copy_(w.repeat(reps, 1, 1, 1)[:channels])
            if conv.bias is not None:
                new.bias.copy_(conv.bias.repeat(reps)[:channels])
    return new


def pretrained_corpus(path_or_id) -> list[str] | None:
    """The corpus a pretrained diffusion folder records (genmix.json), or None when it records none."""
    import json

    meta = Path(str(path_or_id)) / "genmix.json"
    if not meta.is_file():
        return None
    try:
        return list(json.loads(meta.read_text()).get("corpus", []))
    except (json.JSONDecodeError, AttributeError) as exc:
        raise GenmixError(f"{meta}: unreadable genmix metadata ({exc})") from None


def check_init(path_or_id, data_spec: str) -> None:
    """Refuse a pretrained folder whose recorded corpus shares a source with ``data_spec``."""
    from ..corpus import check_disjoint

    corpus = pretrained_corpus(path_or_id)
    if corpus:
        check_disjoint(corpus, data_spec, model=f"ddpm init {path_or_id}")


@register("ddpm")
class DDPM(GenerativeModel):
    mixed_precision = True  # bf16 autocast on the GPU path (genmix.precision)
    settings = DDPMSettings
    presets = {
        # ADM-like widths for GPUs; the paper fine-tuned an ImageNet ADM for its diffusion rows
        "paper": dict(steps=70_000, batch_size=8, lr=1e-4, block_out_channels=[128, 256, 256, 256],
                      attention_levels=[False, True, True, True], ema_decay=0.9999, checkpoint_every=5000,
                      log_every=100),
        # CPU-sized: a few minutes at 28-32 px
        "quick": dict(steps=1200, batch_size=32, lr=1e-3, block_out_channels=[32, 64, 64], layers_per_block=1,
                      attention_levels=[False, False, True], ema_decay=0.995, checkpoint_every=200,
                      log_every=25),
    }

    def __init__(self, config, num_classes, channels, image_size):
        super().__init__(config, num_classes, channels, image_size)
        from diffusers import DDPMScheduler, UNet2DModel

        c = self.config
        self.ema_decay = c["ema_decay"]
        levels = len(c["block_out_channels"])
        if image_size % 2 ** (levels - 1):
            raise GenmixError(f"ddpm: image size {image_size} is not divisible by 2**{levels - 1} "
                              f"(block_out_channels has {levels} levels)")
        if c["init"]:
            self.unet = self._pretrained(c["init"])
        else:
            attn = c["attention_levels"]
            self.unet = UNet2DModel(
                sample_size=image_size, in_channels=channels, out_channels=channels,
                block_out_channels=tuple(c["block_out_channels"]), layers_per_block=c["layers_per_block"],
                down_block_types=tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in attn),
                up_block_types=tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attn)),
                num_class_embeds=num_classes + 1,  # the last one is the null label for guidance
                norm_num_groups=min(32, c["block_out_channels"][0]), attention_head_dim=32,
                resnet_time_scale_shift="scale_shift",  # ADM's adaptive group norm
            )
        if c["prediction_type"] not in ("epsilon", "v_prediction", "sample"):
            raise GenmixError("ddpm: prediction_type must be epsilon, v_prediction or sample")
        self.scheduler = DDPMScheduler(num_train_timesteps=c["num_train_timesteps"], beta_schedule=c["beta_schedule"],
                                       prediction_type=c["prediction_type"])

    def _pretrained(self, path_or_id):
        """A pretrained diffusers UNet2DModel (a ``genmix pretrain-ddpm`` folder, a DDPMPipeline folder
        with ``unet/``, a bare UNet folder or a hub id), adapted to this data: first/last convolutions
        to the channel count, ``sample_size`` to the image size, and a zero-initialised class
        embedding for this class count (a pretrained class embedding of another size is folded into
        the time embedding's bias as its mean), so at step 0 the model equals the pretrained one
        for every label."""
        from diffusers import UNet2DModel

        sub = "unet" if (Path(str(path_or_id)) / "unet" / "config.json").is_file() else None
        unet = load_pretrained_part(
            lambda p: UNet2DModel.from_pretrained(p, subfolder=sub, low_cpu_mem_usage=has_accelerate()), path_or_id,
            "diffusers UNet2DModel", f"build one with genmix pretrain-ddpm --exclude-target DATA --out {path_or_id}")
        cfg = unet.config
        levels = len(cfg.block_out_channels)
        if self.image_size % 2 ** (levels - 1):
            raise GenmixError(f"{path_or_id}: pretrained UNet has {levels} levels; image size {self.image_size} "
                              f"is not divisible by 2**{levels - 1}")
        if cfg.get("class_embed_type") is not None:
            raise GenmixError(f"{path_or_id}: class_embed_type {cfg.class_embed_type!r} is not supported "
                              "(a plain class embedding or none)")
        if cfg.in_channels != self.channels:
            unet.conv_in = adapt_conv_in(unet.conv_in, self.channels)
        if cfg.out_channels != self.channels:
            unet.conv_out = adapt_conv_out(unet.conv_out, self.channels)
        unet.register_to_config(in_channels=self.channels, out_channels=self.channels, sample_size=self.image_size)
        k = self.num_classes + 1
        if (cfg.num_class_embeds or 0) != k:
            from torch import nn

            dim = unet.time_embedding.linear_2.out_features
            with torch.no_grad():
                if unet.class_embedding is not None:  # keep the model's function: fold in the mean class
                    unet.time_embedding.linear_2.bias += unet.class_embedding.weight.mean(0)
                unet.class_embedding = nn.Embedding(k, dim)
                nn.init.zeros_(unet.class_embedding.weight)
            unet.register_to_config(num_class_embeds=k)
        return unet

    def ema_source(self):
        return self.unet

    def check_data(self, spec: str) -> None:
        if self.config["init"]:
            check_init(self.config["init"], spec)

    def snapshot(self) -> torch.Tensor:
        """The paper's Fig. 2 column: 8 samples, always from the same noise, with 10 DDIM steps."""
        dev = next(self.unet.parameters()).device
        labels = torch.arange(8) % self.num_classes
        return self.sample(8, labels, generator=torch.Generator(device=dev).manual_seed(0), sampler="ddim", steps=10,
                           guidance_scale=1.0)

    def configure_optimizers(self):
        self.opt = adam(self.unet.parameters(), decoupled=True, lr=self.config["lr"], weight_decay=0.0)
        return {"unet": self.opt}

    def forward(self, x, y, generator=None):
        """The DDPM loss for images x in [0,1] with labels y (lucidrains-style ``loss = model(x, y)``)."""
        x0 = x * 2 - 1
        b = len(x0)
        noise = torch.randn(x0.shape, device=x0.device, generator=generator)
        t = torch.randint(0, self.scheduler.config.num_train_timesteps, (b,), device=x0.device, generator=generator)
        drop = torch.rand(b, device=x0.device, generator=generator) < self.config["label_dropout"]
        y = torch.where(drop, torch.full_like(y, self.num_classes), y)
        xt = self.scheduler.add_noise(x0, noise, t)
        pred = self.unet(xt, t, class_labels=y).sample
        kind = self.config["prediction_type"]
        target = noise if kind == "epsilon" else x0 if kind == "sample" else self.scheduler.get_velocity(x0, noise, t)
        return F.mse_loss(pred, target)

    def training_step(self, x, y, generator):
        loss = self(x, y, generator)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.unet.parameters(), 1.0)
        self.opt.step()
        return {"loss": loss.detach()}

    @torch.no_grad()
    def sample(self, n, labels=None, generator=None, sampler=None, steps=None, guidance_scale=None,
               batch_size: int = 128, **kw):
        from diffusers import DDIMScheduler, DDPMScheduler

        c = self.config
        sampler = sampler or c["sampler"]
        guidance = c["guidance_scale"] if guidance_scale is None else guidance_scale
        net = self.sampling_module()
        dev = next(net.parameters()).device
        if sampler == "ddim":
            sched = DDIMScheduler.from_config(self.scheduler.config)
            sched.set_timesteps(steps or c["sampling_steps"])
        elif sampler == "ddpm":
            sched = DDPMScheduler.from_config(self.scheduler.config)
            sched.set_timesteps(steps or self.scheduler.config.num_train_timesteps)
        else:
            raise GenmixError(f"ddpm: unknown sampler '{sampler}' (ddim or ddpm)")
        labels = torch.zeros(n, dtype=torch.long) if labels is None else torch.as_tensor(labels).long()
        out = torch.empty(n, self.channels, self.image_size, self.image_size)
        was_training = net.training
        net.eval()
        for i in range(0, n, batch_size):
            yb = labels[i:i + batch_size].to(dev)
            x = torch.randn(len(yb), self.channels, self.image_size, self.image_size, device=dev, generator=generator)
            for t in sched.timesteps:
                if guidance != 1.0:
                    eps = net(torch.cat([x, x]), t, class_labels=torch.cat([yb, torch.full_like(yb, self.num_classes)])).sample
                    e_c, e_u = eps.chunk(2)
                    eps = e_u + guidance * (e_c - e_u)
                else:
                    eps = net(x, t, class_labels=yb).sample
                x = sched.step(eps, t, x, generator=generator).prev_sample
            out[i:i + len(yb)] = ((x + 1) / 2).clamp(0, 1).cpu()
        net.train(was_training)
        return out
