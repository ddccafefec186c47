"""Kernel Inception Distance (KID), Bińkowski et al., "Demystifying MMD GANs", ICLR 2018.

Matches NVlabs/stylegan2-ada-pytorch `metrics/kernel_inception_distance.py`: unbiased MMD^2 with the
cubic polynomial kernel (x.y / d + 1)^3, averaged over 100 random subsets of min(1000, n_real, n_gen)
features per side; preset kid50k: 50k generated against the first 50k reals (docs/metrics.md, "FID
and KID"). Both sides' features are kept (reference.py, generated.py). Interval: the generated
features resampled `bootstrap` times (default 10), value +- 1.96 sd.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..errors import MetricError
from ..features.registry import canonical
from . import sampling as streams
from .common import Timer, prepare_generator
from .fid import metric_name, reference_label
from .generated import generated_features
from .options import RunOptions
from .reference import reference_stats
from .runner import array_hash, sub_state
from .stats import normal_interval
from .tables import make_table


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


def kid(G, reference, num_samples: int = 50_000, num_real: int | None = 50_000, xflip: bool = False,
        feature_net: str = "inception-v3-compat", num_subsets: int = 100, max_subset_size: int = 1000,
        cache: bool = True, *, features: str | None = None, name: str | None = None,
        opts: RunOptions | None = None, **run) -> pd.DataFrame:
    """KID of `num_samples` generated images against `reference` (features are kept for both sides).

    `opts` / `run`: the run settings (RunOptions; batch_size defaults to 64, bootstrap to 10), as for `fid`.
    """
    o = RunOptions.make(opts, **run)
    feature_net = canonical(features or feature_net)
    label = metric_name(name or "kid", feature_net)
    batch_size, bootstrap = o.batch(64), o.replicates(10)
    G, device = prepare_generator(G, o.device)
    with Timer() as timer:
        ref = reference_stats(reference, G.img_resolution, feature_net, num_real, xflip, capture_all=True,
                              batch_size=batch_size, device=device, cache=cache, progress=o.progress,
                              state_dir=sub_state(o.state_dir, "reference"))
        settings = dict(metric="kid", reference=array_hash(ref.features), num_real=ref.num, xflip=bool(xflip),
                        bootstrap=bootstrap, num_subsets=num_subsets, max_subset_size=max_subset_size)
        fs = generated_features(G, num_samples, feature_net, o.seed, batch_size, device, o.truncation_psi,
                                o.truncation_cutoff, capture_all=True, progress=o.progress,
                                state_dir=sub_state(o.state_dir, "generated"), settings=settings)
        gen = fs.get_all()
        if gen.shape[1] != ref.features.shape[1]:
            raise MetricError(f"the reference features have {ref.features.shape[1]} dimensions, those of "
                              f"'{feature_net}' {gen.shape[1]}: features of another feature net")
        value = kernel_distance(gen, ref.features, num_subsets, max_subset_size, o.seed)
        ci = (float("nan"), float("nan"))
        if bootstrap > 1:
            rng = np.random.default_rng(streams.block_seed(o.seed, "kid/bootstrap", 0))
            reps = [kernel_distance(gen, ref.features, num_subsets, max_subset_size, o.seed,
                                    gen_index=rng.integers(0, len(gen), len(gen))) for _ in range(bootstrap)]
            ci = normal_interval(value, reps)
    row = dict(metric=label, value=value, ci_low=ci[0], ci_high=ci[1],
               ci_method=f"bootstrap({bootstrap}) over generated, normal" if bootstrap > 1 else None,
               num_samples=num_samples, seed=o.seed, psi=o.truncation_psi, truncation_cutoff=o.truncation_cutoff,
               space=None, feature_net=feature_net, time_s=timer.elapsed, num_real=ref.num,
               reference=reference_label(reference), reference_key=ref.meta.get("key"), xflip=bool(xflip),
               feature_dim=int(gen.shape[1]), kid_subsets=num_subsets,
               kid_subset_size=min(len(gen), ref.num, max_subset_size))
    return make_table(G, [row])
