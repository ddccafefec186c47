"""Fréchet Inception Distance (FID) and Kernel Inception Distance (KID).

FID: Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", NeurIPS 2017. KID: Bińkowski et al., "Demystifying MMD GANs", ICLR 2018.
Matches NVlabs/stylegan2-ada-pytorch `metrics/frechet_inception_distance.py` and
`kernel_inception_distance.py` (and the TF StyleGAN fid50k), with torch-fidelity's port of the TF
Inception ('inception-v3-compat', 2048-d pool3). Protocol (specs/metrics.md §3):

* generated: z ~ N(0, I), psi = 1, per-sample random noise, uint8 by round-half-up and clip
  (``ganeval.images.to_uint8``); the network resizes to 299 inside (TF1 bilinear);
* statistics: streaming float64 sums, mean and covariance with N - 1 (TF, pytorch-fid,
  torch-fidelity; ADA divides by N, a 2e-5 relative difference at 50k);
* FID = |mu1 - mu2|^2 + tr(S1 + S2 - 2 sqrtm(S1 S2)) with scipy's sqrtm and its real part; a non-finite
  root (near-singular covariances) is retried with 1e-6 I added to both (pytorch-fid);
  tiny negative results from rounding are clipped at 0;
* KID: unbiased MMD^2 with the cubic polynomial kernel (x.y / d + 1)^3, averaged over 100 random
  subsets of min(1000, n_real, n_gen) features per side;
* presets: fid50k (first 50k reals of the dataset as given, its xflip setting kept), fid50k_full
  (all reals, no flips), kid50k (50k reals, 100 subsets of 1000); 50k generated each.

Reference statistics are cached in ``ganeval.utils.cache_dir()/stats`` under a key made of every
setting that changes them (dataset identity, resolution, resize filter, feature net, count,
xflip, whether features are kept), written atomically.

Intervals (over generated samples; the reals are fixed): FID uses a streaming Poisson bootstrap:
each generated sample gets B independent Poisson(1) weights (seeded per sample block) and B
weighted mean/covariance accumulators run alongside the plain one, so no features are kept (below
D samples the features and weights are kept instead: no more memory than one D x D sum).
Each replicate's trace term comes from the eigenvalues of sqrt(S_real) S_b sqrt(S_real) (the same
eigenvalues as S_b S_real; one symmetric eigensolve instead of sqrtm) or, with fewer generated
samples than dimensions, from the n x n matrix A_b S_real A_bᵀ, where S_b = A_bᵀ A_b (the same
nonzero eigenvalues). KID resamples the generated
features. Both report value +- 1.96 sd of B = 10 replicates by default (`bootstrap`).

Scale (runner.py): generated and real images are computed in chunks of 16-image blocks, shared out
over torchrun processes; every process adds each chunk's features to the float64 sums in chunk
order, so the statistics are bit-identical for any batch size and number of processes, and memory
holds one round of chunks, never all features (except for KID, which needs them). With a state
directory, finished chunks of features are stored and a killed run resumes. Features rather than
per-chunk moments are stored: a chunk of <= 1,024 samples x 2,048 float32 (8 MB) is smaller than a
2,048^2 float64 moment matrix (32 MB), and the sums are rebuilt from them in the same order.

Feature net 'synth-fd' (the synthetic benchmark's network, no external weights) gives Fréchet
distances that are not FID: its rows are named 'fd_synth...' / 'kd_synth...', never 'fid'.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .. import dist
from ..errors import ConfigError, DataError, MetricError
from ..images import to_uint8
from ..utils import atomic_write, cache_dir
from . import sampling as streams
from .common import Timer, make_table, metric_device, prepare_generator
from .registry import register_preset
from .runner import array_hash, run_chunks, sub_state
from .stats import normal_interval

STATS_FORMAT_VERSION = 1


# ---------------------------------------------------------------------------------------------------------
# Feature networks: name -> factory(device) -> callable(uint8 NCHW) -> float [N, D].

def _inception(device):
    from ..features.inception import load_inception

    return load_inception(device)


def _synth_fd(device):
    try:
        from ..features.synth import synth_fd  # written separately; imported only when asked for
    except ImportError as e:
        raise ConfigError(f"feature net 'synth-fd' needs ganeval.features.synth ({e})") from None

    return synth_fd(device)


FEATURE_NETS: dict[str, Callable] = {"inception-v3-compat": _inception, "synth-fd": _synth_fd}
SHORT_NAMES = {"inception-v3-compat": None, "synth-fd": "synth"}
ALIASES = {"inception-v3": "inception-v3-compat", "inception": "inception-v3-compat"}


def canonical_feature_net(name: str) -> str:
    return ALIASES.get(name, name)


def register_feature_net(name: str, factory: Callable, short: str | None = None) -> None:
    """factory(device) -> callable uint8 NCHW -> float [N, D]; rows get 'fd_<short>' names."""
    FEATURE_NETS[name] = factory
    SHORT_NAMES[name] = short or name.split("-")[0]


def metric_name(base: str, feature_net: str) -> str:
    """'fid50k_full' with Inception; 'fd_synth50k_full' (and 'kd_synth50k') with another net."""
    feature_net = canonical_feature_net(feature_net)
    if feature_net not in FEATURE_NETS:
        raise ConfigError(f"unknown feature net '{feature_net}' (known: {', '.join(FEATURE_NETS)})")
    short = SHORT_NAMES.get(feature_net)
    if short is None:
        return base
    for prefix, new in (("fid", "fd"), ("kid", "kd"), ("fd", "fd"), ("kd", "kd")):
        if base.startswith(prefix):
            rest = base[len(prefix):]
            return f"{new}_{short}{rest}" if not rest.startswith(f"_{short}") else f"{new}{rest}"
    return f"{base}_{short}"


def load_feature_net(feature_net: str, device) -> Callable:
    feature_net = canonical_feature_net(feature_net)
    if feature_net not in FEATURE_NETS:
        raise ConfigError(f"unknown feature net '{feature_net}' (known: {', '.join(FEATURE_NETS)})")
    net = FEATURE_NETS[feature_net](device)
    if isinstance(net, torch.nn.Module):
        net = net.eval().requires_grad_(False).to(device)
    return net


@torch.no_grad()
def extract(net: Callable, img_uint8: torch.Tensor) -> torch.Tensor:
    if img_uint8.shape[1] == 1:
        img_uint8 = img_uint8.repeat(1, 3, 1, 1)
    return net(img_uint8).float().reshape(img_uint8.shape[0], -1)


# ---------------------------------------------------------------------------------------------------------
# Streaming statistics.

class FeatureStats:
    """Float64 running sums for mean/covariance, optional kept features, optional Poisson-bootstrap replicates.

    Sums live on the device of the incoming features (a GPU keeps up with its feature net); kept
    features go to the CPU as float32. Replicates: while there are no more samples than feature
    dimensions, the features and their weights are kept (n x D is then at most the size of one D x D
    sum) and each replicate's covariance is used in factored form, Σ_b = A_bᵀ A_b with A_b [n, D]
    (`replicate_factor`), which makes its Fréchet distance an n x n eigenproblem instead of D x D;
    beyond D samples they are folded into per-replicate sums as usual.
    """

    def __init__(self, capture_mean_cov: bool = True, capture_all: bool = False, num_replicates: int = 0):
        self.capture_mean_cov, self.capture_all = capture_mean_cov, capture_all
        self.num_replicates = num_replicates
        self.num = 0
        self.dim: int | None = None
        self._s1 = self._s2 = None
        self._rw = self._rs1 = self._rs2 = None
        self._all: list[np.ndarray] = []
        self._kept: list[torch.Tensor] | None = [] if num_replicates else None   # low-rank regime: x and weights
        self._kept_w: list[torch.Tensor] = []
        self._kept_np: tuple[np.ndarray, np.ndarray] | None = None

    def _init(self, dim: int, device) -> None:
        self.dim = dim
        z = lambda *shape: torch.zeros(shape, dtype=torch.float64, device=device)  # noqa: E731
        if self.capture_mean_cov:
            self._s1, self._s2 = z(dim), z(dim, dim)

    def _fold(self, x: torch.Tensor, bw: torch.Tensor) -> None:
        if self._rw is None:
            z = lambda *shape: torch.zeros(shape, dtype=torch.float64, device=x.device)  # noqa: E731
            self._rw, self._rs1, self._rs2 = z(self.num_replicates), z(self.num_replicates, self.dim), \
                z(self.num_replicates, self.dim, self.dim)
        self._rw += bw.sum(dim=1)
        self._rs1 += bw @ x
        for b in range(self.num_replicates):
            self._rs2[b] += (x * bw[b, :, None]).T @ x

    @torch.no_grad()
    def append(self, x, boot_weights=None) -> None:
        """x [n, D]; boot_weights [B, n] (B = num_replicates) when replicates are tracked."""
        x = torch.as_tensor(x)
        if x.ndim != 2 or x.shape[0] == 0:
            return
        if self.dim is None:
            self._init(x.shape[1], x.device)
        elif x.shape[1] != self.dim:
            raise MetricError(f"feature dimension changed from {self.dim} to {x.shape[1]}")
        self.num += x.shape[0]
        if self.capture_all:
            self._all.append(x.detach().float().cpu().numpy())
        x = x.detach().to(self._s1.device if self._s1 is not None else x.device, torch.float64)
        if self.capture_mean_cov:
            self._s1 += x.sum(dim=0)
            self._s2 += x.T @ x
        if self.num_replicates:
            bw = torch.as_tensor(boot_weights).to(x.device, torch.float64)
            if self._kept is not None:
                self._kept.append(x)
                self._kept_w.append(bw)
                self._kept_np = None
                if self.num > self.dim:   # too many samples for the factored form: fold into sums from now on
                    self._fold(torch.cat(self._kept), torch.cat(self._kept_w, dim=1))
                    self._kept, self._kept_w = None, []
            else:
                self._fold(x, bw)

    @staticmethod
    def _mean_cov(n, s1, s2) -> tuple[np.ndarray, np.ndarray]:
        n, s1, s2 = float(n), s1.cpu().numpy(), s2.cpu().numpy()
        mu = s1 / n
        sigma = (s2 - n * np.outer(mu, mu)) / (n - 1)
        return mu, (sigma + sigma.T) / 2

    def mean_cov(self) -> tuple[np.ndarray, np.ndarray]:
        if self.num < 2:
            raise MetricError(f"need at least 2 samples for a covariance, got {self.num}")
        return self._mean_cov(self.num, self._s1, self._s2)

    def replicate_factor(self, b: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(mu_b, A_b) with Σ_b = A_bᵀ A_b while the features are kept (n <= D), else None.

        Σ_i w_i (x_i - mu_b)(x_i - mu_b)ᵀ = Σ_i w_i x_i x_iᵀ - n_b mu_b mu_bᵀ, so rows
        sqrt(w_i / (n_b - 1)) (x_i - mu_b) give exactly the replicate's covariance.
        """
        if self._kept is None:
            return None
        if self._kept_np is None:   # concatenated once for all B replicates (reset by append)
            self._kept_np = (torch.cat(self._kept).cpu().numpy(), torch.cat(self._kept_w, dim=1).cpu().numpy())
        x, w = self._kept_np[0], self._kept_np[1][b]
        n = w.sum()
        mu = (w @ x) / n
        return mu, np.sqrt(w / (n - 1))[:, None] * (x - mu)

    def replicate_mean_cov(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        if self._kept is not None:
            mu, a = self.replicate_factor(b)
            return mu, a.T @ a
        return self._mean_cov(self._rw[b], self._rs1[b], self._rs2[b])

    def get_all(self) -> np.ndarray:
        return np.concatenate(self._all) if self._all else np.zeros((0, self.dim or 0), np.float32)


# ---------------------------------------------------------------------------------------------------------
# Distances.

def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), NVIDIA's formula (scipy sqrtm, real part)."""
    import scipy.linalg

    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise MetricError(f"statistics have different shapes: {mu1.shape} vs {mu2.shape}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on singular products; we check finiteness ourselves
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    diff = mu1 - mu2
    fd = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean).real)
    return max(fd, 0.0)


