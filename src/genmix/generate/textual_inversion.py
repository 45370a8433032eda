"""Textual Inversion (Gal et al. 2023) on a frozen pretrained text-to-image latent diffusion model.

For each class, ``num_vectors`` new placeholder tokens are added to the tokenizer and their rows
of the text encoder's token-embedding matrix are learned from that class's training images with
the pipeline's own denoising objective; every other weight stays frozen. The placeholder vectors
(``learned``) are the only parameters: a forward hook puts them into the embedding output, so the
optimizer, the checkpoint and the encoder share one tensor and a resumed run continues exactly
(AdamW, weight decay 1e-2, lr 5e-4 x batch as diffusers' textual_inversion example). With
``class_balance`` (default) every step draws its own batch from the training split with every class
equally likely, so a rare class's token gets as many updates as a common one's. Synthesis runs the frozen
pipeline (DDIM, classifier-free guidance) on prompt templates holding the class's tokens.

Pipelines: diffusers Stable Diffusion 1.x/2.x (CLIP tokenizer + text encoder, ``vae``) and the
GenMix paper's LDM text-to-image pipeline ``CompVis/ldm-text2im-large-256`` (LDMBert, ``vqvae``),
from a hub id or a local folder (``pretrained``). Grayscale images go to the pipeline as three
equal channels and come back as their mean; outputs are resized to the dataset's size.
Learned embeddings are exported per class as ``learned_embeds_<class>.safetensors`` in the
format diffusers' ``load_textual_inversion`` reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import torch
import torch.nn.functional as F
from pydantic import Field, field_validator
from torch import nn

from ..errors import GenmixError
from ..optim import adam
from ..validation import GeneratorSettings, NonNegativeFloat, PositiveFloat, PositiveInt
from .base import GenerativeModel, has_accelerate, load_pretrained_part, register

TEMPLATES = ["a medical image of {token}", "a grayscale scan showing {token}", "a close-up medical image of {token}",
             "a cropped scan of {token}", "an image of {token}"]


def _embedding(encoder) -> nn.Embedding:
    emb = encoder.get_input_embeddings() if hasattr(encoder, "get_input_embeddings") else None
    if emb is None and hasattr(encoder, "model") and hasattr(encoder.model, "embed_tokens"):
        emb = encoder.model.embed_tokens  # LDMBert
    if emb is None:
        raise GenmixError(f"textual-inversion: cannot find the token embeddings of {type(encoder).__name__}")
    return emb


def _set_embedding(encoder, emb: nn.Embedding):
    if hasattr(encoder, "model") and hasattr(encoder.model, "embed_tokens"):
        encoder.model.embed_tokens = emb
    else:
        encoder.set_input_embeddings(emb)


class TextualInversionSettings(GeneratorSettings):
    pretrained: str = "CompVis/ldm-text2im-large-256"  # hub id or local folder of the pipeline
    num_vectors: PositiveInt = 1
    initializer_token: str = "tissue"
    templates: Annotated[list[str], Field(min_length=1)] = TEMPLATES
    lr: PositiveFloat = 2e-3
    weight_decay: NonNegativeFloat = 1e-2
    class_balance: bool = True  # class-balanced batches: a rare class's token gets as many updates as a common one's
    resolution: PositiveInt | None = None
    sampling_steps: PositiveInt = 50
    guidance_scale: NonNegativeFloat = 3.0

    @field_validator("templates")
    @classmethod
    def _token(cls, v):
        bad = [t for t in v if "{token}" not in t]
        if bad:
            raise ValueError(f"every template needs '{{token}}', not {bad[0]!r}")
        return v


@register("textual-inversion")
class TextualInversion(GenerativeModel):
    # lr / weight decay as diffusers' examples/textual_inversion documents them: AdamW (0.9, 0.999, eps 1e-8),
    # weight_decay 1e-2, base lr 5e-4 scaled by the batch (--scale_lr; its README: batch 1 x accumulation 4
    # -> 2e-3). ``lr`` here is the scaled value: 5e-4 x 4 for the presets' batch of 4.
    settings = TextualInversionSettings
    presets = {
        # Gal et al.: ~5k steps per concept; the GenMix paper's LDM at 256 px. With class_balance every class's
        # token gets ~steps x batch / num_classes images whatever its share of the training set.
        "paper": dict(steps=5000, batch_size=4, lr=2e-3, checkpoint_every=500, log_every=50),
        "quick": dict(steps=300, batch_size=4, lr=2e-3, sampling_steps=25, checkpoint_every=100, log_every=10),
    }

    def __init__(self, config, num_classes, channels, image_size):
        super().__init__(config, num_classes, channels, image_size)
        c = self.config
        parts = self._load_pipeline(c["pretrained"])
        object.__setattr__(self, "parts", parts)  # frozen, not part of state_dict or parameters()
        tok, enc = parts["tokenizer"], parts["text_encoder"]
        for m in (enc, parts["vae"], parts["unet"]):
            m.requires_grad_(False)
            m.eval()
        self.tokens = [[f"<gm-c{k}-v{i}>" for i in range(c["num_vectors"])] for k in range(num_classes)]
        flat = [t for ts in self.tokens for t in ts]
        added = tok.add_tokens(flat)
        if added != len(flat):
            raise GenmixError(f"textual-inversion: placeholder tokens already exist in the tokenizer of {c['pretrained']}")
        self.token_ids = tok.convert_tokens_to_ids(flat)
        init = tok.encode(c["initializer_token"], add_special_tokens=False)
        if len(init) != 1:
            raise GenmixError(f"textual-inversion: initializer_token '{c['initializer_token']}' is {len(init)} tokens; "
                              "pick a word that is one token")
        old = _embedding(enc)
        emb = nn.Embedding(len(tok), old.embedding_dim, padding_idx=old.padding_idx)
        with torch.no_grad():
            emb.weight[: old.num_embeddings] = old.weight
            emb.weight[old.num_embeddings:] = old.weight[init[0]]
        emb.weight.requires_grad_(False)  # frozen: the placeholder vectors are ``learned``
        _set_embedding(enc, emb)
        if hasattr(enc, "config"):
            enc.config.vocab_size = len(tok)
        self.learned = nn.Parameter(emb.weight.detach()[self.token_ids].clone())
        self.register_buffer("_mask", torch.zeros(len(tok), dtype=torch.bool), persistent=False)
        self._mask[self.token_ids] = True
        self.register_buffer("_row", torch.full((len(tok),), -1, dtype=torch.long), persistent=False)
        self._row[self.token_ids] = torch.arange(len(flat))
        # the placeholder rows of the encoder's embedding output come from ``learned`` itself (a forward
        # hook), so the optimizer, the checkpoint and the encoder all see the one tensor: a resumed run
        # continues from the restored vectors, and no other row can change
        emb.register_forward_hook(self._placeholder_hook)
        self._train_split = None
        vae = parts["vae"]
        self.vae_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self.resolution = c["resolution"] or parts["unet"].config.sample_size * self.vae_factor
        from diffusers import DDPMScheduler

        self.noise_scheduler = DDPMScheduler.from_config(parts["scheduler"].config)

    @staticmethod
    def _load_pipeline(path_or_id):
        from diffusers import DiffusionPipeline

        pipe = load_pretrained_part(
            lambda p: DiffusionPipeline.from_pretrained(p, low_cpu_mem_usage=has_accelerate()), path_or_id,
            "text-to-image pipeline", f"build one with genmix pretrain-t2i --exclude-target DATA --out {path_or_id}, "
            "or download one, e.g. huggingface-cli download CompVis/ldm-text2im-large-256")
        enc = getattr(pipe, "text_encoder", None) or getattr(pipe, "bert", None)
        vae = getattr(pipe, "vae", None) or getattr(pipe, "vqvae", None)
        if enc is None or vae is None or not hasattr(pipe, "unet") or not hasattr(pipe, "tokenizer"):
            raise GenmixError(f"{path_or_id}: {type(pipe).__name__} is not a text-to-image latent diffusion pipeline "
                              "(needs tokenizer, text encoder, VAE and UNet)")
        return {"tokenizer": pipe.tokenizer, "text_encoder": enc, "vae": vae, "unet": pipe.unet,
                "scheduler": pipe.scheduler, "kind": type(pipe).__name__}

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        for k in ("text_encoder", "vae", "unet"):
            self.parts[k]._apply(fn, *args, **kwargs)
        return self

    # --- embeddings ---------------------------------------------------------------------
    @property
    def embedding(self) -> nn.Embedding:
        return _embedding(self.parts["text_encoder"])

    def _placeholder_hook(self, module, inputs, output):
        ids = inputs[0]
        mask = self._mask[ids]
        if not bool(mask.any()):
            return output
        rows = self.learned[self._row[ids].clamp_min(0)].to(output.dtype)
        return torch.where(mask.unsqueeze(-1), rows, output)

    def _sync_in(self):
        """Mirror the learned vectors into the placeholder rows of the embedding matrix (what
        ``export``ed pipelines and direct users of ``parts`` read; the hook already uses ``learned``)."""
        with torch.no_grad():
            self.embedding.weight[self.token_ids] = self.learned.detach().to(self.embedding.weight)

    def configure_optimizers(self):
        # only the placeholder vectors are parameters; AdamW's per-element update and decoupled decay make
        # this the same as the diffusers example's optimizer over the whole matrix with the other rows restored
        self.opt = adam([self.learned], decoupled=True, lr=self.config["lr"], betas=(0.9, 0.999), eps=1e-8,
                                     weight_decay=self.config["weight_decay"])
        return {"embeddings": self.opt}

    def check_data(self, spec: str):
        """Refuse a genmix-pretrained pipeline whose corpus shares a source with the data (hub ids pass)."""
        from ..pretrained import check_pretrained

        check_pretrained(self.config["pretrained"], spec, "textual-inversion: pretrained model")

    def fit_data(self, train_split):
        self._train_split = train_split
        labels = train_split.labels
        self._class_index = [torch.nonzero(labels == k).flatten() for k in range(self.num_classes)]

    def _balanced_batch(self, n, generator, device):
        """``n`` training images with every class equally likely (uniform within a class), drawn with
        ``generator``, so a rare class's token gets as many updates as a common one's."""
        present = [k for k in range(self.num_classes) if len(self._class_index[k])]
        pick = torch.randint(len(present), (n,), generator=generator, device=generator.device).cpu()
        u = torch.rand(n, generator=generator, device=generator.device).cpu()
        idx = torch.stack([self._class_index[present[int(c)]][int(v * len(self._class_index[present[int(c)]]))]
                           for c, v in zip(pick, u)])
        x, y = self._train_split.batch(idx)
        return x.to(device), y.to(device)

    def class_prompt(self, label: int, template: str) -> str:
        return template.format(token=" ".join(self.tokens[label]))

    def _encode_text(self, prompts):
        tok, enc = self.parts["tokenizer"], self.parts["text_encoder"]
        max_len = min(getattr(tok, "model_max_length", 77), 77)
        ids = tok(prompts, padding="max_length", max_length=max_len, truncation=True, return_tensors="pt").input_ids
        return enc(ids.to(self.embedding.weight.device))[0]

    def _to_pipeline(self, x):
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
        if x.shape[1] != 3:
            raise GenmixError(f"textual-inversion: {x.shape[1]}-channel images are not supported (1 or 3)")
        x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False,
                          antialias=True)
        return x * 2 - 1

    def _latents(self, x, generator):
        vae = self.parts["vae"]
        enc = vae.encode(x)
        if hasattr(enc, "latent_dist"):
            z = enc.latent_dist.mean + enc.latent_dist.std * torch.randn(
                enc.latent_dist.mean.shape, device=x.device, generator=generator)
        else:  # VQModel
            z = enc.latents
        return z * getattr(vae.config, "scaling_factor", 1.0)

    def training_step(self, x, y, generator):
        unet, sched = self.parts["unet"], self.noise_scheduler
        if self.config["class_balance"] and self._train_split is not None:
            x, y = self._balanced_batch(len(y), generator, x.device)
        with torch.no_grad():
            z0 = self._latents(self._to_pipeline(x), generator)
        noise = torch.randn(z0.shape, device=z0.device, generator=generator)
        t = torch.randint(0, sched.config.num_train_timesteps, (len(z0),), device=z0.device, generator=generator)
        zt = sched.add_noise(z0, noise, t)
        templates = self.config["templates"]
        pick = torch.randint(len(templates), (len(y),), generator=generator, device=z0.device).tolist()
        cond = self._encode_text([self.class_prompt(int(l), templates[p]) for l, p in zip(y.tolist(), pick)])
        pred = unet(zt, t, encoder_hidden_states=cond).sample
        kind = sched.config.prediction_type
        target = noise if kind == "epsilon" else sched.get_velocity(z0, noise, t) if kind == "v_prediction" else z0
        loss = F.mse_loss(pred.float(), target.float())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self._sync_in()
        return {"loss": loss.detach()}

    @torch.no_grad()
    def sample(self, n, labels=None, generator=None, steps=None, guidance_scale=None, template=None,
               batch_size: int = 16, **kw):
        from diffusers import DDIMScheduler

        self._sync_in()
        unet, vae = self.parts["unet"], self.parts["vae"]
        dev = self.embedding.weight.device
        sched = DDIMScheduler.from_config(self.parts["scheduler"].config)
        sched.set_timesteps(steps or self.config["sampling_steps"])
        gs = self.config["guidance_scale"] if guidance_scale is None else guidance_scale
        template = template or self.config["templates"][0]
        labels = torch.zeros(n, dtype=torch.long) if labels is None else torch.as_tensor(labels).long()
        out = torch.empty(n, self.channels, self.image_size, self.image_size)
        lat = self.resolution // self.vae_factor
        for i in range(0, n, batch_size):
            yb = labels[i:i + batch_size]
            b = len(yb)
            cond = self._encode_text([self.class_prompt(int(l), template) for l in yb])
            uncond = self._encode_text([""] * b)
            z = torch.randn(b, unet.config.in_channels, lat, lat, device=dev, generator=generator) * sched.init_noise_sigma
            for t in sched.timesteps:
                zin = sched.scale_model_input(torch.cat([z, z]), t)
                e = unet(zin, t, encoder_hidden_states=torch.cat([uncond, cond])).sample
                eu, ec = e.chunk(2)
                z = sched.step(eu + gs * (ec - eu), t, z, generator=generator).prev_sample
            img = vae.decode(z / getattr(vae.config, "scaling_factor", 1.0)).sample
            img = ((img.float() + 1) / 2).clamp(0, 1)
            if self.channels == 1:
                img = img.mean(1, keepdim=True)
            img = F.interpolate(img, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False,
                                antialias=True)
            out[i:i + b] = img.clamp(0, 1).cpu()
        return out

    def export(self, out_dir, class_names):
        """learned_embeds_<class>.safetensors per class ({token: (num_vectors, dim)}), as diffusers reads."""
        from safetensors.torch import save_file

        from .base import safe_name

        out = Path(out_dir)
        for k, name in enumerate(class_names):
            vec = self.learned[k * self.config["num_vectors"]:(k + 1) * self.config["num_vectors"]].detach().cpu()
            save_file({self.tokens[k][0]: vec.clone()}, str(out / f"learned_embeds_{k}_{safe_name(name)}.safetensors"))

    def load_embeddings(self, paths):
        """Load per-class embeddings written by ``export`` (in class order)."""
        from safetensors.torch import load_file

        v = self.config["num_vectors"]
        with torch.no_grad():
            for k, p in enumerate(paths):
                d = load_file(str(p))
                if len(d) != 1:
                    raise GenmixError(f"{p}: expected one token in a learned-embeddings file, found {len(d)}")
                vec = next(iter(d.values()))
                if vec.shape != (v, self.learned.shape[1]):
                    raise GenmixError(f"{p}: embedding shape {tuple(vec.shape)} != {(v, self.learned.shape[1])}")
                self.learned[k * v:(k + 1) * v] = vec
        self._sync_in()
