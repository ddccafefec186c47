"""VGG16 fc7 features (4096-d) for improved precision and recall (Kynkäänniemi et al. 2019), NVIDIA's detector.

NVIDIA's precision/recall (stylegan2-ada-pytorch metrics/precision_recall.py, https://github.com/NVlabs/stylegan2-ada-pytorch)
calls the TorchScript module `vgg16.pt` with `return_features=True`. That archive carries code, which ganeval never
runs; the network it holds is torchvision's ImageNet VGG16: torch-fidelity's test
tests/torch_pure/fe_vgg16/test_vgg16_fe.py (https://github.com/toshas/torch-fidelity) asserts that torchvision's
`VGG16_Weights.IMAGENET1K_V1` (`vgg16-397923af.pth`) behind the steps below gives NVIDIA's features to 1e-4 at
32 to 512 px. So ganeval reads that plain state dict (torch.load(weights_only=True); the registry checks its torch.hub
sha256 prefix) and computes, as torch-fidelity's `FeatureExtractorVGG16` does:

    uint8 RGB -> float, TensorFlow-1 bilinear resize to 224 x 224 (align_corners=False: source pixel = output pixel
    x in/out, no half-pixel offset, no antialiasing) -> (x - 255 mean) / (255 std) with ImageNet's mean and std ->
    the 13 convolutions -> 7 x 7 average pool (the identity at 224 px) -> fc6, ReLU -> fc7, ReLU.

The network is torchvision's VGG16 layout written out (`features.N`, `classifier.0` / `classifier.3` / `classifier.6`,
the same module indices), with the widths as a parameter so that tests use a small one.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from ..images import to_rgb
from . import weights as weights_registry

NAME = "vgg16-fc7"
WEIGHTS = "vgg16"
FEATURE_DIM = 4096
IMG_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Simonyan & Zisserman 2015, table 1, column D: 3 x 3 convolutions (ReLU after each) and 2 x 2 max pools ("M").
CFG_D = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def make_layers(cfg) -> nn.Sequential:
    """The convolutional trunk with torchvision's module indices (conv i, ReLU i + 1; a pool takes one index), so
    that torchvision's `features.<i>` names apply. Written here because importing torchvision costs seconds."""
    layers, cin = [], 3
    for c in cfg:
        if c == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(cin, c, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            cin = c
    return nn.Sequential(*layers)


class VGG16FC7(nn.Module):
    """torchvision's VGG16 up to fc7 and its ReLU; fc8 (`classifier.6`) is read from the file but not kept."""

    def __init__(self, cfg=CFG_D, fc: int = FEATURE_DIM, num_classes: int = 1000):
        super().__init__()
        self.features = make_layers(list(cfg))
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        width = [c for c in cfg if c != "M"][-1]
        # Same indices as torchvision's classifier, so the state dict's names match (dropouts are inactive in eval).
        self.classifier = nn.Sequential(nn.Linear(width * 7 * 7, fc), nn.ReLU(True), nn.Dropout(),
                                        nn.Linear(fc, fc), nn.ReLU(True), nn.Dropout(), nn.Linear(fc, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier[:5](x)   # fc6, ReLU, dropout, fc7, ReLU


class VGG16Features(nn.Module):
    """uint8 NCHW -> float32 [N, 4096] fc7 features after the ReLU."""

    name = NAME

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net.eval().requires_grad_(False)
        self.dim = net.classifier[3].out_features     # 4096 for VGG16
        self.register_buffer("mean", 255 * torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", 255 * torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1), persistent=False)

    def preprocess(self, img_uint8: torch.Tensor) -> torch.Tensor:
        """uint8 NCHW -> the network's float input [N, 3, 224, 224]."""
        from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

        if img_uint8.dtype != torch.uint8:
            raise TypeError("VGG16Features expects uint8 images (use ganeval.images.to_uint8)")
        x = to_rgb(img_uint8).to(self.mean.device, torch.float32)
        x = interpolate_bilinear_2d_like_tensorflow1x(x, size=(IMG_SIZE, IMG_SIZE), align_corners=False)
        return (x - self.mean) / self.std

    @torch.no_grad()
    def forward(self, img_uint8: torch.Tensor) -> torch.Tensor:
        return self.net(self.preprocess(img_uint8)).float()


_CACHE: dict = {}


def load_vgg16_fc7(device: torch.device | str = "cpu", path: str | os.PathLike | None = None,
                   cfg=CFG_D, fc: int = FEATURE_DIM) -> VGG16Features:
    """VGG16 fc7 features with the weights from `path` or the registry ('vgg16'); one instance per file and device."""
    file = weights_registry.locate(path if path is not None else WEIGHTS)
    key = (str(file), os.stat(file).st_mtime_ns, str(device), tuple(cfg), fc)
    if key not in _CACHE:
        state = weights_registry.read_state_dict(file, WEIGHTS, expect=("features.0.weight", "classifier.3.weight"))
        num_classes = state["classifier.6.weight"].shape[0] if "classifier.6.weight" in state else 1000
        with torch.device("meta"):   # 138M parameters: assigned from the file, never initialised
            net = VGG16FC7(cfg, fc, num_classes)
        weights_registry.load_into(net, state, file, WEIGHTS, assign=True)
        _CACHE.clear()
        _CACHE[key] = VGG16Features(net).to(device)
    return _CACHE[key]
