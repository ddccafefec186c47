"""Image conventions in one place: generator float [-1, 1] <-> uint8, grids, PNG I/O."""

from __future__ import annotations

import math
import os

import numpy as np
import torch
from PIL import Image

from .utils import atomic_write


def to_uint8(img: torch.Tensor) -> torch.Tensor:
    """Float NCHW in nominal [-1, 1] -> uint8 NCHW, rounding as NVIDIA does (x*127.5 + 128, clamp, floor)."""
    return (img.float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)


def from_uint8(img: torch.Tensor) -> torch.Tensor:
    """uint8 NCHW -> float NCHW in [-1, 1]."""
    return img.float() / 127.5 - 1


def to_rgb(img: torch.Tensor) -> torch.Tensor:
    """NCHW with one channel -> three equal channels (as NVIDIA's metrics feed grayscale to RGB networks);
    any other channel count unchanged."""
    return img.repeat(1, 3, 1, 1) if img.shape[1] == 1 else img


def box_downsample(img: torch.Tensor, size: int) -> torch.Tensor:
    """Average-pool an NCHW batch down to `size` by an integer factor (NVIDIA's reshape-mean box filter)."""
    h = img.shape[-1]
    if h <= size:
        return img
    if h % size:
        raise ValueError(f"cannot box-downsample {h} px to {size} px: not an integer factor")
    f = h // size
    n, c, hh, ww = img.shape
    return img.reshape(n, c, hh // f, f, ww // f, f).mean(dim=(3, 5))


def make_grid(images: torch.Tensor, nrow: int | None = None) -> np.ndarray:
    """uint8 or float NCHW -> HWC uint8 grid with `nrow` images per row (default: square-ish)."""
    if images.dtype != torch.uint8:
        images = to_uint8(images)
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol_rows = math.ceil(n / nrow)
    grid = torch.zeros((ncol_rows * h, nrow * w, c), dtype=torch.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        grid[r * h:(r + 1) * h, col * w:(col + 1) * w] = images[i].permute(1, 2, 0).cpu()
    arr = grid.numpy()
    return arr[..., 0] if c == 1 else arr


def save_png(array: np.ndarray, path: str | os.PathLike) -> None:
    """Write an HWC / HW uint8 array as PNG, atomically."""
    with atomic_write(path, suffix=".png") as tmp:
        Image.fromarray(array).save(tmp, format="PNG")


def save_image_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int | None = None) -> None:
    save_png(make_grid(images, nrow), path)
