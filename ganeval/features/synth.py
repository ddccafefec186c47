"""Feature networks of the synthetic benchmark, built on the bundled attribute-classifier trunk.

Offline, neither VGG16 (LPIPS) nor Inception (FID) weights exist; the embedded demo measures PPL
and FID on synthfaces with these two instead, and every result row names them
('synth-lpips', 'synth-fd'), so they are never confused with the paper metrics.

* synth-lpips: an LPIPS-like distance (Zhang et al. 2018) over the classifier trunk. Per layer:
  unit-normalise the channel vector of each of the 40 networks at every position, squared
  difference summed over its channels, mean over positions and networks; layers summed with
  uniform weights (no learned linear heads).
* synth-fd: pooled features for a Frechet distance: global average of each network's last
  convolutional block, concatenated (40 x 32 = 1280 dimensions for the bundled suite).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from ..images import to_rgb
from .attributes import AttributeClassifiers, load_classifiers
from .quadratic import unit_normalize


def _unit(x: torch.Tensor, groups: int, eps: float = 1e-10) -> torch.Tensor:
    """[N, G*c, H, W] -> [N, G, c, H, W] with each network's channel vector of unit length."""
    n, gc, h, w = x.shape
    return unit_normalize(x.reshape(n, groups, gc // groups, h, w), dim=2, eps=eps)


class SynthLPIPS(nn.Module):
    """`distance(img0, img1) -> Tensor[N]` for float images in [-1, 1] (any size; see `prepare`).

    A quadratic form of a feature difference (features/quadratic.py): `features` and `quadratic` are the two
    halves of `distance`, which PPL's method='jvp' uses separately.
    """

    name = "synth-lpips"

    def __init__(self, classifiers: AttributeClassifiers):
        super().__init__()
        self.net = classifiers.eval().requires_grad_(False)

    def features(self, img: torch.Tensor) -> list[torch.Tensor]:
        """Per trunk layer, [N, G, c, H, W]: each network's channel vector at each position, unit length."""
        return [_unit(a, self.net.num_attrs) for a in self.net.trunk(img)]

    def quadratic(self, diffs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Σ_layers mean over networks and positions of Σ_channels δ², for feature differences δ [N]."""
        return sum(d.square().sum(dim=2).mean(dim=(1, 2, 3)) for d in diffs)

    def distance(self, img0: torch.Tensor, img1: torch.Tensor) -> torch.Tensor:
        if img0.shape != img1.shape:
            raise ValueError(f"image shapes differ: {tuple(img0.shape)} vs {tuple(img1.shape)}")
        return self.quadratic([a - b for a, b in zip(self.features(img0), self.features(img1))])

    def forward(self, img0: torch.Tensor, img1: torch.Tensor) -> torch.Tensor:
        return self.distance(img0, img1)


class SynthFD(nn.Module):
    """`features(img_uint8 NCHW) -> float Tensor[N, D]` (D = 40 x channels of the last block)."""

    name = "synth-fd"

    def __init__(self, classifiers: AttributeClassifiers):
        super().__init__()
        self.net = classifiers.eval().requires_grad_(False)
        self.dim = self.net.num_attrs * self.net.channels[-1]

    def features(self, img: torch.Tensor) -> torch.Tensor:
        if img.dtype != torch.uint8:
            raise ValueError(f"synth-fd expects uint8 images, got {img.dtype}")
        img = to_rgb(img)
        x = img.float() / 127.5 - 1
        return self.net.trunk(x)[-1].mean(dim=(2, 3)).float()

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.features(img)


def synth_lpips(device=None, classifiers: str = "synthfaces-classifiers") -> SynthLPIPS:
    """The 'synth-lpips' distance on the bundled classifiers (or another classifier file)."""
    return SynthLPIPS(load_classifiers(classifiers, device=device or "cpu"))


def synth_fd(device=None, classifiers: str = "synthfaces-classifiers") -> SynthFD:
    """The 'synth-fd' feature extractor on the bundled classifiers (or another classifier file)."""
    return SynthFD(load_classifiers(classifiers, device=device or "cpu"))