def _sqrt_psd(sigma: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(sigma)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


_ROOTS: dict[str, np.ndarray] = {}


def _reference_root(sigma: np.ndarray, key: str) -> np.ndarray:
    """sigma^(1/2) of a reference, kept per process: truncation sweeps and reports reuse one reference."""
    if key not in _ROOTS:
        if len(_ROOTS) >= 4:
            _ROOTS.pop(next(iter(_ROOTS)))
        _ROOTS[key] = _sqrt_psd(sigma)
    return _ROOTS[key]


def _frechet_with_root(mu1, sigma1, mu2, sigma2, root2: np.ndarray) -> float:
    """Same distance via tr sqrt(sigma1 sigma2) = sum sqrt(eig(root2 sigma1 root2)), root2 = sigma2^(1/2)."""
    m = root2 @ sigma1 @ root2
    vals = np.linalg.eigvalsh((m + m.T) / 2)
    diff = mu1 - mu2
    fd = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.sqrt(np.clip(vals, 0, None)).sum())
    return max(fd, 0.0)


def _frechet_factored(mu1, a1, mu2, sigma2) -> float:
    """Fréchet distance with sigma1 = a1ᵀ a1 (a1 [n, D]): tr sqrt(sigma1 sigma2) = sum sqrt(eig(a1 sigma2 a1ᵀ)),
    the n x n matrix sharing the nonzero eigenvalues of sigma2^(1/2) sigma1 sigma2^(1/2)."""
    m = a1 @ sigma2 @ a1.T
    vals = np.linalg.eigvalsh((m + m.T) / 2)
    diff = mu1 - mu2
    fd = float(diff @ diff + np.square(a1).sum() + np.trace(sigma2) - 2 * np.sqrt(np.clip(vals, 0, None)).sum())
    return max(fd, 0.0)


