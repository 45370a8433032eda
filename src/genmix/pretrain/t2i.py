"""``genmix pretrain-t2i``: a small latent text-to-image model trained from public images.

diffusers parts end to end, in the layout of a Stable Diffusion hub model, so
``DiffusionPipeline.from_pretrained(MODEL_DIR)`` loads it exactly as it loads a hub id and
textual inversion runs on it unchanged:

- ``vae``: an ``AutoencoderKL`` (down-sampling factor 4: 32 px -> 4 x 8 x 8 latents), trained first
  on the corpus (MSE reconstruction + a small KL term; no perceptual/adversarial loss), then frozen;
  its ``scaling_factor`` is set to 1 / std of the corpus latents as Stable Diffusion does;
- ``text_encoder``: a small ``transformers.CLIPTextModel`` from a config, random-initialised and
  trained jointly with the UNet (a frozen random encoder would also separate the captions, but its
  word embeddings would carry no meaning, and textual inversion learns tokens in that space);
- ``tokenizer``: a byte-level BPE ``CLIPTokenizer`` whose vocab.json/merges.txt are written offline
  from the corpus words (every caption word one token; any other text still tokenises byte-wise);
- ``unet``: a small ``UNet2DConditionModel`` (cross-attention on the text states), epsilon
  prediction, ``DDPMScheduler`` noise (Stable Diffusion's scaled-linear betas) for training, saved
  with a ``DDIMScheduler`` for sampling; an EMA of the UNet is what the pipeline holds.

Captions are "<modality>, <class>" from each dataset's metadata (captions.py), placed in a prompt
template (the textual-inversion templates, or the bare caption), and replaced by "" with
probability ``caption_dropout`` for classifier-free guidance. Every corpus image is converted to
3 channels (grayscale repeated) at ``image_size``; the training split of each corpus set only (val/test
stay unseen, for the conditionality check). Each step draws a batch with every corpus set equally
likely (uniform within a set), from a generator whose state is checkpointed, so an interrupted run
resumed from its checkpoint equals an uninterrupted one; it may be resumed with another ``steps``
(longer or shorter) and equals a run with that ``steps`` from the start.

MODEL_DIR: the pipeline folder (model_index.json, vae/, unet/, text_encoder/, tokenizer/,
scheduler/), ``genmix.json`` (corpus, exclusions, config, losses: read by the exclusion check),
``README.md`` (model card), ``samples.png`` (a row per caption), ``log.csv``; during training
``checkpoint.safetensors``.
"""

from __future__ import annotations

import copy
import json
import math
import sys
import time
from pathlib import Path

import torch
from torch import nn

from ..data.base import is_colour
from ..errors import GenmixError
from ..optim import adam
from ..pretrained import T2I_METADATA as METADATA
from ..pretrained import check_pretrained  # noqa: F401  (re-exported: this module's public API)
from .t2i_state import check_finite, finished_model, resume
from .t2i_steps import caption_ids, latent_scale, train_step

T2I_DEFAULTS = dict(
    image_size=32, steps=3000, vae_steps=600, batch_size=32, lr=2e-4, vae_lr=1e-3, kl_weight=1e-5,
    caption_dropout=0.1, ema_decay=0.999, checkpoint_every=250, log_every=25, seed=0,
    vae_channels=[32, 64, 64], latent_channels=4, unet_channels=[64, 128], layers_per_block=1,
    text_dim=64, text_layers=2, text_heads=4, max_length=32, train_timesteps=1000,
    sample_steps=25, guidance_scale=3.0, samples_per_caption=4)
EXTRA_WORDS = ["tissue", "lesion", "scan", "image", "medical"]


def bare_templates() -> list[str]:
    from ..generate.textual_inversion import TEMPLATES

    return ["{token}"] + list(TEMPLATES)


# --- corpus -----------------------------------------------------------------------------------
def resolve_corpus(specs: list[str] | None, exclude_target: str | None) -> tuple[list[str], list[str]]:
    """(corpus, excluded): specs sharing a source with ``exclude_target`` are dropped."""
    from ..corpus import PUBLIC_CORPUS, allowed_corpus

    specs = list(specs or PUBLIC_CORPUS)
    if not specs:
        raise GenmixError("pretrain-t2i: --data names no dataset")
    corpus = allowed_corpus(exclude_target, specs) if exclude_target else specs
    excluded = [s for s in specs if s not in corpus]
    if not corpus:
        raise GenmixError(f"pretrain-t2i: every corpus set shares a source with {exclude_target}; "
                          "nothing is left to pretrain on")
    return corpus, excluded


