"""40 binary attribute classifiers for linear separability (and the synthetic-benchmark feature nets).

StyleGAN's linear separability labels generated images with 40 CelebA-HQ attribute classifiers, one
network per attribute. Here they are still 40 separate networks (no weight is shared and no
activation of one network reaches another), but evaluated together: the first convolution stacks
the 40 first layers (they all read the same image) and every later layer is a grouped convolution
with `groups=40`. `AttributeClassifiers.single(k)` extracts network k as an ordinary module.

Each network, for input resolution R (a power of two):

    conv 4x4 stride 2 (3 -> c0)      + LeakyReLU(0.2)      R   -> R/2
    conv 3x3 stride 2 (c_i -> c_i+1) + LeakyReLU(0.2)      ... -> 4x4
    conv 4x4 valid (c_last -> hidden) + LeakyReLU(0.2)     "dense" layer on the 4x4 map
    conv 1x1 (hidden -> 1)                                 the logit: positive = attribute present

Input: float images in [-1, 1]; larger inputs are box-downsampled to R first (integer factors, as in
NVIDIA's metric), anything else is resized bilinearly with antialiasing. Output: logits [N, 40] in
NVIDIA order (`ganeval.data.attributes.NVIDIA_ATTRS`).

File format (`save_classifiers`): a dict readable with `torch.load(weights_only=True)`:
`{'format': 'ganeval/attribute-classifiers/1', 'config': {...}, 'attr_names': [...],
'resolution': R, 'state_dict': {...}, 'meta': {...}}`.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..assets import bundled_file
from ..data import open_dataset
from ..data.attributes import NVIDIA_ATTRS
from ..errors import ConfigError, DataError, WeightsNotFoundError
from ..images import box_downsample
from ..utils import at_least_float32, atomic_write, resolve_device
from .nvidia_classifiers import load_nvidia_classifiers

FORMAT = "ganeval/attribute-classifiers/1"
# synthfaces-judge: a second, independent set (other faces, other initialisation, wider networks) that judges
# GAN-Control generators trained against synthfaces-classifiers' embeddings. synthfaces-classifiers-b: a second
# training set (other faces and seed again) for two-set GAN-Control training; the judge has seen neither.
BUNDLED = {"synthfaces-classifiers": "synthfaces-classifiers.pt", "synthfaces-judge": "synthfaces-judge.pt",
           "synthfaces-classifiers-b": "synthfaces-classifiers-b.pt"}


def default_channels(resolution: int) -> tuple[int, ...]:
    """Channels per downsampling block of one network: 4, 8, 16, 32, 32, ... down to 4x4."""
    blocks = int(math.log2(resolution)) - 2
    return tuple(min(4 * 2 ** i, 32) for i in range(blocks))


class AttributeClassifiers(nn.Module):
    """40 (or `len(attr_names)`) independent binary CNNs evaluated with grouped convolutions."""

    def __init__(self, resolution: int = 64, channels: tuple[int, ...] | None = None, hidden: int = 32,
                 attr_names: list[str] | None = None):
        super().__init__()
        if resolution < 8 or resolution & (resolution - 1):
            raise ConfigError(f"classifier resolution must be a power of two >= 8, got {resolution}")
        channels = tuple(channels or default_channels(resolution))
        if len(channels) != int(math.log2(resolution)) - 2:
            raise ConfigError(f"{len(channels)} channel counts given; resolution {resolution} needs "
                              f"{int(math.log2(resolution)) - 2} (one per halving down to 4x4)")
        self.resolution = int(resolution)
        self.channels = channels
        self.hidden = int(hidden)
        self.attr_names = list(attr_names or NVIDIA_ATTRS)
        G = self.num_attrs = len(self.attr_names)
        convs = []
        cin = 3
        for i, c in enumerate(channels):
            # Layer 0: all networks read the same 3 channels, so stacking their first layers is
            # exactly a plain convolution. Later layers: groups=G keeps the networks apart.
            if i == 0:
                convs.append(nn.Conv2d(cin, G * c, 4, 2, 1))
            else:
                convs.append(nn.Conv2d(G * cin, G * c, 3, 2, 1, groups=G))
            cin = c
        self.convs = nn.ModuleList(convs)
        self.dense = nn.Conv2d(G * cin, G * self.hidden, 4, 1, 0, groups=G)
        self.out = nn.Conv2d(G * self.hidden, G, 1, groups=G)

    @property
    def config(self) -> dict:
        return {"resolution": self.resolution, "channels": list(self.channels), "hidden": self.hidden,
                "attr_names": list(self.attr_names)}

    def prepare(self, img: torch.Tensor) -> torch.Tensor:
        """Bring float NCHW images in [-1, 1] to the classifier resolution."""
        if img.dim() != 4 or img.shape[1] != 3:
            raise ValueError(f"expected RGB images [N, 3, H, W], got {tuple(img.shape)}")
        img = at_least_float32(img)
        h, w = img.shape[-2:]
        if h == w == self.resolution:
            return img
        if h == w and h > self.resolution and h % self.resolution == 0:
            return box_downsample(img, self.resolution)
        return F.interpolate(img, size=(self.resolution, self.resolution), mode="bilinear",
                             align_corners=False, antialias=True)

    def trunk(self, img: torch.Tensor) -> list[torch.Tensor]:
        """Activations after every block, [N, G*c, h, w] each (network k owns channels k*c..(k+1)*c)."""
        x = self.prepare(img).contiguous(memory_format=torch.channels_last)
        feats = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
            feats.append(x)
        return feats

    def embed(self, img: torch.Tensor) -> torch.Tensor:
        """Per-attribute trunk features: the dense layer's activations, [N, 40, hidden]."""
        x = F.leaky_relu(self.dense(self.trunk(img)[-1]), 0.2)
        return x.reshape(len(x), self.num_attrs, self.hidden)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.dense(self.trunk(img)[-1]), 0.2)
        return self.out(x).reshape(len(x), self.num_attrs)

    def single(self, k: int) -> nn.Sequential:
        """Network k alone, as ordinary layers (same weights): for checking the grouped evaluation."""
        layers: list[nn.Module] = []
        cin = 3
        for conv, c in zip(self.convs, self.channels):
            layer = nn.Conv2d(cin, c, conv.kernel_size, 2, conv.padding)
            layer.weight.data.copy_(conv.weight.data[k * c:(k + 1) * c])
            layer.bias.data.copy_(conv.bias.data[k * c:(k + 1) * c])
            layers += [layer, nn.LeakyReLU(0.2)]
            cin = c
        dense = nn.Conv2d(cin, self.hidden, 4)
        dense.weight.data.copy_(self.dense.weight.data[k * self.hidden:(k + 1) * self.hidden])
        dense.bias.data.copy_(self.dense.bias.data[k * self.hidden:(k + 1) * self.hidden])
        out = nn.Conv2d(self.hidden, 1, 1)
        out.weight.data.copy_(self.out.weight.data[k:k + 1])
        out.bias.data.copy_(self.out.bias.data[k:k + 1])
        return nn.Sequential(*layers, dense, nn.LeakyReLU(0.2), out, nn.Flatten())


