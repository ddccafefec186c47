"""Distances that are a quadratic form of a feature difference: what the derivative of PPL needs from them.

LPIPS (Zhang et al. 2018, eq. 1), the bundled synth-lpips and the pixel MSE all read

    d(x, y) = Q(F(x) - F(y)),    Q(δ) = Σ_l mean_hw Σ_c w_lc δ_lchw²,

with F a list of per-layer features (for the two LPIPS: activations whose channel vector is scaled to unit
length) and Q a quadratic form (LPIPS v0.1: w_l >= 0, the learned 1 x 1 heads; synth-lpips and MSE: uniform
weights). For y = x + ε v, F(y) - F(x) = ε J_F(x) v + O(ε²), so

    d(x, x + ε v) / ε²  ->  Q(J_F(x) v)    as ε -> 0,

which is PPL's integrand (Karras et al. 2019, §4.2) without the finite difference: ganeval.metrics.ppl with
method='jvp' pushes the tangent v = dG/dt through F by forward-mode AD and applies Q to the feature tangents.
A distance offers this by having the two methods of `QuadraticDistance`; the contract is that calling it on
(x, y) equals `quadratic([a - b for a, b in zip(features(x), features(y))])`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class QuadraticDistance(Protocol):
    """A pair distance d(x, y) = quadratic(features(x) - features(y)), layer by layer."""

    def features(self, img: torch.Tensor) -> list[torch.Tensor]:
        """Float NCHW images in [-1, 1] -> the per-layer features the distance compares, each [N, ...]."""
        ...

    def quadratic(self, diffs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Per-layer feature differences (or tangents), shaped as `features` returns them -> Q per pair [N]."""
        ...


def unit_normalize(x: torch.Tensor, dim: int = 1, eps: float = 1e-10) -> torch.Tensor:
    """x / (sqrt(Σ_dim x²) + eps), as lpips' `normalize_tensor` (lpips/__init__.py), differentiable where x = 0.

    The values are those of the plain formula. Only the derivative differs where every entry along `dim` is 0
    (a position where all channels of a ReLU layer are off): forward-mode AD of sqrt at 0 gives 0 * inf = NaN,
    whereas the features there are 0 on a whole neighbourhood and their derivative is 0. The inner `where`
    keeps sqrt away from 0, the outer one puts the norm 0 back.
    """
    s = x.square().sum(dim=dim, keepdim=True)
    on = s > 0
    norm = torch.where(on, torch.where(on, s, 1).sqrt(), 0)
    return x / (norm + eps)


class PixelMSE:
    """Pixel mean squared error per pair, `(img0, img1) -> [N]`: a distance for tests and quick looks. As a
    quadratic form: F is the image itself, Q the mean of the squares."""

    name = "mse"

    def __call__(self, img0: torch.Tensor, img1: torch.Tensor) -> torch.Tensor:
        return self.quadratic([img0 - img1])

    def features(self, img: torch.Tensor) -> list[torch.Tensor]:
        return [img]

    def quadratic(self, diffs: Sequence[torch.Tensor]) -> torch.Tensor:
        (d,) = diffs
        return d.square().flatten(1).mean(dim=1)
