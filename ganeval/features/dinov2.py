"""DINOv2 ViT-L/14 CLS features (1024-d) for FD_DINOv2, the protocol of dgm-eval and EDM2.

The protocol (EDM2's `DINOv2Detector` in calculate_metrics.py, https://github.com/NVlabs/edm2, "modeled after"
dgm-eval's `DINOv2Encoder`, https://github.com/layer6ai-labs/dgm-eval): uint8 RGB -> bicubic resize to 224 x 224
-> / 255 -> ImageNet mean and std -> the torch.hub model `dinov2_vitl14` -> its output, the CLS token after the
final LayerNorm (the hub model's head is the identity). The owners resize differently (features/resize.py), so
there are two names:

    dinov2-vitl14       torch's antialiased bicubic on float pixels: EDM2's default, hence its published numbers
    dinov2-vitl14-pil   PIL's 8-bit BICUBIC: dgm-eval's default exactly, and EDM2 with resize_mode='pil'

The network is timm's `vit_large_patch14_dinov2` built for 224 px. Meta's torch.hub state dict
(`dinov2_vitl14_pretrain.pth`) is read with torch.load(weights_only=True) and mapped onto it by timm's checkpoint
filter (for this model that drops the unused `mask_token`; every other name is the same).

Positional embedding: the file holds one for 518 px (37 x 37 patches). The hub model resamples it on every call
(`interpolate_pos_encoding`, dinov2/models/vision_transformer.py, https://github.com/facebookresearch/dinov2):
bicubic (a = -0.75) without antialiasing, and with `scale_factor=(16 + 0.1) / 37` instead of `size=16` (a kludge the
owners keep for backward compatibility), so output patch i samples the 37-grid at (i + 0.5) * 37 / 16.1 - 0.5.
`hub_pos_embed` computes exactly that once, at load time. timm's own routes (resampling at load, or
`dynamic_img_size=True`) use `size=16` with antialiasing: on a smooth 37 x 37 field that is a 6 % (relative)
different embedding, so ganeval does not use them.
"""

from __future__ import annotations

import functools
import math
import os

import torch
import torch.nn.functional as F
from torch import nn

from ..images import to_rgb
from . import weights as weights_registry
from .resize import pil_bicubic, torch_bicubic_aa

NAME = "dinov2-vitl14"
NAME_PIL = "dinov2-vitl14-pil"
WEIGHTS = "dinov2-vitl14"            # weights registry name
FEATURE_DIM = 1024
IMG_SIZE = 224
PATCH_SIZE = 14
TIMM_ARCH = "vit_large_patch14_dinov2"
HUB_INTERPOLATE_OFFSET = 0.1         # DinoVisionTransformer(interpolate_offset=0.1) in dinov2/hub/backbones.py
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RESIZES = {"torch": torch_bicubic_aa, "pil": pil_bicubic}

# The official state dict's names that the features need (checked before anything is built).
_EXPECT = ("cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.0.attn.qkv.weight", "norm.weight")


def hub_pos_embed(pos_embed: torch.Tensor, grid: int, offset: float = HUB_INTERPOLATE_OFFSET) -> torch.Tensor:
    """[1, 1 + M*M, D] -> [1, 1 + grid*grid, D]: the hub model's `interpolate_pos_encoding` for a grid x grid input.

    Unchanged when M == grid (the hub returns its own embedding then)."""
    n = pos_embed.shape[1] - 1
    m = math.isqrt(n)
    if m * m != n:
        raise ValueError(f"positional embedding of {n} patches is not a square grid")
    if m == grid:
        return pos_embed
    cls, patches = pos_embed[:, :1].float(), pos_embed[:, 1:].float()
    dim = pos_embed.shape[-1]
    scale = (grid + offset) / m
    patches = F.interpolate(patches.reshape(1, m, m, dim).permute(0, 3, 1, 2), scale_factor=(scale, scale),
                            mode="bicubic", antialias=False)
    if tuple(patches.shape[-2:]) != (grid, grid):
        raise ValueError(f"positional embedding resampled to {tuple(patches.shape[-2:])}, not {grid} x {grid}")
    patches = patches.permute(0, 2, 3, 1).reshape(1, grid * grid, dim)
    return torch.cat([cls, patches], dim=1).to(pos_embed.dtype)


