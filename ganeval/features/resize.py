"""The resizes in front of the feature networks, each named after the implementation it reproduces.

Every function takes uint8 NCHW RGB and treats each image on its own, so a batch never changes an image's result.

    pil_bicubic          PIL's BICUBIC on 8-bit RGB images: dgm-eval's DINOv2 transform (torchvision `Resize` on a
                         PIL image), EDM2's DINOv2 detector with resize_mode='pil'. PIL resamples in two separable
                         passes (horizontal, then vertical) with 8-bit fixed-point weights and rounds and clips to
                         0..255 after each pass; the result is uint8.
    torch_bicubic_aa     torch's `interpolate(mode='bicubic', antialias=True)` on float pixels: EDM2's default
                         DINOv2 resize. Its kernel is PIL's (a = -0.5, support widened by the scale when shrinking),
                         evaluated in float without rounding or clipping: it equals PIL's BICUBIC on 32-bit float
                         ('F' mode) images to ~3e-3 gray levels, and differs from `pil_bicubic` by the rounding
                         (up to 1 level) and by the clipping of overshoots (a few levels next to hard edges).
    clip_resize_crop     clean-fid's CLIP transform: torchvision `Resize(224, BICUBIC)` (shorter side to 224, PIL
                         BICUBIC on 8-bit images) and `CenterCrop(224)` (cleanfid/clip_features.py,
                         https://github.com/GaParmar/clean-fid), done with PIL directly (torchvision's import
                         costs seconds, and nothing else in ganeval's metric path needs it).

docs/feature-networks.md compares them with measured numbers.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def _pil_images(img_uint8: torch.Tensor):
    if img_uint8.dtype != torch.uint8 or img_uint8.ndim != 4 or img_uint8.shape[1] != 3:
        raise TypeError(f"expected uint8 RGB images [N, 3, H, W], got {img_uint8.dtype} {tuple(img_uint8.shape)}")
    arr = img_uint8.permute(0, 2, 3, 1).cpu().numpy()
    return [Image.fromarray(a, "RGB") for a in arr]


def _stack(images, device) -> torch.Tensor:
    arr = np.stack([np.asarray(im, dtype=np.uint8) for im in images])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous().to(device)


def pil_bicubic(img_uint8: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 NCHW -> uint8 [N, 3, size, size], PIL's BICUBIC per image (on the CPU, back on the input's device)."""
    out = [im.resize((size, size), Image.Resampling.BICUBIC) for im in _pil_images(img_uint8)]
    return _stack(out, img_uint8.device)


def torch_bicubic_aa(img_uint8: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 NCHW -> float32 [N, C, size, size] in (about) 0..255, neither rounded nor clipped."""
    # At the same size the kernel is 1 at offset 0 and 0 at the other integers: the exact identity.
    x = img_uint8.to(torch.float32)
    return F.interpolate(x, size=(size, size), mode="bicubic", antialias=True, align_corners=False)


def clip_resize_crop(img_uint8: torch.Tensor, size: int = 224) -> torch.Tensor:
    """uint8 NCHW -> uint8 [N, 3, size, size]: shorter side to `size` (PIL BICUBIC), then the central square.

    The sizes are torchvision's: `Resize(size)` makes the longer side int(size * long / short) and hands PIL the
    8-bit image; `CenterCrop(size)` starts at int(round((side - size) / 2)) (Python's round, halves to even)."""
    out = []
    for im in _pil_images(img_uint8):
        w, h = im.size
        long = int(size * max(w, h) / min(w, h))
        new_w, new_h = (size, long) if w <= h else (long, size)
        if (new_w, new_h) != (w, h):
            im = im.resize((new_w, new_h), Image.Resampling.BICUBIC)
        left, top = int(round((new_w - size) / 2.0)), int(round((new_h - size) / 2.0))
        out.append(im.crop((left, top, left + size, top + size)))
    return _stack(out, img_uint8.device)
