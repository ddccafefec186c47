"""Statistics of the real images (the reference of FID, KID and FD), computed once and cached.

Reference statistics are cached in ``ganeval.utils.cache_dir()/stats`` under a key made of every
setting that changes them (dataset identity, resolution, resize filter, feature net, count, xflip,
whether features are kept), written atomically. Under torchrun the images are shared out over the
processes (runner.py) and only the main process reads and writes the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import dist
from ..data import open_dataset
from ..errors import ConfigError, DataError, GanevalError, MetricError
from ..features.registry import canonical, extract, load_feature_net
from ..utils import atomic_write, cache_dir, remove_stale_temporaries
from .common import metric_device
from .moments import FeatureStats
from .runner import run_chunks

STATS_FORMAT_VERSION = 1


@dataclass
class ReferenceStats:
    mu: np.ndarray | None
    sigma: np.ndarray | None
    num: int
    feature_net: str
    features: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def save(self, path: str | os.PathLike) -> None:
        arrays = dict(mu=self.mu, sigma=self.sigma, features=self.features)
        arrays = {k: v for k, v in arrays.items() if v is not None}
        meta = dict(self.meta, num=self.num, feature_net=self.feature_net, format_version=STATS_FORMAT_VERSION)
        with atomic_write(path, suffix=".npz") as tmp, open(tmp, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta)), **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ReferenceStats:
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                get = lambda k: data[k] if k in data.files else None  # noqa: E731
                stats = cls(get("mu"), get("sigma"), int(meta["num"]), meta["feature_net"], get("features"), meta)
        except (OSError, KeyError, ValueError, TypeError, json.JSONDecodeError, zipfile.BadZipFile) as e:
            raise DataError(f"{path}: not a ganeval statistics file ({type(e).__name__}: {e})") from None
        why = stats.inconsistency()
        if why:
            raise DataError(f"{path}: damaged statistics file ({why}); compute it again from the images")
        return stats

    def inconsistency(self) -> str | None:
        """What is wrong with these statistics (shapes that do not fit, non-finite values, too few images)."""
        if self.num < 2:
            return f"{self.num} image(s)"
        if self.mu is not None:
            d = self.mu.shape[0] if self.mu.ndim == 1 else -1
            if d < 1 or self.sigma is None or self.sigma.shape != (d, d):
                return f"mean {tuple(self.mu.shape)} and covariance {None if self.sigma is None else self.sigma.shape}"
            if not (np.isfinite(self.mu).all() and np.isfinite(self.sigma).all()):
                return "non-finite mean or covariance"
        if self.features is not None:
            if self.features.ndim != 2 or (self.mu is not None and self.features.shape[1] != self.mu.shape[0]):
                return f"features of shape {tuple(self.features.shape)}"
            if not np.isfinite(self.features).all():
                return "non-finite features"
        return None


def _open_reference(reference, resolution: int, xflip: bool):
    if not isinstance(reference, (str, bytes, os.PathLike)):
        if hasattr(reference, "__getitem__") and hasattr(reference, "__len__"):
            return reference
        raise ConfigError(f"cannot use a {type(reference).__name__} as reference images")
    return open_dataset(str(reference), resolution=resolution, xflip=xflip)


FEATURE_DTYPES = ("float32", "float16")


def stats_key(ds, num: int, feature_net: str, xflip: bool, capture_all: bool, features_dtype: str = "float32") -> str:
    settings = dict(identity=str(getattr(ds, "identity", getattr(ds, "name", repr(ds)))),
                    resolution=getattr(ds, "resolution", None), resize_filter=getattr(ds, "resize_filter", None),
                    feature_net=feature_net, num=num, xflip=bool(xflip), capture_all=bool(capture_all),
                    version=STATS_FORMAT_VERSION)
    if capture_all and features_dtype != "float32":
        settings["features_dtype"] = features_dtype
    return hashlib.sha256(repr(sorted(settings.items())).encode()).hexdigest()


def reference_stats(reference, resolution: int | None = None, feature_net: str = "inception-v3-compat",
                    num_real: int | None = None, xflip: bool = False, capture_all: bool = False,
                    batch_size: int = 64, device=None, cache: bool = True,
                    progress: bool | None = None, state_dir=None, features_dtype: str = "float32") -> ReferenceStats:
    """Statistics of real images: from a saved .npz, a ReferenceStats, or a dataset / its path.

    Datasets come from ``ganeval.data.open_dataset(path, resolution=..., xflip=...)`` (an image folder,
    a zip, a CelebA-format folder) or are any object with ``ds[i] -> (uint8 [C, H, W], labels)`` and
    ``len(ds)``. `num_real` = None uses all images, else the first `num_real`. Under torchrun the images
    are shared out over the processes (features gathered in order); only the main process writes the
    cache. `state_dir`: keep finished chunks of real features there and resume from them.
    `features_dtype`: how kept features (capture_all) are stored; 'float16' halves the file of the nearest-neighbour
    metrics' reals (200,000 x 4,096 VGG16 features: 1.6 GB instead of 3.3 GB), whose radii move by about 1e-3
    relative; KID keeps float32, as NVIDIA's code does.
    """
    feature_net = canonical(feature_net)
    if features_dtype not in FEATURE_DTYPES:
        raise ConfigError(f"features_dtype must be one of {', '.join(FEATURE_DTYPES)}, got {features_dtype!r}")
    if isinstance(reference, ReferenceStats):
        stats = reference
    elif isinstance(reference, (str, os.PathLike)) and str(reference).endswith(".npz"):
        if not Path(reference).is_file():
            raise DataError(f"no such statistics file: {reference}")
        stats = ReferenceStats.load(reference)
    else:
        stats = None
    if stats is not None:
        if stats.feature_net != feature_net:
            raise ConfigError(f"reference statistics were made with '{stats.feature_net}', not '{feature_net}'")
        if capture_all and stats.features is None:
            raise MetricError("KID needs the real features; these statistics hold only mean and covariance "
                              "(compute them from the dataset)")
        return stats

    ds = _open_reference(reference, resolution, xflip)
    num = len(ds) if num_real is None else min(int(num_real), len(ds))
    if num < 2:
        raise DataError(f"reference dataset has {len(ds)} image(s); need at least 2")
    key = stats_key(ds, num, feature_net, xflip, capture_all, features_dtype)
    name = str(getattr(ds, "name", "dataset")).replace(os.sep, "_")
    path = cache_dir() / "stats" / f"{name}-{feature_net}-{key[:16]}.npz"
    # The main process decides about the cache for everyone: processes must not split between
    # loading a file and computing together.
    cached = None
    if cache and dist.is_main() and path.is_file():
        try:
            cached = ReferenceStats.load(path)
        except DataError:
            pass  # unreadable cache entry: recompute and overwrite
    cached = dist.broadcast_object(cached)
    if cached is not None:
        return cached
    device = metric_device(device)
    net = load_feature_net(feature_net, device)
    batch_size = max(1, int(batch_size or 64))

    def compute(blocks, tick) -> dict:
        start, stop = blocks[0][1], blocks[-1][2]
        feats = []
        for s in range(start, stop, batch_size):
            imgs = [ds[i][0] for i in range(s, min(s + batch_size, stop))]
            batch = torch.stack([torch.as_tensor(np.asarray(im)) for im in imgs]).to(device)
            if batch.dtype != torch.uint8:
                raise DataError("reference dataset must yield uint8 images")
            feats.append(extract(net, batch).cpu())
            tick(batch.shape[0])
        return dict(features=torch.cat(feats).numpy())

    fs = FeatureStats(capture_mean_cov=True, capture_all=capture_all)
    for _, payload in run_chunks("reference", num, compute, settings=dict(stats_key=key, feature_net=feature_net),
                                 state_dir=state_dir, progress=progress, desc=f"reference {name}"):
        fs.append(torch.from_numpy(payload["features"]).to(device))
    mu, sigma = fs.mean_cov()
    kept = fs.get_all().astype(features_dtype, copy=False) if capture_all else None
    stats = ReferenceStats(mu, sigma, num, feature_net, kept,
                           meta=dict(dataset=name, key=key, xflip=bool(xflip),
                                     resolution=getattr(ds, "resolution", None)))
    if cache and dist.is_main():
        remove_stale_temporaries(path.parent)   # left by runs killed while writing
        try:
            stats.save(path)
        except (OSError, GanevalError) as e:   # a full or read-only cache must not throw the statistics away
            print(f"ganeval: warning: reference statistics not cached ({e})", file=sys.stderr)
    return stats
