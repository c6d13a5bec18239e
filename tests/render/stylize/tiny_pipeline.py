"""A tiny random-weight Stable Diffusion + ControlNet, built in code and saved to disk.

No network and no downloaded weights: UNet, VAE, CLIP text encoder, a byte-level CLIP
tokenizer and ControlNets are made from small configs (see ENV.md). Shared by the tests and
``bench/coherence.py``.
"""

from __future__ import annotations

import json
from pathlib import Path


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's reversible byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def _tokenizer(folder: Path):
    from transformers import CLIPTokenizer

    chars = list(_bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": i + len(chars) for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"),
                         model_max_length=77)


def build_tiny_models(root: Path, *, controls: tuple[str, ...] = ("depth",), seed: int = 0
                      ) -> tuple[Path, dict[str, Path]]:
    """Save a tiny pipeline to ``root/model`` and one ControlNet per kind to ``root/cn-KIND``.

    ControlNets get random (not zero) output convolutions so their conditioning matters.
    Returns (model folder, {kind: controlnet folder}).
    """
    import torch
    from diffusers import (
        AutoencoderKL,
        ControlNetModel,
        DDIMScheduler,
        StableDiffusionImg2ImgPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
        norm_num_groups=16, attention_head_dim=4)
    vae = AutoencoderKL(
        block_out_channels=(16, 32), in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), norm_num_groups=16)
    text = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=2, hidden_size=32, intermediate_size=37,
        layer_norm_eps=1e-5, num_attention_heads=4, num_hidden_layers=2, pad_token_id=1,
        vocab_size=1000))
    root = Path(root)
    tokenizer = _tokenizer(root / "_vocab")
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionImg2ImgPipeline(
        vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    model = root / "model"
    pipe.save_pretrained(model)
    nets: dict[str, Path] = {}
    for i, kind in enumerate(controls):
        torch.manual_seed(seed + 1 + i)
        net = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(16, 32))
        with torch.no_grad():
            # from_unet zero-initialises these, which would make the control a no-op.
            for conv in [*net.controlnet_down_blocks, net.controlnet_mid_block,
                         net.controlnet_cond_embedding.conv_out]:
                conv.weight.normal_(0.0, 0.3)
                conv.bias.normal_(0.0, 0.05)
        nets[kind] = root / f"cn-{kind}"
        net.save_pretrained(nets[kind])
    return model, nets


def build_tiny_ip_adapter(root: Path, model: Path, *, seed: int = 0) -> Path:
    """A random-weight plain IP-Adapter for the tiny UNet at ``root``, laid out as
    ``h94/IP-Adapter``: ``models/ip-adapter_sd15.safetensors`` (``image_proj.proj`` +
    ``ip_adapter.N.to_k_ip/to_v_ip`` for every cross-attention, N = 1, 3, 5...) and a tiny
    CLIPVisionModelWithProjection in ``models/image_encoder``. Returns ``root``."""
    import torch
    from diffusers import UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_pretrained(model / "unet")
    cross, dim = unet.config.cross_attention_dim, 32
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, intermediate_size=37, projection_dim=dim, num_hidden_layers=2,
        num_attention_heads=4, image_size=32, patch_size=8))
    state = {"image_proj.proj.weight": torch.randn(4 * cross, dim) * 0.5,
             "image_proj.proj.bias": torch.randn(4 * cross) * 0.1,
             "image_proj.norm.weight": torch.ones(cross),
             "image_proj.norm.bias": torch.zeros(cross)}
    key_id = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        block = name.split(".")[0]
        sizes = unet.config.block_out_channels
        if block == "mid_block":
            hidden = sizes[-1]
        elif block == "up_blocks":
            hidden = list(reversed(sizes))[int(name.split(".")[1])]
        else:
            hidden = sizes[int(name.split(".")[1])]
        for kv in ("to_k_ip", "to_v_ip"):
            state[f"ip_adapter.{key_id}.{kv}.weight"] = torch.randn(hidden, cross) * 0.5
        key_id += 2
    models = Path(root) / "models"
    models.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()},
              str(models / "ip-adapter_sd15.safetensors"))
    encoder.save_pretrained(models / "image_encoder")
    return Path(root)
