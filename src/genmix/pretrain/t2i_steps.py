"""Parts of genmix's offline text-to-image pretraining (genmix.pretrain.t2i): the caption token ids, and one
training step of each stage — the VAE first, then the latent-diffusion UNet and text encoder on the frozen
VAE's latents."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

from .tokenizer import words_of, write_tokenizer


@torch.no_grad()
def latent_scale(vae, images, c, device) -> float:
    """1 / std of the corpus latents (a fixed subset), as Stable Diffusion's scaling_factor."""
    g = torch.Generator().manual_seed(c["seed"] + 2)
    idx = torch.randperm(len(images), generator=g)[:512]
    vae.eval()
    z = torch.cat([vae.encode(images[i].to(device).float() / 127.5 - 1).latent_dist.mean
                   for i in idx.split(64)])
    return float(1.0 / z.std().clamp_min(1e-6))


def train_step(model, images, labels, idx, ids, sched, opts: dict, dgen, c: dict, step: int, device) -> dict:
    """Step ``step`` (0-based) on the images ``idx``: the autoencoder for the first ``vae_steps``, then the
    UNet and text encoder on the captions (the latent scale measured once when they start). Returns the losses."""
    x = images[idx].to(device).float().div_(127.5).sub_(1.0)  # [-1, 1], as diffusers VAEs expect
    if step < c["vae_steps"]:
        return vae_step(model, x, opts["vae"], dgen, c)
    if step == c["vae_steps"]:
        model.scaling.fill_(latent_scale(model.vae, images, c, device))
    return unet_step(model, x, labels[idx].clone(), ids, sched, opts["main"], dgen, c, step - c["vae_steps"] + 1)


def vae_step(model, x, opt, dgen, c) -> dict:
    """One VAE step (the first ``vae_steps``): reconstruction + ``kl_weight`` x KL."""
    model.vae.train()
    post = model.vae.encode(x).latent_dist
    z = post.mean + post.std * torch.randn(post.mean.shape, generator=dgen).to(x.device)
    rec = model.vae.decode(z).sample
    mse, kl = F.mse_loss(rec, x), post.kl().mean() / x[0].numel()
    loss = mse + c["kl_weight"] * kl
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return {"vae_mse": float(mse.detach()), "vae_kl": float(kl.detach()), "vae_loss": float(loss.detach())}


def unet_step(model, x, cap, ids, sched, opt, dgen, c, k: int) -> dict:
    """One latent-diffusion step (UNet + text encoder; the VAE frozen) on captions ``cap`` (dropped to the
    unconditional one with probability ``caption_dropout``), then the UNet's EMA (warm-up by step ``k``)."""
    bs, device = len(x), x.device
    model.vae.eval()
    with torch.no_grad():
        post = model.vae.encode(x).latent_dist
        z0 = (post.mean + post.std * torch.randn(post.mean.shape, generator=dgen).to(device)) * model.scaling
    noise = torch.randn(z0.shape, generator=dgen).to(device)
    t = torch.randint(0, c["train_timesteps"], (bs,), generator=dgen).to(device)
    tmpl = torch.randint(ids.shape[0], (bs,), generator=dgen)
    cap[torch.rand(bs, generator=dgen) < c["caption_dropout"]] = ids.shape[1] - 1
    cond = model.text_encoder(ids[tmpl, cap].to(device))[0]
    pred = model.unet(sched.add_noise(z0, noise, t), t, encoder_hidden_states=cond).sample
    loss = F.mse_loss(pred, noise)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    with torch.no_grad():
        decay = min(c["ema_decay"], (1 + k) / (10 + k))
        for e, p in zip(model.ema.parameters(), model.unet.parameters()):
            e.lerp_(p, 1 - decay)
    return {"unet_mse": float(loss.detach())}


def caption_ids(captions: list[str], templates: list[str], max_length: int, extra_words: list[str]):
    """A tokenizer for the corpus' words (and ``extra_words``), the token ids of every template x caption (templates, captions + 1, L;
    the last caption is "", unconditional) and the tokenizer's fingerprint."""
    import hashlib

    with tempfile.TemporaryDirectory() as tmp:
        tok = write_tokenizer(Path(tmp) / "tokenizer", words_of(captions + templates) + extra_words, max_length)
        fingerprint = hashlib.sha256(b"".join((Path(tmp) / "tokenizer" / f).read_bytes()
                                              for f in ("vocab.json", "merges.txt"))).hexdigest()[:16]
        ids = [tok([t.format(token=cap) for cap in captions] + [""], padding="max_length", max_length=max_length,
                   truncation=True, return_tensors="pt").input_ids for t in templates]
    return tok, torch.stack(ids), fingerprint