def kernel_distance(gen_features, real_features, num_subsets: int = 100, max_subset_size: int = 1000,
                    seed: int = 0, gen_index=None) -> float:
    """KID: unbiased MMD^2, kernel (x.y/d + 1)^3, mean over random subsets (Bińkowski et al.; ADA).

    `gen_index` optionally maps subset positions through a resample of the generated features (bootstrap).
    """
    # Kernels from float32 products (as ADA), sums in float64 (the estimate is a small difference of large sums).
    x_all = torch.as_tensor(np.asarray(gen_features), dtype=torch.float32)
    y_all = torch.as_tensor(np.asarray(real_features), dtype=torch.float32)
    n = x_all.shape[1]
    num_gen = x_all.shape[0] if gen_index is None else len(gen_index)
    m = min(num_gen, y_all.shape[0], max_subset_size)
    if m < 2:
        raise MetricError(f"KID needs at least 2 features per side, got {num_gen} generated / {y_all.shape[0]} real")
    rng = np.random.default_rng(streams.block_seed(seed, "kid/subsets", 0))
    t = 0.0
    for _ in range(num_subsets):
        xi = rng.choice(num_gen, m, replace=False)
        if gen_index is not None:
            xi = np.asarray(gen_index)[xi]
        x = x_all[torch.as_tensor(xi)]
        y = y_all[torch.as_tensor(rng.choice(y_all.shape[0], m, replace=False))]
        a = ((x @ x.T).double() / n + 1) ** 3 + ((y @ y.T).double() / n + 1) ** 3
        b = ((x @ y.T).double() / n + 1) ** 3
        t += float((a.sum() - torch.diagonal(a).sum()) / (m - 1) - b.sum() * 2 / m)
    return t / num_subsets / m