# ---------------------------------------------------------------------------------------------
# Saving and loading.
# ---------------------------------------------------------------------------------------------

def save_classifiers(model: AttributeClassifiers, path: str | os.PathLike, meta: dict | None = None) -> Path:
    """Write the native format (weights_only-loadable), atomically."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "config": model.config, "attr_names": list(model.attr_names),
               "resolution": model.resolution, "state_dict": state, "meta": dict(meta or {})}
    path = Path(path)
    with atomic_write(path, suffix=".pt") as tmp:
        torch.save(payload, tmp)
    return path


def resolve_classifiers(name_or_path: str | os.PathLike) -> Path:
    """A bundled name ('synthfaces-classifiers') or a path -> an existing file."""
    name = os.fspath(name_or_path)
    if name in BUNDLED:
        path = bundled_file(BUNDLED[name].removesuffix(".pt"))
        if path is None:
            raise WeightsNotFoundError(f"bundled classifiers '{name}' are missing from this installation "
                                       f"(train them with `ganeval classifiers train`)")
        return path
    path = Path(name).expanduser()
    if not path.is_file():
        raise WeightsNotFoundError(f"classifier file not found: {path} (bundled: {', '.join(BUNDLED)})")
    return path


def load_classifiers(name_or_path: str | os.PathLike = "synthfaces-classifiers",
                     device: str | torch.device | None = "cpu", attrs="all"):
    """Load classifiers by bundled name or path, in eval mode with gradients off.

    'nvidia-celebahq' (or 'nvidia-celebahq:DIR') loads NVIDIA's CelebA-HQ classifier pickles through
    ganeval.features.nvidia_classifiers (files found via the weights registry or in DIR); there, `attrs`
    ('all' or names) chooses which of the 40 networks are loaded. The bundled suites always hold all 40.
    """
    if str(name_or_path).startswith("nvidia-celebahq"):
        _, _, folder = str(name_or_path).partition(":")
        return load_nvidia_classifiers(folder or None, attrs=attrs, device=resolve_device(device))
    path = resolve_classifiers(name_or_path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file
        raise ConfigError(f"cannot read classifier file {path}: {type(e).__name__}: {e}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ConfigError(f"{path} is not a ganeval attribute-classifier file (format {FORMAT})")
    cfg = payload["config"]
    model = AttributeClassifiers(resolution=cfg["resolution"], channels=tuple(cfg["channels"]),
                                 hidden=cfg["hidden"], attr_names=cfg["attr_names"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as e:
        raise ConfigError(f"{path}: weights do not match the stored config: {str(e).splitlines()[0]}") from None
    model.meta = dict(payload.get("meta", {}))
    model.source = str(path)
    return model.to(resolve_device(device)).eval().requires_grad_(False)


# ---------------------------------------------------------------------------------------------
# Training and evaluation.
# ---------------------------------------------------------------------------------------------

def _load_all(dataset, batch_size: int = 256, progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image and label of a dataset, as uint8 [N, C, H, W] and int64 [N, 40] tensors."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    images, labels = [], []
    for img, lab in tqdm(loader, disable=not progress, desc="loading", unit="batch"):
        images.append(img)
        labels.append(lab)
    return torch.cat(images), torch.cat(labels)


def _labelled(dataset, split: str | None, resolution: int | None):
    ds = open_dataset(dataset, resolution=resolution, split=split)
    if ds.attr_names != list(NVIDIA_ATTRS):
        raise DataError(f"dataset {ds.name} has no 40 attribute labels (need CelebA format or synthfaces)")
    if ds.num_channels != 3:
        raise DataError(f"dataset {ds.name} has {ds.num_channels} channels; the classifiers need RGB")
    return ds


def train_classifiers(dataset, resolution: int = 64, steps: int = 3000, batch: int = 64, lr: float = 2e-3,
                      seed: int = 0, device=None, epochs: float | None = None, split: str | None = "train",
                      channels: tuple[int, ...] | None = None, hidden: int = 32, progress: bool = True,
                      log=None) -> AttributeClassifiers:
    """Train the 40 classifiers on a labelled dataset (path, spec or ImageDataset).

    The loss is binary cross-entropy with each attribute's positives and negatives weighted 1/2 : 1/2
    (so rare attributes are learned for balanced accuracy). Adam, learning rate held then decayed
    linearly over the last 40 % of steps; random left-right flips and +-2 px shifts. `epochs`, when
    given, overrides `steps`. All images are held in memory as uint8.
    """
    device = resolve_device(device)
    ds = _labelled(dataset, split if isinstance(dataset, (str, os.PathLike)) else None, resolution)
    images, labels = _load_all(ds, progress=progress)
    n = len(images)
    if epochs is not None:
        steps = max(1, math.ceil(epochs * n / batch))
    if steps <= 0 or batch <= 0:
        raise ConfigError("steps and batch must be positive")
    rate = labels.float().mean(0).clamp(1e-3, 1 - 1e-3)
    w_pos, w_neg = (0.5 / rate).to(device), (0.5 / (1 - rate)).to(device)

    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AttributeClassifiers(resolution, channels, hidden)
    model = model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.99))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (steps - s) / (0.4 * steps)))
    t0 = time.time()
    order = torch.randperm(n, generator=gen)
    pos = 0
    bar = tqdm(range(steps), disable=not progress, desc="training", unit="step")
    for step in bar:
        if pos + batch > n:
            order, pos = torch.randperm(n, generator=gen), 0
        idx = order[pos:pos + batch]
        pos += batch
        x = images[idx].to(device).float() / 127.5 - 1
        y = labels[idx].to(device).float()
        # Augment: mirror half the batch, shift the whole batch by up to 2 px.
        flip = torch.rand(len(idx), generator=gen) < 0.5
        x[flip.to(device)] = x[flip.to(device)].flip(-1)
        dy, dx = (int(v) for v in torch.randint(-2, 3, (2,), generator=gen))
        x = F.pad(x, (2, 2, 2, 2), mode="replicate")[:, :, 2 + dy:2 + dy + x.shape[2], 2 + dx:2 + dx + x.shape[3]]
        logits = model(x)
        loss = (y * w_pos * F.softplus(-logits) + (1 - y) * w_neg * F.softplus(logits)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{loss.item():.4f}")
            if log is not None:
                log(f"step {step}/{steps} loss {loss.item():.4f} {time.time() - t0:.0f}s")
    model.eval().requires_grad_(False)
    model.meta = {"train_data": ds.identity, "train_images": n, "steps": steps, "batch": batch, "lr": lr,
                  "seed": seed, "train_time_s": round(time.time() - t0, 1)}
    return model


@torch.no_grad()
def predict(model: AttributeClassifiers, dataset, batch_size: int = 256, device=None,
            progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits [N, 40] and true labels [N, 40] over a dataset."""
    device = resolve_device(device) if device is not None else next(model.parameters()).device
    model = model.to(device)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    logits, labels = [], []
    for img, lab in tqdm(loader, disable=not progress, desc="classifying", unit="batch"):
        logits.append(model(img.to(device).float() / 127.5 - 1).cpu())
        labels.append(lab)
    return torch.cat(logits), torch.cat(labels)


