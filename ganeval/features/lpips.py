"""LPIPS (Zhang et al. 2018), VGG16 trunk, linear heads v0.1: the distance of NVIDIA's PPL.

NVIDIA's TF/TorchScript LPIPS equals Zhang's v0.1 'vgg' LPIPS (torch-fidelity tests it to 1e-5),
so ganeval uses the PyPI `lpips` package on [-1, 1] images. The package would download the
torchvision VGG16 trunk; ganeval builds it with ``pnet_rand=True`` (no download) and loads the trunk
from the file the weights registry locates (``vgg16-397923af.pth``) with ``weights_only=True``.
The linear heads ship inside the `lpips` package.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Sequence

import torch
from torch import nn

from ..errors import MetricError
from ..images import to_rgb
from . import weights as weights_registry
from .quadratic import unit_normalize

NAME = "lpips-vgg16"


class LPIPSDistance(nn.Module):
    """(img0, img1) float NCHW in [-1, 1] -> per-pair LPIPS [N].

    The distance itself is the `lpips` package's `LPIPS.forward`. `features` and `quadratic` split it into
    d(x, y) = quadratic(features(x) - features(y)) (features/quadratic.py) for PPL's method='jvp', step by
    step as `LPIPS.forward` (lpips/lpips.py) computes it: scaling layer (v0.1), trunk, unit-normalised
    channels, squared difference, 1 x 1 linear head, spatial mean, sum over layers.
    """

    name = NAME

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net.eval().requires_grad_(False)

    @staticmethod
    def _check_size(img: torch.Tensor) -> None:
        if min(img.shape[-2:]) < 16:  # VGG16 pools 4 times before relu5_3
            raise MetricError(f"LPIPS-VGG16 needs images of at least 16x16 px, got {tuple(img.shape[-2:])} "
                              f"(a smaller generator, or the face crop; try --no-crop)")

    @torch.no_grad()
    def forward(self, img0: torch.Tensor, img1: torch.Tensor) -> torch.Tensor:
        self._check_size(img0)
        img0, img1 = to_rgb(img0), to_rgb(img1)   # grayscale -> RGB, as ADA does
        return self.net(img0, img1, normalize=False).reshape(img0.shape[0])

    def features(self, img: torch.Tensor) -> list[torch.Tensor]:
        """The trunk's activations (relu1_2 ... relu5_3 for VGG16), each channel vector unit-normalised."""
        self._check_size(img)
        img = to_rgb(img)
        x = self.net.scaling_layer(img) if self.net.version == "0.1" else img
        return [unit_normalize(f) for f in self.net.net(x)]

    def quadratic(self, diffs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Σ_l spatial mean of head_l(δ_l²) per pair [N]. A v0.1 head is a 1 x 1 convolution without bias (plus a
        dropout that eval mode turns off), so this is a quadratic form in δ; without heads (lpips=False) the
        channels are summed."""
        if self.net.lpips:
            return sum(lin(d.square()).mean(dim=(1, 2, 3)) for lin, d in zip(self.net.lins, diffs))
        return sum(d.square().sum(dim=1).mean(dim=(1, 2)) for d in diffs)


def load_vgg16_trunk(net, state: dict) -> None:
    """Copy torchvision `features.<i>.*` tensors into lpips' slice1..slice5 (which hold features[0..29])."""
    for slice_name in ("slice1", "slice2", "slice3", "slice4", "slice5"):
        for idx, module in getattr(net, slice_name).named_children():
            params = {k: state[f"features.{idx}.{k}"] for k, _ in module.named_parameters(recurse=False)}
            if params:
                module.load_state_dict(params)


_CACHE: dict = {}


def load_lpips_vgg16(device: torch.device | str = "cpu", path: str | os.PathLike | None = None) -> LPIPSDistance:
    """LPIPS-VGG16 v0.1 with the trunk from `path` or the registry; one instance is kept per file and device
    (building it constructs a whole torchvision VGG16 first, seconds on a CPU)."""
    file = weights_registry.locate(path if path is not None else "vgg16")
    key = (str(file), os.stat(file).st_mtime_ns, str(device))
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = _build(file).to(device)
    return _CACHE[key]


def _build(file) -> LPIPSDistance:
    import lpips

    # Empty, truncated, random or code-carrying files end in one line naming the file (weights.read_state_dict).
    state = weights_registry.read_state_dict(file, "vgg16", expect=("features.0.weight", "features.28.weight"))
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        model = lpips.LPIPS(net="vgg", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    load_vgg16_trunk(model.net, state)
    return LPIPSDistance(model)
