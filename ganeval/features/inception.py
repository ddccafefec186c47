"""Inception-v3 pool features for FID/KID and logits for the Inception Score: torch-fidelity's port of TF
"inception-2015-12-05".

ganeval uses torch-fidelity's network ('inception-v3-compat': TF1-exact bilinear resize to 299
inside, (x - 128) / 128, 2048-d pool3 features) but never lets it download or unpickle: the module
is built empty and its state dict is read with ``torch.load(weights_only=True)`` from the file the
weights registry locates. Input: uint8 NCHW (grayscale is repeated to RGB); output float32 [N, 2048].

'inception-v3-compat-logits' is the same network and file with torch-fidelity's 'logits_unbiased' output: the
pool features times the 2048 x 1008 softmax weights, WITHOUT the bias, [N, 1008]. That is what the Inception Score
takes the softmax of: Salimans et al.'s TensorFlow code (https://github.com/openai/improved-gan,
inception_score/model.py) multiplies pool3 by the weights of the graph's 'softmax/logits/MatMul' and never adds the
bias, and NVIDIA's IS keeps it so (`no_output_bias=True`, stylegan2-ada-pytorch metrics/inception_score.py,
https://github.com/NVlabs/stylegan2-ada-pytorch). All 1008 outputs of the 2015 graph's softmax layer are kept, as
both do: none is dropped before the softmax.
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
NAME_LOGITS = "inception-v3-compat-logits"
FEATURE_DIM = 2048
NUM_LOGITS = 1008
OUTPUTS = {NAME: ("2048", FEATURE_DIM), NAME_LOGITS: ("logits_unbiased", NUM_LOGITS)}   # torch-fidelity's names


def _empty_state_file() -> io.BytesIO:
    buf = io.BytesIO()
    torch.save({}, buf)
    buf.seek(0)
    return buf


def _build_module(output: str = "2048") -> nn.Module:
    """torch-fidelity's FeatureExtractorInceptionV3 with no weights loaded (nothing downloaded or unpickled), giving
    one of its outputs ('2048' pool features, 'logits_unbiased')."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class _Inception(FeatureExtractorInceptionV3):
        _constructing = True

        def load_state_dict(self, state_dict, strict=True, assign=False):
            if self._constructing:  # the placeholder {} handed to __init__
                return None
            return super().load_state_dict(state_dict, strict=strict, assign=assign)

    # torch-fidelity torch.load()s `feature_extractor_weights_path`; give it an in-memory empty dict.
    m = _Inception(NAME, [output], feature_extractor_weights_path=_empty_state_file())
    m._constructing = False
    return m


class InceptionFeatures(nn.Module):
    """uint8 NCHW -> float32 [N, 2048] pool features, or [N, 1008] unbiased logits (name=NAME_LOGITS)."""

    def __init__(self, net: nn.Module, name: str = NAME):
        super().__init__()
        self.net = net.eval().requires_grad_(False)
        self.name, self.dim = name, OUTPUTS[name][1]

    @torch.no_grad()
    def forward(self, img_uint8: torch.Tensor) -> torch.Tensor:
        if img_uint8.dtype != torch.uint8:
            raise TypeError("InceptionFeatures expects uint8 images (use ganeval.images.to_uint8)")
        return self.net(to_rgb(img_uint8))[0].float()

    @property
    def derived_from(self) -> str | None:
        """The logits are the pool features times the fc weights: a pass that computes the pool features with the
        same file gets them from `derive` without running the network again."""
        return NAME if self.name == NAME_LOGITS else None

    @torch.no_grad()
    def derive(self, pool: torch.Tensor) -> torch.Tensor:
        """Unbiased logits from pool features [N, 2048], the operation torch-fidelity's forward ends with
        (feature_extractor_inceptionv3.py: x.mm(fc.weight.T)), so the numbers are those of `forward`."""
        return pool.mm(self.net.fc.weight.T).float()


_CACHE: dict = {}


def load_inception(device: torch.device | str = "cpu", path: str | os.PathLike | None = None,
                   output: str = NAME) -> InceptionFeatures:
    """Inception features (output=NAME) or unbiased logits (output=NAME_LOGITS) with the weights from `path` or the
    registry ('inception-v3-compat').

    One instance per output is kept for the last (file, modification time, device), so sweeps do not rebuild it."""
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {sorted(OUTPUTS)}, got '{output}'")
    file = weights_registry.locate(path if path is not None else NAME)
    source = (str(file), os.stat(file).st_mtime_ns, str(device))
    key = (*source, output)
    if key not in _CACHE:
        state = weights_registry.read_state_dict(file, NAME)
        net = _build_module(OUTPUTS[output][0])
        try:
            net.load_state_dict(state)
        except RuntimeError as e:   # another network's state dict, or a damaged one
            raise weights_registry.WeightsFileError(f"{file}: not the weights of {NAME} "
                                                    f"({str(e).splitlines()[0][:160]})") from None
        for old in [k for k in _CACHE if k[:3] != source]:
            del _CACHE[old]
        _CACHE[key] = InceptionFeatures(net, output).to(device)
    return _CACHE[key]


def load_inception_logits(device: torch.device | str = "cpu", path: str | os.PathLike | None = None
                          ) -> InceptionFeatures:
    """The Inception Score's input: [N, 1008] logits without the output bias (see the module docstring)."""
    return load_inception(device, path, output=NAME_LOGITS)


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
