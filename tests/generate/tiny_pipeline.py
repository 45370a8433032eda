"""A tiny Stable-Diffusion-style pipeline built from configs, fully offline: byte-level BPE CLIP
tokenizer written from a local vocab.json + merges.txt, a 2-layer CLIP text encoder, a small
AutoencoderKL and UNet2DConditionModel, random weights. Saved with save_pretrained so the
textual-inversion code loads it exactly as it loads a real hub pipeline."""

from pathlib import Path


def _tiny_vae_unet():
    """A 16 px AutoencoderKL (latents 4 x 8 x 8) and a cross-attention UNet for 32-dim text states."""
    from diffusers import AutoencoderKL, UNet2DConditionModel

    vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 2,
                        up_block_types=["UpDecoderBlock2D"] * 2, block_out_channels=[16, 32], latent_channels=4,
                        norm_num_groups=8, sample_size=16)
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=(16, 32), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
                                norm_num_groups=8, attention_head_dim=4)
    return vae, unet


def build_tiny_sd(folder: Path, seed: int = 0) -> Path:
    import torch
    from diffusers import DDPMScheduler, StableDiffusionPipeline
    from transformers import CLIPTextConfig, CLIPTextModel

    from genmix.pretrain.tokenizer import write_tokenizer

    folder = Path(folder)
    torch.manual_seed(seed)
    tok = write_tokenizer(folder / "_tok", ["tissue", "image", "scan", "medical"], 77)  # each word one token
    n = len(tok)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=n, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=4, max_position_embeddings=77,
                                        bos_token_id=n - 2, eos_token_id=n - 1, pad_token_id=n - 1))
    vae, unet = _tiny_vae_unet()
    sched = DDPMScheduler(num_train_timesteps=100, beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                          steps_offset=1, clip_sample=False)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet, scheduler=sched,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(str(folder / "pipe"))
    return folder / "pipe"


def _tiny_vq():
    """A 16 px VQModel (latents 4 x 8 x 8, 32-entry codebook) in the same place as the KL autoencoder."""
    from diffusers import VQModel

    return VQModel(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 2,
                   up_block_types=["UpDecoderBlock2D"] * 2, block_out_channels=[16, 32], latent_channels=4,
                   num_vq_embeddings=32, vq_embed_dim=4, norm_num_groups=8, sample_size=16)


def build_tiny_ldm(folder: Path, seed: int = 0, vq: bool = False) -> Path:
    """The LDM text-to-image layout of CompVis/ldm-text2im-large-256 (LDMBert + BERT tokenizer, ``vqvae``:
    an AutoencoderKL as in that checkpoint, or a VQModel with ``vq=True``)."""
    import torch
    from diffusers import DDIMScheduler, LDMTextToImagePipeline
    from diffusers.pipelines.latent_diffusion.pipeline_latent_diffusion import LDMBertConfig, LDMBertModel
    from transformers import BertTokenizer

    folder = Path(folder)
    torch.manual_seed(seed)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "medical", "image", "of", "tissue", "scan", "an",
             "grayscale", "showing", "close", "-", "up", "cropped"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    tok = BertTokenizer(str(folder / "vocab.txt"))
    bert = LDMBertModel(LDMBertConfig(vocab_size=len(words), d_model=32, encoder_layers=2, encoder_ffn_dim=64,
                                      encoder_attention_heads=4, head_dim=8, max_position_embeddings=77))
    vae, unet = _tiny_vae_unet()
    if vq:
        vae = _tiny_vq()
    sched = DDIMScheduler(num_train_timesteps=100, beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                          clip_sample=False, steps_offset=1)
    LDMTextToImagePipeline(vqvae=vae, bert=bert, tokenizer=tok, unet=unet, scheduler=sched).save_pretrained(
        str(folder / "pipe"))
    return folder / "pipe"
