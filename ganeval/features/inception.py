"""Inception-v3 pool features for FID/KID: torch-fidelity's port of TF "inception-2015-12-05".

ganeval uses torch-fidelity's network ('inception-v3-compat': TF1-exact bilinear resize to 299
inside, (x - 128) / 128, 2048-d pool3 features) but never lets it download or unpickle: the module
is built empty and its state dict is read with ``torch.load(weights_only=True)`` from the file the
weights registry locates. Input: uint8 NCHW (grayscale is repeated to RGB); output float32 [N, 2048].
"""

from __future__ import annotations

import io
import math
import os

import torch
from torch import nn

from ..images import to_rgb
from ..utils import atomic_write
from . import weights as weights_registry

NAME = "inception-v3-compat"
FEATURE_DIM = 2048


def _empty_state_file() -> io.BytesIO:
    buf = io.BytesIO()
    torch.save({}, buf)
    buf.seek(0)
    return buf


def _build_module() -> nn.Module:
    """torch-fidelity's FeatureExtractorInceptionV3 with no weights loaded (nothing downloaded or unpickled)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class _Inception(FeatureExtractorInceptionV3):
        _constructing = True

        def load_state_dict(self, state_dict, strict=True, assign=False):
            if self._constructing:  # the placeholder {} handed to __init__
                return None
            return super().load_state_dict(state_dict, strict=strict, assign=assign)

    # torch-fidelity torch.load()s `feature_extractor_weights_path`; give it an in-memory empty dict.
    m = _Inception(NAME, ["2048"], feature_extractor_weights_path=_empty_state_file())
    m._constructing = False
    return m


class InceptionFeatures(nn.Module):
    """uint8 NCHW -> float32 [N, 2048] pool features."""

    name = NAME
    dim = FEATURE_DIM

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net.eval().requires_grad_(False)

    @torch.no_grad()
    def forward(self, img_uint8: torch.Tensor) -> torch.Tensor:
        if img_uint8.dtype != torch.uint8:
            raise TypeError("InceptionFeatures expects uint8 images (use ganeval.images.to_uint8)")
        return self.net(to_rgb(img_uint8))[0].float()


_CACHE: dict = {}


def load_inception(device: torch.device | str = "cpu", path: str | os.PathLike | None = None) -> InceptionFeatures:
    """Inception features with the weights from `path` or the registry ('inception-v3-compat').

    One instance is kept per (file, modification time, device), so sweeps do not rebuild it."""
    file = weights_registry.locate(path if path is not None else NAME)
    key = (str(file), os.stat(file).st_mtime_ns, str(device))
    if key not in _CACHE:
        state = weights_registry.read_state_dict(file, NAME)
        net = _build_module()
        try:
            net.load_state_dict(state)
        except RuntimeError as e:   # another network's state dict, or a damaged one
            raise weights_registry.WeightsFileError(f"{file}: not the weights of {NAME} "
                                                    f"({str(e).splitlines()[0][:160]})") from None
        _CACHE.clear()
        _CACHE[key] = InceptionFeatures(net).to(device)
    return _CACHE[key]


def write_standin_weights(path: str | os.PathLike, seed: int = 0) -> None:
    """Write a RANDOM Inception state dict with non-degenerate features (tests and benchmarks only).

    Default init makes activations vanish through the depth (features ~1e-8, FID ~0); Kaiming conv
    weights and fc std 1/sqrt(2048) keep them alive (measured on the torch-fidelity network: FID 10.8 instead of ~1e-16
    on 64 random vs darkened images).
    """
    torch.manual_seed(seed)
    net = _build_module()
    for name, p in net.named_parameters():
        if name.endswith("conv.weight"):
            nn.init.kaiming_normal_(p, nonlinearity="relu")
    nn.init.normal_(net.fc.weight, std=1 / math.sqrt(2048))

    with atomic_write(path) as tmp:
        torch.save(net.state_dict(), tmp)