class DINOv2Features(nn.Module):
    """uint8 NCHW -> float32 [N, 1024]: resize to 224, ImageNet normalisation, CLS token after the final norm."""

    def __init__(self, vit: nn.Module, resize: str = "torch"):
        super().__init__()
        if resize not in RESIZES:
            raise ValueError(f"resize must be one of {sorted(RESIZES)}, got '{resize}'")
        self.vit = vit.eval().requires_grad_(False)
        self.dim = vit.num_features        # 1024 for ViT-L
        self.resize = resize
        self.name = NAME if resize == "torch" else NAME_PIL
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1), persistent=False)

    def preprocess(self, img_uint8: torch.Tensor) -> torch.Tensor:
        """uint8 NCHW -> the network's float input [N, 3, 224, 224]."""
        if img_uint8.dtype != torch.uint8:
            raise TypeError("DINOv2Features expects uint8 images (use ganeval.images.to_uint8)")
        x = RESIZES[self.resize](to_rgb(img_uint8), IMG_SIZE).to(self.mean.device, torch.float32)
        return (x / 255 - self.mean) / self.std

    @torch.no_grad()
    def forward(self, img_uint8: torch.Tensor) -> torch.Tensor:
        return self.vit(self.preprocess(img_uint8)).float()


def build_vit(arch: dict | None = None, device: torch.device | str = "meta") -> nn.Module:
    """timm's ViT-L/14 DINOv2 for 224 px without a classifier; `arch` overrides its size (tests use small ones).

    Built on the meta device by default: the weights are assigned from the file, so nothing is initialised."""
    import timm

    with torch.device(device):
        return timm.create_model(TIMM_ARCH, pretrained=False, img_size=IMG_SIZE, num_classes=0, **(arch or {}))


def map_state_dict(state: dict, vit: nn.Module) -> dict:
    """Meta's hub state dict -> timm's names, the positional embedding resampled as the hub model does at 224 px."""
    from timm.models.vision_transformer import checkpoint_filter_fn

    state = dict(state)
    grid = vit.patch_embed.grid_size[0]
    state["pos_embed"] = pos = hub_pos_embed(state["pos_embed"], grid)
    out = checkpoint_filter_fn(state, vit)
    out["pos_embed"] = pos   # whatever timm's filter decides about resampling, the hub's embedding is the one used
    return out


_CACHE: dict = {}


def _load_vit(file, device, arch: dict | None) -> nn.Module:
    key = (str(file), os.stat(file).st_mtime_ns, str(device), repr(sorted((arch or {}).items())))
    if key not in _CACHE:
        state = weights_registry.read_state_dict(file, WEIGHTS, expect=_EXPECT)
        vit = build_vit(arch)
        try:
            mapped = map_state_dict(state, vit)
        except (RuntimeError, ValueError) as e:   # a positional embedding of no square grid, or of another width
            raise weights_registry.WeightsFileError(f"{file}: not the weights of {WEIGHTS} "
                                                    f"({str(e).strip().splitlines()[0][:160]})") from None
        weights_registry.load_into(vit, mapped, file, WEIGHTS, assign=True)
        _CACHE.clear()   # one ViT-L (1.2 GB) at a time
        _CACHE[key] = vit.eval().requires_grad_(False).to(device)
    return _CACHE[key]


def load_dinov2(device: torch.device | str = "cpu", path: str | os.PathLike | None = None, resize: str = "torch",
                arch: dict | None = None) -> DINOv2Features:
    """DINOv2 features with the weights from `path` or the registry ('dinov2-vitl14').

    resize='torch' is EDM2's default, 'pil' dgm-eval's; the network is shared between them (one per file and device).
    """
    if resize not in RESIZES:
        raise ValueError(f"resize must be one of {sorted(RESIZES)}, got '{resize}'")
    file = weights_registry.locate(path if path is not None else WEIGHTS)
    return DINOv2Features(_load_vit(file, device, arch), resize).to(device)


load_dinov2_pil = functools.partial(load_dinov2, resize="pil")