def evaluate_classifiers(model: AttributeClassifiers, dataset, split: str | None = None, batch_size: int = 256,
                         device=None, progress: bool = False):
    """Per-attribute accuracy, balanced accuracy and positive rate, plus a 'mean' row (pandas DataFrame).

    `dataset` is an ImageDataset, a path or a spec; `split` applies to paths and specs.
    """
    ds = _labelled(dataset, split, model.resolution)
    logits, labels = predict(model, ds, batch_size, device, progress)
    pred = (logits > 0).numpy()
    true = labels.numpy().astype(bool)
    rows = []
    for k, name in enumerate(model.attr_names):
        p, t = pred[:, k], true[:, k]
        tpr = (p & t).sum() / t.sum() if t.any() else np.nan
        tnr = (~p & ~t).sum() / (~t).sum() if (~t).any() else np.nan
        rows.append({"attr": name, "accuracy": float((p == t).mean()),
                     "balanced_accuracy": float(np.nanmean([tpr, tnr])),
                     "positive_rate": float(t.mean()), "predicted_rate": float(p.mean()), "num_samples": len(t)})
    df = pd.DataFrame(rows)
    mean = {"attr": "mean", "num_samples": len(true)}
    for col in ("accuracy", "balanced_accuracy", "positive_rate", "predicted_rate"):
        mean[col] = float(df[col].mean())
    return pd.concat([df, pd.DataFrame([mean])], ignore_index=True)
