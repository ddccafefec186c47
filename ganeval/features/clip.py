"""CLIP ViT-B/32 image embeddings (512-d) for CLIP-FID, the protocol of clean-fid's `model_name="clip_vit_b_32"`.

The protocol (cleanfid/clip_features.py, https://github.com/GaParmar/clean-fid): uint8 RGB -> torchvision
`Resize(224, BICUBIC)` on a PIL image (shorter side to 224, PIL's 8-bit BICUBIC) -> `CenterCrop(224)` -> / 255 ->
OpenAI's CLIP mean and std -> `model.encode_image` of OpenAI's ViT-B/32: the class token after `ln_post`, times
the projection `visual.proj`. The embedding is NOT normalised to unit length (clean-fid takes it as it comes).

The network is open_clip's `ViT-B-32` with QuickGELU, the activation OpenAI trained with (open_clip's plain
`ViT-B-32` config uses nn.GELU; its 'openai' tag turns QuickGELU on). Only the image tower is kept. The weights
are OpenAI's, as open_clip converted them (`open_clip_model.safetensors` of the Hugging Face repository
timm/vit_base_patch32_clip_224.openai): read with safetensors, or with torch.load(weights_only=True) for the
`open_clip_pytorch_model.bin` of the same repository. OpenAI's own `ViT-B-32.pt` is a TorchScript archive, which only
torch.jit.load reads, compiling code from the file: ganeval refuses it (torch.load(weights_only=True) does).
"""

from __future__ import annotations

import contextlib
import logging
import os

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from ..images import to_rgb
from . import weights as weights_registry
from .resize import clip_resize_crop

NAME = "clip-vitb32"
WEIGHTS = "clip-vitb32"
FEATURE_DIM = 512
IMG_SIZE = 224
OPEN_CLIP_MODEL = "ViT-B-32"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)   # OpenAI's, as in clean-fid's CLIP_fx
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
_EXPECT = ("visual.conv1.weight", "visual.class_embedding", "visual.proj")


class CLIPFeatures(nn.Module):
    """uint8 NCHW -> float32 [N, 512]: clean-fid's resize and crop, CLIP normalisation, the projected class token."""

    name = NAME

    def __init__(self, visual: nn.Module):
        super().__init__()
        self.visual = visual.eval().requires_grad_(False)
        self.dim = visual.output_dim        # 512 for ViT-B/32
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).reshape(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).reshape(1, 3, 1, 1), persistent=False)

    def preprocess(self, img_uint8: torch.Tensor) -> torch.Tensor:
        """uint8 NCHW -> the network's float input [N, 3, 224, 224]."""
        if img_uint8.dtype != torch.uint8:
            raise TypeError("CLIPFeatures expects uint8 images (use ganeval.images.to_uint8)")
        x = clip_resize_crop(to_rgb(img_uint8), IMG_SIZE).to(self.mean.device, torch.float32)
        return (x / 255 - self.mean) / self.std

    @torch.no_grad()
    def forward(self, img_uint8: torch.Tensor) -> torch.Tensor:
        return self.visual(self.preprocess(img_uint8)).float()


@contextlib.contextmanager
def _quiet_root_logger():
    """open_clip logs 'No pretrained weights loaded' on the root logger when built without weights, as intended."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def build_clip(model_cfg: dict | None = None, device: torch.device | str = "meta") -> nn.Module:
    """open_clip's ViT-B/32 CLIP with QuickGELU and no weights; `model_cfg` overrides its config (tests use small
    towers). Built on the meta device by default: the weights are assigned from the file."""
    import open_clip

    with _quiet_root_logger(), torch.device(device):
        return open_clip.create_model(OPEN_CLIP_MODEL, pretrained=None, force_quick_gelu=True, device=device,
                                      **(model_cfg or {}))


def read_weights(path: str | os.PathLike) -> dict:
    """The state dict of a safetensors file, or of a torch zip file read with weights_only=True; one line otherwise."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic.startswith(b"PK"):   # torch.save's zip format (open_clip_pytorch_model.bin); TorchScript is refused there
        return weights_registry.read_state_dict(path, WEIGHTS, expect=_EXPECT)
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise weights_registry.WeightsFileError(f"{path}: not a readable weight file ({type(e).__name__}: {first}); "
                                                f"get a good copy with `ganeval weights fetch {WEIGHTS}`") from None
    missing = [k for k in _EXPECT if k not in state]
    if missing:
        raise weights_registry.WeightsFileError(f"{path}: not the weights of {WEIGHTS} (no '{missing[0]}'); "
                                                f"get a good copy with `ganeval weights fetch {WEIGHTS}`")
    return state


_CACHE: dict = {}


def load_clip(device: torch.device | str = "cpu", path: str | os.PathLike | None = None,
              model_cfg: dict | None = None) -> CLIPFeatures:
    """CLIP ViT-B/32 image features with the weights from `path` or the registry ('clip-vitb32'); one instance is
    kept per file and device."""
    file = weights_registry.locate(path if path is not None else WEIGHTS)
    key = (str(file), os.stat(file).st_mtime_ns, str(device), repr(sorted((model_cfg or {}).items())))
    if key not in _CACHE:
        state = read_weights(file)
        visual = build_clip(model_cfg).visual
        tower = {k.removeprefix("visual."): v for k, v in state.items() if k.startswith("visual.")}
        weights_registry.load_into(visual, tower, file, WEIGHTS, assign=True)
        _CACHE.clear()
        _CACHE[key] = CLIPFeatures(visual).to(device)
    return _CACHE[key]