# ---------------------------------------------------------------------------------------------------------
# Reference (real) statistics.

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
                return cls(get("mu"), get("sigma"), int(meta["num"]), meta["feature_net"], get("features"), meta)
        except (OSError, KeyError, ValueError, json.JSONDecodeError) as e:
            raise DataError(f"{path}: not a ganeval statistics file ({type(e).__name__}: {e})") from None


def _open_reference(reference, resolution: int, xflip: bool):
    if not isinstance(reference, (str, bytes, os.PathLike)):
        if hasattr(reference, "__getitem__") and hasattr(reference, "__len__"):
            return reference
        raise ConfigError(f"cannot use a {type(reference).__name__} as reference images")
    try:
        from ..data import open_dataset  # written separately; imported only when needed
    except ImportError as e:
        raise ConfigError(f"reading datasets needs ganeval.data, which is not available ({e})") from None

    return open_dataset(str(reference), resolution=resolution, xflip=xflip)


def stats_key(ds, num: int, feature_net: str, xflip: bool, capture_all: bool) -> str:
    settings = dict(identity=str(getattr(ds, "identity", getattr(ds, "name", repr(ds)))),
                    resolution=getattr(ds, "resolution", None), resize_filter=getattr(ds, "resize_filter", None),
                    feature_net=feature_net, num=num, xflip=bool(xflip), capture_all=bool(capture_all),
                    version=STATS_FORMAT_VERSION)
    return hashlib.sha256(repr(sorted(settings.items())).encode()).hexdigest()


