"""NVIDIA's 40 CelebA-HQ attribute classifiers (StyleGAN's linear separability), rebuilt in PyTorch.

Each `celebahq-classifier-NN-name.pkl` is a TensorFlow dnnlib network pickle. It is read with
ganeval's restricted unpickler (data only: build function name, static kwargs, variables) and
rebuilt from what the pickle says. The StyleGAN paper (§4.2) describes the classifiers as having the
discriminator's architecture; the pickles name that function, `D_basic` of NVlabs/stylegan
`training/networks_stylegan.py`, which is implemented here exactly:

    FromRGB 1x1 -> per resolution 256..8: Conv0 3x3, blur [1,2,1], Conv1_down 3x3 + 2x2 average
    (fused into one strided 4x4 conv from 128 px up), each + bias, lrelu(0.2)
    -> minibatch stddev (group 4, 1 feature) -> 4x4 Conv 3x3 -> Dense0 -> Dense1 = 1 logit

with TF's equalized learning rate (weights x gain/sqrt(fan_in), gain √2 except the last layer).
The metric feeds images in [-1, 1] at 256 px and uses softmax([l, -l]).

Batch dependence: the minibatch-stddev layer mixes statistics of the images in a group, so a
logit depends on the other images in its group. NVIDIA's metric ran the classifiers on minibatches
of 4 (metric_base.py: `minibatch_per_gpu=4`), i.e. one group per minibatch; here a batch is split
into consecutive groups of 4, which reproduces that for any batch size that is a multiple of 4
(the ganeval separability metric feeds consecutive samples). A smaller final group uses its own size.

All 40 networks run at once as one grouped network (weights stacked along the channel axis).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checkpoints.tensorflow import kind_of, kwargs_of, short_name
from ..checkpoints.unpickler import TFNetworkStub, restricted_load
from ..data.attributes import NVIDIA_ATTRS, resolve_attrs
from ..errors import CheckpointError, ConfigError, WeightsNotFoundError
from ..images import box_downsample
from . import weights

SQRT2 = math.sqrt(2)
NAME = "nvidia-celebahq-classifiers"


def classifier_filename(index: int) -> str:
    return f"celebahq-classifier-{index:02d}-{NVIDIA_ATTRS[index]}.pkl"


# ----------------------------------------------------------------------------------------------------
# Reading one pickle.

def read_classifier(path) -> dict:
    """One classifier pickle -> {'config': D_basic settings, 'vars': numpy variables}; checks what it says."""
    net = restricted_load(path)
    if not isinstance(net, TFNetworkStub):
        raise CheckpointError(f"{path}: not a TensorFlow network pickle")
    if short_name(net) != "D_basic" or kind_of(net) != "classifier":
        raise CheckpointError(f"{path}: built by '{net.build_func_name}', expected StyleGAN's D_basic classifier")
    kw = kwargs_of(net, "D_basic")
    cfg = dict(resolution=int(kw["resolution"]), num_channels=int(kw.get("num_channels", 1)),
               fmap_base=int(kw.get("fmap_base", 8192)), fmap_max=int(kw.get("fmap_max", 512)),
               mbstd_group_size=int(kw.get("mbstd_group_size", 4) or 0),
               mbstd_num_features=int(kw.get("mbstd_num_features", 1)), fused_scale=kw.get("fused_scale", "auto"),
               blur_filter=list(kw.get("blur_filter") or []))
    why = None
    if int(kw.get("label_size", 0) or 0) != 0:
        why = "label_size > 0"
    elif float(kw.get("fmap_decay", 1.0)) != 1.0 or not kw.get("use_wscale", True):
        why = "fmap_decay != 1 or use_wscale=False"
    elif kw.get("nonlinearity", "lrelu") != "lrelu":
        why = f"nonlinearity {kw.get('nonlinearity')}"
    elif cfg["num_channels"] != 3:
        why = f"{cfg['num_channels']} input channels"
    if why:
        raise CheckpointError(f"{path}: unsupported classifier setting: {why}")
    v = {k: np.asarray(a, dtype=np.float32) for k, a in net.variables.items()}
    if float(v.get("lod", 0)) != 0:
        raise CheckpointError(f"{path}: the classifier is not fully grown (lod={float(v['lod'])})")
    expected = _expected_shapes(cfg)
    for name, shape in expected.items():
        if name not in v:
            raise CheckpointError(f"{path}: classifier lacks variable '{name}'")
        if tuple(v[name].shape) != shape:
            raise CheckpointError(f"{path}: classifier variable '{name}' has shape {list(v[name].shape)}, "
                                  f"D_basic with these settings has {list(shape)}")
    return dict(config=cfg, vars=v)


def _nf(stage: int, cfg: dict) -> int:
    return min(int(cfg["fmap_base"] / 2 ** stage), cfg["fmap_max"])


def _expected_shapes(cfg: dict) -> dict:
    log2 = int(math.log2(cfg["resolution"]))
    mb = cfg["mbstd_num_features"] if cfg["mbstd_group_size"] > 1 else 0
    c0 = _nf(log2 - 1, cfg)
    s = {"FromRGB_lod0/weight": (1, 1, cfg["num_channels"], c0), "FromRGB_lod0/bias": (c0,)}
    for r in range(log2, 2, -1):
        R = 2 ** r
        s[f"{R}x{R}/Conv0/weight"] = (3, 3, _nf(r - 1, cfg), _nf(r - 1, cfg))
        s[f"{R}x{R}/Conv0/bias"] = (_nf(r - 1, cfg),)
        s[f"{R}x{R}/Conv1_down/weight"] = (3, 3, _nf(r - 1, cfg), _nf(r - 2, cfg))
        s[f"{R}x{R}/Conv1_down/bias"] = (_nf(r - 2, cfg),)
    s["4x4/Conv/weight"] = (3, 3, _nf(1, cfg) + mb, _nf(1, cfg))
    s["4x4/Conv/bias"] = (_nf(1, cfg),)
    s["4x4/Dense0/weight"] = (_nf(1, cfg) * 16, _nf(0, cfg))
    s["4x4/Dense0/bias"] = (_nf(0, cfg),)
    s["4x4/Dense1/weight"] = (_nf(0, cfg), 1)
    s["4x4/Dense1/bias"] = (1,)
    return s


# ----------------------------------------------------------------------------------------------------
# The stacked network.

def _fused_down(fused_scale, res: int) -> bool:
    return res >= 128 if fused_scale == "auto" else bool(fused_scale)


class NvidiaAttributeClassifiers(nn.Module):
    """A classifiers' D_basic networks side by side: images [N, 3, R, R] in [-1, 1] -> logits [N, A]."""

    name = NAME

    def __init__(self, config: dict, attr_names: list[str]):
        super().__init__()
        self.config = dict(config)
        self.attr_names = list(attr_names)
        self.resolution = int(config["resolution"])
        self.num_attrs = A = len(attr_names)
        self.images_per_pass, self.attrs_per_pass = 8, 8   # memory bound of one pass (see forward)
        log2 = int(math.log2(self.resolution))
        self.log2 = log2
        cin = config["num_channels"]
        c0 = _nf(log2 - 1, config)
        self.fromrgb_w = nn.Parameter(torch.zeros([A * c0, cin, 1, 1]))
        self.fromrgb_b = nn.Parameter(torch.zeros([A * c0]))
        for r in range(log2, 2, -1):
            c, c_out = _nf(r - 1, config), _nf(r - 2, config)
            setattr(self, f"b{2 ** r}_conv0_w", nn.Parameter(torch.zeros([A * c, c, 3, 3])))
            setattr(self, f"b{2 ** r}_conv0_b", nn.Parameter(torch.zeros([A * c])))
            setattr(self, f"b{2 ** r}_conv1_w", nn.Parameter(torch.zeros([A * c_out, c, 3, 3])))
            setattr(self, f"b{2 ** r}_conv1_b", nn.Parameter(torch.zeros([A * c_out])))
        c4, cf = _nf(1, config), _nf(0, config)
        self.mbstd = config["mbstd_num_features"] if config["mbstd_group_size"] > 1 else 0
        self.b4_conv_w = nn.Parameter(torch.zeros([A * c4, c4 + self.mbstd, 3, 3]))
        self.b4_conv_b = nn.Parameter(torch.zeros([A * c4]))
        self.dense0_w = nn.Parameter(torch.zeros([A, c4 * 16, cf]))
        self.dense0_b = nn.Parameter(torch.zeros([A, cf]))
        self.dense1_w = nn.Parameter(torch.zeros([A, cf, 1]))
        self.dense1_b = nn.Parameter(torch.zeros([A, 1]))
        f = torch.as_tensor(config["blur_filter"] or [1.0], dtype=torch.float32)
        f = torch.outer(f, f)
        self.register_buffer("blur", f / f.sum())

    @torch.no_grad()
    def set_classifier(self, a: int, v: dict) -> None:
        """Copy TF variables of classifier `a`, folding the equalized-lr coefficient into the weights."""
        def conv(name, gain=SQRT2):
            w = torch.from_numpy(v[name])
            return w.permute(3, 2, 0, 1) * (gain / math.sqrt(np.prod(w.shape[:-1])))

        def put(param, value):
            n = value.shape[0]
            param[a * n:(a + 1) * n] = value

        put(self.fromrgb_w, conv("FromRGB_lod0/weight"))
        put(self.fromrgb_b, torch.from_numpy(v["FromRGB_lod0/bias"]))
        for r in range(self.log2, 2, -1):
            R = 2 ** r
            put(getattr(self, f"b{R}_conv0_w"), conv(f"{R}x{R}/Conv0/weight"))
            put(getattr(self, f"b{R}_conv0_b"), torch.from_numpy(v[f"{R}x{R}/Conv0/bias"]))
            put(getattr(self, f"b{R}_conv1_w"), conv(f"{R}x{R}/Conv1_down/weight"))
            put(getattr(self, f"b{R}_conv1_b"), torch.from_numpy(v[f"{R}x{R}/Conv1_down/bias"]))
        put(self.b4_conv_w, conv("4x4/Conv/weight"))
        put(self.b4_conv_b, torch.from_numpy(v["4x4/Conv/bias"]))
        for dst, name, gain in ((self.dense0_w, "4x4/Dense0", SQRT2), (self.dense1_w, "4x4/Dense1", 1.0)):
            w = torch.from_numpy(v[f"{name}/weight"])
            dst[a] = w * (gain / math.sqrt(w.shape[0]))
        self.dense0_b[a] = torch.from_numpy(v["4x4/Dense0/bias"])
        self.dense1_b[a] = torch.from_numpy(v["4x4/Dense1/bias"])

    def _act(self, x, b):
        return F.leaky_relu(x + b.reshape(1, -1, 1, 1), 0.2)

    def _minibatch_stddev(self, x: torch.Tensor, A: int) -> torch.Tensor:
        """TF's minibatch_stddev_layer per classifier, on consecutive groups of `mbstd_group_size` images."""
        n, _, h, w = x.shape
        F_, g = self.mbstd, self.config["mbstd_group_size"]
        xs = x.reshape(n, A, -1, h, w)
        out = []
        for start in range(0, n, g):
            chunk = xs[start:start + g]                                 # one official minibatch = one group
            y = chunk.reshape(chunk.shape[0], A, F_, -1, h, w)
            y = (y - y.mean(dim=0)).square().mean(dim=0)
            y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4])                   # [A, F]
            out.append(y[None, :, :, None, None].expand(chunk.shape[0], A, F_, h, w))
        y = torch.cat(out)
        return torch.cat([xs, y], dim=2).reshape(n, -1, h, w)

    def _slice(self, name: str, a0: int, a1: int) -> torch.Tensor:
        """Rows of classifiers a0..a1-1 of a stacked parameter."""
        p = getattr(self, name)
        if p.ndim == 3 or name.startswith("dense"):
            return p[a0:a1]
        n = p.shape[0] // self.num_attrs
        return p[a0 * n:a1 * n]

    def _run(self, x: torch.Tensor, a0: int, a1: int, embed: bool = False) -> torch.Tensor:
        """Logits [N, a1-a0] of classifiers a0..a1-1, or (embed) their Dense0 activations [N, a1-a0, C]."""
        A = a1 - a0
        P = lambda name: self._slice(name, a0, a1)  # noqa: E731
        x = self._act(F.conv2d(x, P("fromrgb_w")), P("fromrgb_b"))
        for r in range(self.log2, 2, -1):
            R = 2 ** r
            x = self._act(F.conv2d(x, P(f"b{R}_conv0_w"), padding=1, groups=A), P(f"b{R}_conv0_b"))
            c = x.shape[1]
            if self.blur.numel() > 1:
                k = self.blur.shape[-1]
                x = F.conv2d(x, self.blur[None, None].repeat(c, 1, 1, 1), padding=k // 2, groups=c)
            w = P(f"b{R}_conv1_w")
            if _fused_down(self.config["fused_scale"], R):
                # TF's fused conv2d_downscale2d: the 3x3 kernel box-summed to 4x4 (x1/4), stride 2, SAME.
                wp = F.pad(w, [1, 1, 1, 1])
                w4 = (wp[..., 1:, 1:] + wp[..., :-1, 1:] + wp[..., 1:, :-1] + wp[..., :-1, :-1]) * 0.25
                x = F.conv2d(F.pad(x, [1, 1, 1, 1]), w4, stride=2, groups=A)
            else:
                x = F.avg_pool2d(F.conv2d(x, w, padding=1, groups=A), 2)
            x = self._act(x, P(f"b{R}_conv1_b"))
        if self.mbstd:
            x = self._minibatch_stddev(x, A)
        x = self._act(F.conv2d(x, P("b4_conv_w"), padding=1, groups=A), P("b4_conv_b"))
        x = x.reshape(x.shape[0], A, -1)                                # per classifier, NCHW flatten
        x = F.leaky_relu(torch.einsum("nai,aio->nao", x, P("dense0_w")) + P("dense0_b"), 0.2)
        if embed:
            return x
        return (torch.einsum("nai,aio->nao", x, P("dense1_w")) + P("dense1_b"))[..., 0]

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Float images at the classifiers' resolution: larger ones by an integer factor are box-downsampled
        (as NVIDIA's separability metric fed 1024 px generators to the 256 px classifiers); others refused."""
        h, w = images.shape[-2:]
        if h == w == self.resolution:
            return images.float()
        if h == w and h > self.resolution and h % self.resolution == 0:
            return box_downsample(images.float(), self.resolution)
        raise ConfigError(f"the NVIDIA classifiers take {self.resolution}x{self.resolution} images (or an integer "
                          f"multiple, box-downsampled), got {h}x{w}")

    def _blocks(self, images: torch.Tensor, embed: bool) -> torch.Tensor:
        # Bounded memory: 40 classifiers x 64 channels at 256 px are 670 MB of activations per image, so the
        # work is cut into blocks of images (whole stddev groups, so results do not change) and classifiers.
        x = self.prepare(images)
        g = max(self.config["mbstd_group_size"], 1)
        step = max(g, self.images_per_pass // g * g)
        rows = []
        for i in range(0, x.shape[0], step):
            rows.append(torch.cat([self._run(x[i:i + step], a, min(a + self.attrs_per_pass, self.num_attrs), embed)
                                   for a in range(0, self.num_attrs, self.attrs_per_pass)], dim=1))
        return torch.cat(rows)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self._blocks(images, embed=False)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Per-attribute features, [N, A, C]: each classifier's Dense0 activations (the layer before its
        logit), the M_k of GAN-Control when these classifiers supervise it (`--control-net nvidia-celebahq`)."""
        return self._blocks(images, embed=True)

    def extra_repr(self):
        return f"{self.num_attrs} classifiers, {self.resolution} px"


# ----------------------------------------------------------------------------------------------------
# Finding the files.

def _locate(index: int, directory: Path | None) -> Path | None:
    if directory is not None:
        p = directory / classifier_filename(index)
        return p if p.is_file() else None

    return weights.find(f"celebahq-classifier-{index:02d}-{NVIDIA_ATTRS[index]}")


def load_nvidia_classifiers(dir_or_none: str | os.PathLike | None = None, attrs="all",
                            device="cpu") -> NvidiaAttributeClassifiers:
    """Load NVIDIA's CelebA-HQ classifiers as one module: images [-1, 1] at 256 px -> logits [N, A].

    Files are `celebahq-classifier-NN-name.pkl`, read from `dir_or_none`, or (None) found through
    the weights registry ($GANEVAL_WEIGHTS, $TORCH_HOME/hub/checkpoints, ~/.cache/torch/...).
    `attrs`: 'all' (40, NVIDIA order) or names/indices; logits come in that order, `.attr_names` says which.
    """
    indices = resolve_attrs(attrs, NVIDIA_ATTRS)
    directory = Path(dir_or_none).expanduser() if dir_or_none is not None else None
    if directory is not None and not directory.is_dir():
        raise WeightsNotFoundError(f"classifier directory {directory} does not exist")
    paths = [_locate(i, directory) for i in indices]
    missing = [classifier_filename(i) for i, p in zip(indices, paths) if p is None]
    if missing:
        where = str(directory) if directory is not None else "the weights directories ($GANEVAL_WEIGHTS, ...)"
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise WeightsNotFoundError(f"NVIDIA classifier {missing[0]}{more} not found in {where}; "
                                   f"run `ganeval weights fetch celebahq-classifiers` on a machine with internet "
                                   f"and copy the files there")
    module = None
    for a, path in enumerate(paths):
        net = read_classifier(path)
        if module is None:
            module = NvidiaAttributeClassifiers(net["config"], [NVIDIA_ATTRS[i] for i in indices])
        elif net["config"] != module.config:
            raise CheckpointError(f"{path}: its settings differ from the other classifiers' "
                                  f"({net['config']} vs {module.config})")
        module.set_classifier(a, net["vars"])
    return module.to(device).eval().requires_grad_(False)


__all__ = ["NAME", "NvidiaAttributeClassifiers", "classifier_filename", "load_nvidia_classifiers", "read_classifier"]