def load_corpus(specs, image_size: int, data_root=None, split: str = "train"):
    """uint8 (N,3,S,S) images, global caption labels, per-image corpus index, captions."""
    from ..data import load_dataset
    from .captions import captions_for

    xs, ys, src, captions = [], [], [], []
    for i, spec in enumerate(specs):
        ds = load_dataset(spec, data_root, image_size, 3)
        s = ds[split]
        xs.append(s.images)
        ys.append(s.labels + len(captions))
        src.append(torch.full((len(s),), i, dtype=torch.long))
        captions += captions_for(spec, ds.class_names)
    if len(set(captions)) != len(captions):
        raise GenmixError(f"pretrain-t2i: two corpus classes share a caption ({captions}); "
                          "a set may appear only once in --data")
    return torch.cat(xs), torch.cat(ys), torch.cat(src), captions


# --- model ------------------------------------------------------------------------------------
class T2IModel(nn.Module):
    def __init__(self, c: dict, vocab_size: int):
        super().__init__()
        from diffusers import AutoencoderKL, UNet2DConditionModel
        from transformers import CLIPTextConfig, CLIPTextModel

        size, vch, uch = c["image_size"], list(c["vae_channels"]), list(c["unet_channels"])
        factor = 2 ** (len(vch) - 1)
        if size % factor or size // factor < 2 ** (len(uch) - 1):
            raise GenmixError(f"pretrain-t2i: image size {size} does not fit vae_channels {vch} "
                              f"(down-sampling {factor}) and unet_channels {uch}")
        groups = math.gcd(*vch, *uch, 8)
        self.vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * len(vch),
                                 up_block_types=["UpDecoderBlock2D"] * len(vch), block_out_channels=vch,
                                 latent_channels=c["latent_channels"], norm_num_groups=groups, sample_size=size,
                                 scaling_factor=1.0)
        n = len(uch)
        self.unet = UNet2DConditionModel(
            sample_size=size // factor, in_channels=c["latent_channels"], out_channels=c["latent_channels"],
            layers_per_block=c["layers_per_block"], block_out_channels=uch,
            down_block_types=["CrossAttnDownBlock2D"] * (n - 1) + ["DownBlock2D"],
            up_block_types=["UpBlock2D"] + ["CrossAttnUpBlock2D"] * (n - 1), cross_attention_dim=c["text_dim"],
            norm_num_groups=groups, attention_head_dim=max(1, uch[0] // 8))
        self.text_encoder = CLIPTextModel(CLIPTextConfig(
            vocab_size=vocab_size, hidden_size=c["text_dim"], intermediate_size=4 * c["text_dim"],
            num_hidden_layers=c["text_layers"], num_attention_heads=c["text_heads"],
            max_position_embeddings=c["max_length"], bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1,
            pad_token_id=vocab_size - 1))
        self.ema = copy.deepcopy(self.unet).requires_grad_(False)
        self.register_buffer("scaling", torch.ones(()))


def _fingerprint(images: torch.Tensor, labels: torch.Tensor) -> str:
    import hashlib

    h = hashlib.sha256(images.numpy().tobytes())
    h.update(labels.numpy().tobytes())
    return h.hexdigest()[:16]


def corpus_colour(pretrained) -> bool | None:
    """Whether a genmix-pretrained model folder's corpus had colour images (genmix.json), or None when that
    is not known (hub ids, other folders). Models pretrained before it was recorded are not rewritten
    (genmix.json is part of the model's fingerprint that keys cached units); when their corpus is MedMNIST
    sets only, MedMNIST's metadata (channels per set) answers instead."""
    from ..data.medmnist import medmnist_channels

    if not isinstance(pretrained, str):
        return None
    meta = Path(pretrained) / METADATA
    if not meta.is_file():
        return None
    try:
        stored = json.loads(meta.read_text())
        value, corpus = stored.get("corpus_colour"), list(stored.get("corpus") or [])
    except (json.JSONDecodeError, AttributeError, TypeError):
        return None
    if isinstance(value, bool):
        return value
    channels = [medmnist_channels(str(spec)) for spec in corpus]
    if not corpus or None in channels:
        return None
    return any(c == 3 for c in channels)


# --- training ---------------------------------------------------------------------------------
def pretrain_t2i(specs, out_dir, config: dict | None = None, exclude_target: str | None = None, data_root=None,
                 device="cpu", progress: bool = True, stop_after: int | None = None):
    """Train (or resume, or reuse) the text-to-image model in ``out_dir``. Returns genmix.json's dict,
    or None when stopped early by ``stop_after`` (tests)."""
    from .. import __version__
    from ..checkpoint import save_state

    c = t2i_settings(config)
    corpus, excluded = resolve_corpus(specs, exclude_target)
    images, labels, src, captions = load_corpus(corpus, c["image_size"], data_root)
    out = Path(out_dir)
    meta = {"kind": "text-to-image", "corpus": corpus, "excluded": excluded, "exclude_target": exclude_target,
            "captions": captions, "config": c, "corpus_fingerprint": _fingerprint(images, labels),
            "train_images": len(labels), "corpus_colour": is_colour(images), "genmix_version": __version__}
    stored = finished_model(out, meta)
    if stored is not None:
        return stored  # cached: reused across experiments
    templates = bare_templates()
    tok, ids, meta["tokenizer"] = caption_ids(captions, templates, c["max_length"], EXTRA_WORDS)
    model, sched, opts = _build(c, len(tok), device)
    # every corpus set equally likely, uniform within a set
    weights = 1.0 / (len(corpus) * torch.bincount(src, minlength=len(corpus)).double()[src])
    dgen = torch.Generator().manual_seed(c["seed"] + 1)
    ckpt = out / "checkpoint.safetensors"
    step, log = resume(ckpt, meta, model, opts, dgen)
    out.mkdir(parents=True, exist_ok=True)

    def save_ckpt():
        save_state(ckpt, {"model": model.state_dict(), "optim": {k: o.state_dict() for k, o in opts.items()},
                          "rng": {"data": dgen.get_state(), "torch": torch.get_rng_state()}, "step": step, "log": log,
                          "meta": meta})

    total = c["vae_steps"] + c["steps"]
    bs = c["batch_size"]
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=step, desc="pretrain t2i", disable=not progress or not sys.stderr.isatty())
    t0, n_steps = time.perf_counter(), 0
    while step < total:
        if stop_after is not None and step >= stop_after:
            bar.close()
            return None
        idx = torch.multinomial(weights, bs, replacement=True, generator=dgen)
        vals = train_step(model, images, labels, idx, ids, sched, opts, dgen, c, step, device)
        check_finite(vals, step, ckpt)
        step += 1
        n_steps += 1
        if step % c["log_every"] == 0 or step in (c["vae_steps"], total):
            dt = time.perf_counter() - t0
            log.append({"step": step, **{k: round(v, 6) for k, v in vals.items()},
                        "s_per_step": round(dt / max(n_steps, 1), 4)})
            t0, n_steps = time.perf_counter(), 0
            bar.set_postfix({k: f"{v:.4f}" for k, v in vals.items()})
        bar.update(1)
        if step % c["checkpoint_every"] == 0 and step < total:
            save_ckpt()
    bar.close()
    if not c["steps"]:
        model.scaling.fill_(latent_scale(model.vae, images, c, device))
    return _save(model, tok, sched, meta, log, out, device)


def _build(c: dict, vocab: int, device):
    """The model (seeded by the config, the global RNG untouched), its noise schedule and its two optimizers."""
    from diffusers import DDPMScheduler

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(c["seed"])
        model = T2IModel(c, vocab).to(device)
    sched = DDPMScheduler(num_train_timesteps=c["train_timesteps"], beta_schedule="scaled_linear",
                          beta_start=0.00085, beta_end=0.012, clip_sample=False, steps_offset=1)
    opts = {"vae": adam(model.vae.parameters(), decoupled=True, lr=c["vae_lr"], weight_decay=0.0),
            "main": adam(list(model.unet.parameters()) + list(model.text_encoder.parameters()), decoupled=True,
                         lr=c["lr"], weight_decay=1e-2)}
    return model, sched, opts


def t2i_settings(config: dict | None) -> dict:
    """The pretraining settings over T2I_DEFAULTS, checked."""
    config = dict(config or {})
    unknown = set(config) - set(T2I_DEFAULTS)
    if unknown:
        raise GenmixError(f"pretrain-t2i: unknown setting(s) {sorted(unknown)} (known: {sorted(T2I_DEFAULTS)})")
    c = {**T2I_DEFAULTS, **config}
    if not 0 <= c["caption_dropout"] < 1:
        raise GenmixError(f"pretrain-t2i: caption_dropout must be in [0, 1), got {c['caption_dropout']}")
    return c


def _save(model, tok, sched, meta, log, out: Path, device):
    from diffusers import DDIMScheduler, DiffusionPipeline, StableDiffusionPipeline

    model = model.cpu().eval()
    model.vae.register_to_config(scaling_factor=float(model.scaling))
    pipe = StableDiffusionPipeline(vae=model.vae, text_encoder=model.text_encoder, tokenizer=tok, unet=model.ema,
                                   scheduler=DDIMScheduler.from_config(sched.config), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(str(out), safe_serialization=True)
    from ..generate.fit import write_log

    write_log(out / "log.csv", log)
    last = {}
    for row in log:
        last.update({k: v for k, v in row.items() if k not in ("step", "s_per_step")})
    c = meta["config"]
    loaded = DiffusionPipeline.from_pretrained(str(out))  # the grid is drawn by the saved pipeline itself
    grid = sample_grid(loaded, meta["captions"], c["samples_per_caption"], c["sample_steps"], c["guidance_scale"],
                       c["seed"])
    from torchvision.utils import save_image

    save_image(grid, str(out / "samples.png"), nrow=c["samples_per_caption"], padding=1)
    meta = {**meta, "steps_done": c["vae_steps"] + c["steps"], "final_losses": last,
            "s_per_step": {"vae": _mean_rate(log, "vae_mse"), "unet": _mean_rate(log, "unet_mse")},
            "scaling_factor": float(model.scaling)}
    _write_card(out, meta)
    (out / METADATA).write_text(json.dumps(meta, indent=2))  # last: its presence marks a finished model
    (out / "checkpoint.safetensors").unlink(missing_ok=True)
    return meta


def _mean_rate(log, key):
    rows = [r["s_per_step"] for r in log if key in r]
    return round(sum(rows) / len(rows), 4) if rows else None


@torch.no_grad()
def generate(pipe, prompts: list[str], seed: int = 0, steps: int = 25, guidance_scale: float = 3.0,
             batch_size: int = 32) -> torch.Tensor:
    """Images for ``prompts`` from a text-to-image pipeline, float (N,3,H,W) in [0,1]."""
    out = []
    g = torch.Generator().manual_seed(seed)
    for i in range(0, len(prompts), batch_size):
        r = pipe(prompt=prompts[i:i + batch_size], num_inference_steps=steps, guidance_scale=guidance_scale,
                 generator=g, output_type="pt")
        out.append(r.images.float().cpu().clamp(0, 1))
    return torch.cat(out)


def sample_grid(pipe, captions, n, steps, guidance_scale, seed):
    pipe.set_progress_bar_config(disable=True)
    return generate(pipe, [c for c in captions for _ in range(n)], seed, steps, guidance_scale)


def _write_card(out: Path, meta: dict):
    c = meta["config"]
    lines = [
        "---", "library_name: diffusers", "pipeline_tag: text-to-image", "tags: [genmix, medical, text-to-image]", "---",
        "", "# genmix text-to-image model (pretrained from public data)", "",
        f"A small latent diffusion model (`StableDiffusionPipeline` layout) written by `genmix pretrain-t2i` "
        f"(genmix {meta['genmix_version']}), {c['image_size']} px, 3 channels. Load it with "
        "`DiffusionPipeline.from_pretrained(<this folder>)`.", "",
        "## Corpus", "",
        *[f"- `{s}`" for s in meta["corpus"]],
        "", f"Training splits only: {meta['train_images']} images (fingerprint {meta['corpus_fingerprint']}).",
        "", "## Exclusions", "",
        (f"Target `{meta['exclude_target']}`: excluded " + (", ".join(f"`{s}`" for s in meta["excluded"]) or "nothing")
         + " (shared source). genmix refuses this model for any data sharing a source with the corpus above."
         if meta["exclude_target"] else "No target was excluded; genmix refuses this model for data sharing a "
         "source with the corpus above."),
        "", "## Training", "",
        f"- VAE (AutoencoderKL, channels {c['vae_channels']}, {c['latent_channels']} latent channels): "
        f"{c['vae_steps']} steps, lr {c['vae_lr']}, MSE + {c['kl_weight']} x KL; scaling_factor "
        f"{meta['scaling_factor']:.4f}",
        f"- UNet2DConditionModel (channels {c['unet_channels']}) + CLIPTextModel ({c['text_layers']} layers, "
        f"width {c['text_dim']}) jointly: {c['steps']} steps, batch {c['batch_size']}, lr {c['lr']}, "
        f"caption dropout {c['caption_dropout']}, EMA {c['ema_decay']}",
        f"- final losses: {', '.join(f'{k} {v:.4f}' for k, v in meta['final_losses'].items())}",
        f"- wall seconds per step (mean over the logged intervals, on the machine as it was loaded): "
        f"{meta['s_per_step']}",
        "", "## Samples", "",
        f"`samples.png`: one row per caption, {c['samples_per_caption']} samples each (DDIM {c['sample_steps']} "
        f"steps, guidance {c['guidance_scale']}), rows in this order:", "",
        *[f"{i + 1}. {cap}" for i, cap in enumerate(meta["captions"])], "",
    ]
    (out / "README.md").write_text("\n".join(lines))