def reference_stats(reference, resolution: int | None = None, feature_net: str = "inception-v3-compat",
                    num_real: int | None = None, xflip: bool = False, capture_all: bool = False,
                    batch_size: int = 64, device=None, cache: bool = True,
                    progress: bool | None = None, state_dir=None) -> ReferenceStats:
    """Statistics of real images: from a saved .npz, a ReferenceStats, or a dataset / its path.

    Datasets come from ``ganeval.data.open_dataset(path, resolution=..., xflip=...)`` (an image folder,
    a zip, a CelebA-format folder) or are any object with ``ds[i] -> (uint8 [C, H, W], labels)`` and
    ``len(ds)``. `num_real` = None uses all images, else the first `num_real`. Under torchrun the images
    are shared out over the processes (features gathered in order); only the main process writes the
    cache. `state_dir`: keep finished chunks of real features there and resume from them.
    """
    feature_net = canonical_feature_net(feature_net)
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
    key = stats_key(ds, num, feature_net, xflip, capture_all)
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
    stats = ReferenceStats(mu, sigma, num, feature_net, fs.get_all() if capture_all else None,
                           meta=dict(dataset=name, key=key, xflip=bool(xflip),
                                     resolution=getattr(ds, "resolution", None)))
    if cache and dist.is_main():
        stats.save(path)
    return stats


# ---------------------------------------------------------------------------------------------------------
# Generated features.

def generated_features(G, num_samples: int, feature_net: str, seed: int, batch_size: int, device,
                       truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                       capture_all: bool = False, num_replicates: int = 0,
                       progress: bool | None = None, state_dir=None, settings: dict | None = None) -> FeatureStats:
    """Features of `num_samples` images of G (already prepared on `device`), as streaming statistics.

    Block b (16 samples) uses z from stream (seed, 'gen/z', b) and noise from the global RNG seeded with
    (seed, 'gen/noise', b); the synthesis runs per block, the feature net per `batch_size` images.
    Features come back chunk by chunk in chunk order (whichever process computed them) and are added
    to the float64 sums one chunk at a time, so the sums are bit-identical for any batch size and any
    number of processes; images never accumulate. `state_dir` stores each chunk's features
    (`settings`: what else identifies the run).
    """
    net = load_feature_net(feature_net, device)
    batch_size = max(1, int(batch_size or 64))

    def compute(blocks, tick) -> dict:
        feats, pending = [], []

        def flush():
            if pending:
                feats.append(extract(net, torch.cat(pending)).cpu())
                pending.clear()

        for b, start, stop in blocks:
            z = streams.normal(seed, "gen/z", start, stop, G.z_dim).to(device)
            ws = G.mapping(z, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
            with streams.seeded_global_rng(seed, "gen/noise", b, device):
                img = G.synthesis(ws, noise_mode="random")
            pending.append(to_uint8(img))
            if sum(p.shape[0] for p in pending) >= batch_size:
                flush()
            tick(stop - start)
        flush()
        return dict(features=torch.cat(feats).numpy())

    fs = FeatureStats(capture_mean_cov=True, capture_all=capture_all, num_replicates=num_replicates)
    settings = dict(settings or {}, feature_net=feature_net, seed=seed, truncation_psi=truncation_psi,
                    truncation_cutoff=truncation_cutoff, device=torch.device(device).type)
    with torch.no_grad():
        for blocks, payload in run_chunks("generated-features", num_samples, compute, settings=settings,
                                          modules=dict(generator=G), state_dir=state_dir, progress=progress,
                                          desc=f"generated ({feature_net})"):
            weights = None
            if num_replicates:
                # Poisson(1) bootstrap weights per block, from the seed: the same wherever the block ran.
                weights = torch.cat([torch.poisson(torch.ones(num_replicates, streams.BLOCK_SIZE),
                                                   generator=streams.block_generator(seed, "fid/bootstrap", b))
                                     [:, :stop - start] for b, start, stop in blocks], dim=1)
            fs.append(torch.from_numpy(payload["features"]).to(device), weights)
    return fs


# ---------------------------------------------------------------------------------------------------------
# The metrics.

def _reference_label(reference) -> str | None:
    if isinstance(reference, (str, os.PathLike)):
        return str(reference)
    if isinstance(reference, ReferenceStats):
        return reference.meta.get("dataset")
    return str(getattr(reference, "name", None) or type(reference).__name__)


def fid(G, reference, num_samples: int = 50_000, num_real: int | None = None, xflip: bool = False,
        feature_net: str = "inception-v3-compat", seed: int = 0, batch_size: int = 64, device=None,
        truncation_psi: float = 1.0, truncation_cutoff: int | None = None, bootstrap: int = 10,
        cache: bool = True, progress: bool | None = None, name: str | None = None,
        features: str | None = None, state_dir=None, sqrt_method: str = "sqrtm") -> pd.DataFrame:
    """FID of `num_samples` generated images against `reference` (path, dataset, .npz or ReferenceStats).

    `num_real` = None: all reals. The result does not depend on `batch_size` nor on the number of
    torchrun processes. Interval: Poisson bootstrap over generated samples (`bootstrap` replicates;
    0 disables), value +- 1.96 sd. `features` is an alias of `feature_net` ('inception-v3' =
    'inception-v3-compat'). `state_dir`: keep finished chunks (generated features, and real features
    if the reference is computed) in its 'generated' and 'reference' subfolders and resume from them.
    `sqrt_method`: 'sqrtm' (the protocol: scipy's sqrtm of S1 S2) or 'eigh' (the eigenvalues of
    sqrt(S_real) S1 sqrt(S_real), as for the bootstrap replicates: the same number to ~1e-9 relative,
    several times faster; the synthetic benchmark's preset uses it).
    """
    if sqrt_method not in ("sqrtm", "eigh"):
        raise ConfigError(f"sqrt_method must be 'sqrtm' or 'eigh', not '{sqrt_method}'")
    feature_net = canonical_feature_net(features or feature_net)
    label = metric_name(name or "fid", feature_net)
    G, device = prepare_generator(G, device)
    with Timer() as timer:
        ref = reference_stats(reference, G.img_resolution, feature_net, num_real, xflip, batch_size=batch_size,
                              device=device, cache=cache, progress=progress,
                              state_dir=sub_state(state_dir, "reference"))
        settings = dict(metric="fid", reference=array_hash(ref.mu, ref.sigma), num_real=ref.num, xflip=bool(xflip),
                        bootstrap=bootstrap)
        fs = generated_features(G, num_samples, feature_net, seed, batch_size, device, truncation_psi,
                                truncation_cutoff, num_replicates=bootstrap, progress=progress,
                                state_dir=sub_state(state_dir, "generated"), settings=settings)
        mu, sigma = fs.mean_cov()
        if sqrt_method == "eigh":
            value = _frechet_with_root(mu, sigma, ref.mu, ref.sigma, _reference_root(ref.sigma, settings["reference"]))
        else:
            value = frechet_distance(mu, sigma, ref.mu, ref.sigma)
        ci = (float("nan"), float("nan"))
        if bootstrap > 1:
            reps = []
            for b in range(bootstrap):
                factor = fs.replicate_factor(b)    # fewer samples than dimensions: the n x n form
                reps.append(_frechet_factored(*factor, ref.mu, ref.sigma) if factor is not None else
                            _frechet_with_root(*fs.replicate_mean_cov(b), ref.mu, ref.sigma,
                                               _reference_root(ref.sigma, settings["reference"])))
            ci = normal_interval(value, reps)
    row = dict(metric=label, value=value, ci_low=ci[0], ci_high=ci[1],
               ci_method=f"poisson-bootstrap({bootstrap}) over generated, normal" if bootstrap > 1 else None,
               num_samples=num_samples, seed=seed, psi=truncation_psi, truncation_cutoff=truncation_cutoff,
               space=None, feature_net=feature_net, time_s=timer.elapsed, num_real=ref.num,
               reference=_reference_label(reference), reference_key=ref.meta.get("key"), xflip=bool(xflip),
               feature_dim=int(mu.shape[0]), sqrt_method=sqrt_method)
    return make_table(G, [row])


def kid(G, reference, num_samples: int = 50_000, num_real: int | None = 50_000, xflip: bool = False,
        feature_net: str = "inception-v3-compat", num_subsets: int = 100, max_subset_size: int = 1000,
        seed: int = 0, batch_size: int = 64, device=None, truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None, bootstrap: int = 10, cache: bool = True,
        progress: bool | None = None, name: str | None = None, features: str | None = None,
        state_dir=None) -> pd.DataFrame:
    """KID of `num_samples` generated images against `reference` (features are kept for both sides)."""
    feature_net = canonical_feature_net(features or feature_net)
    label = metric_name(name or "kid", feature_net)
    G, device = prepare_generator(G, device)
    with Timer() as timer:
        ref = reference_stats(reference, G.img_resolution, feature_net, num_real, xflip, capture_all=True,
                              batch_size=batch_size, device=device, cache=cache, progress=progress,
                              state_dir=sub_state(state_dir, "reference"))
        settings = dict(metric="kid", reference=array_hash(ref.features), num_real=ref.num, xflip=bool(xflip),
                        bootstrap=bootstrap, num_subsets=num_subsets, max_subset_size=max_subset_size)
        fs = generated_features(G, num_samples, feature_net, seed, batch_size, device, truncation_psi,
                                truncation_cutoff, capture_all=True, progress=progress,
                                state_dir=sub_state(state_dir, "generated"), settings=settings)
        gen = fs.get_all()
        value = kernel_distance(gen, ref.features, num_subsets, max_subset_size, seed)
        ci = (float("nan"), float("nan"))
        if bootstrap > 1:
            rng = np.random.default_rng(streams.block_seed(seed, "kid/bootstrap", 0))
            reps = [kernel_distance(gen, ref.features, num_subsets, max_subset_size, seed,
                                    gen_index=rng.integers(0, len(gen), len(gen))) for _ in range(bootstrap)]
            ci = normal_interval(value, reps)
    row = dict(metric=label, value=value, ci_low=ci[0], ci_high=ci[1],
               ci_method=f"bootstrap({bootstrap}) over generated, normal" if bootstrap > 1 else None,
               num_samples=num_samples, seed=seed, psi=truncation_psi, truncation_cutoff=truncation_cutoff,
               space=None, feature_net=feature_net, time_s=timer.elapsed, num_real=ref.num,
               reference=_reference_label(reference), reference_key=ref.meta.get("key"), xflip=bool(xflip),
               feature_dim=int(gen.shape[1]), kid_subsets=num_subsets,
               kid_subset_size=min(len(gen), ref.num, max_subset_size))
    return make_table(G, [row])


def preset_reference_stats(preset: str, reference, resolution: int, device=None, batch_size: int | None = None,
                           progress: bool | None = None) -> ReferenceStats | None:
    """The (cached) reference statistics that FID/KID preset `preset` will use; None for other presets.

    Lets a caller compute them once before running presets in several processes at the same time.
    """
    from .registry import get_preset

    p = get_preset(preset)
    if p.routine not in (fid, kid):
        return None
    kw = p.fn.keywords
    defaults = inspect.signature(p.routine).parameters
    feature_net = kw.get("features") or kw.get("feature_net", defaults["feature_net"].default)
    return reference_stats(reference, resolution, feature_net, kw.get("num_real", defaults["num_real"].default),
                           kw.get("xflip", False), capture_all=p.routine is kid, batch_size=batch_size or 64,
                           device=metric_device(device), progress=progress)


# ---------------------------------------------------------------------------------------------------------
# Presets (specs/metrics.md §3; ADA metric_main.py).

register_preset("fid50k_full", partial(fid, num_samples=50_000, num_real=None, xflip=False), needs=("reference",))
register_preset("fid50k", partial(fid, num_samples=50_000, num_real=50_000), needs=("reference",))
register_preset("kid50k", partial(kid, num_samples=50_000, num_real=50_000, num_subsets=100, max_subset_size=1000),
                needs=("reference",))
register_preset("fd_synth", partial(fid, num_samples=50_000, num_real=None, xflip=False, feature_net="synth-fd",
                                    sqrt_method="eigh"),
                needs=("reference",))
