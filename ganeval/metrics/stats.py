"""Statistics shared by the metrics: NVIDIA's percentile filter and bootstrap confidence intervals.

Intervals come in two flavours, named in each row's `ci_method` column:

* ``percentile``: the 2.5 / 97.5 percentiles of B bootstrap replicates of the statistic (PPL, LS:
  replicates are cheap, B = 1000 / 200 by default);
* ``normal``: value +- 1.96 sd of B replicates (FID, KID: each replicate costs a matrix square
  root or a KID pass, so B is small, 10 by default; with few replicates the sd is steadier than
  extreme percentiles, and centring on the point estimate sidesteps the upward bias that
  resampling with duplicates gives FID).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import norm

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def percentile_filter(values, lower: float = 1, upper: float = 99) -> np.ndarray:
    """Keep values in [P_lower (method 'lower'), P_upper (method 'higher')], as all NVIDIA PPL code does.

    The reference code wrote ``interpolation='lower'``; NumPy >= 2 spells it ``method=``. With 50,000
    distinct values this keeps 49,002 (sorted indices 499..49500).
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    lo = np.percentile(values, lower, method="lower")
    hi = np.percentile(values, upper, method="higher")
    return values[(values >= lo) & (values <= hi)]


def bootstrap_replicates(values, statistic: Callable[[np.ndarray], float] = np.mean, num_replicates: int = 1000,
                         seed: int = 0) -> np.ndarray:
    """Statistic of `num_replicates` resamples (with replacement) of the first axis of `values`."""
    values = np.asarray(values)
    rng = np.random.default_rng(seed)
    n = len(values)
    return np.array([statistic(values[rng.integers(0, n, n)]) for _ in range(num_replicates)], dtype=np.float64)


def percentile_interval(replicates, level: float = 0.95) -> tuple[float, float]:
    reps = np.asarray(replicates, dtype=np.float64)
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return float("nan"), float("nan")
    a = (1 - level) / 2
    return float(np.quantile(reps, a)), float(np.quantile(reps, 1 - a))


def normal_interval(value: float, replicates, level: float = 0.95) -> tuple[float, float]:
    reps = np.asarray(replicates, dtype=np.float64)
    reps = reps[np.isfinite(reps)]
    if reps.size < 2:
        return float("nan"), float("nan")
    z = Z95 if level == 0.95 else _normal_quantile(1 - (1 - level) / 2)
    half = z * float(reps.std(ddof=1))
    return float(value) - half, float(value) + half


def bootstrap_ci(values, statistic: Callable[[np.ndarray], float] = np.mean, num_replicates: int = 1000,
                 seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic` over the first axis of `values`."""
    if num_replicates <= 0 or len(values) < 2:
        return float("nan"), float("nan")
    return percentile_interval(bootstrap_replicates(values, statistic, num_replicates, seed), level)


def _normal_quantile(p: float) -> float:
    return float(norm.ppf(p))


def fraction_rows(base: str, parts, bootstrap: int, bootstrap_seed: int, **common) -> list[dict]:
    """Rows of metrics that are means over samples (precision, recall, density, coverage): for each
    (what, value, per-sample values, 'generated' | 'real') of `parts`, a row f'{base}_{what}' with a percentile
    bootstrap interval (`bootstrap` replicates over those samples, the k-NN balls held fixed; seeded by
    `bootstrap_seed` and the part) and the `common` columns."""
    rows = []
    for i, (what, value, per_sample, over) in enumerate(parts):
        lo = hi = float("nan")
        if bootstrap > 0:
            reps = bootstrap_replicates(np.asarray(per_sample, dtype=np.float64), np.mean, bootstrap,
                                        seed=(bootstrap_seed * 1_000_003 + 7919 * (i + 1)) % 2 ** 63)
            lo, hi = percentile_interval(reps)
        rows.append(dict(metric=f"{base}_{what}", value=value, ci_low=lo, ci_high=hi,
                         ci_method=f"percentile-bootstrap({bootstrap}) over {over} samples, balls fixed"
                         if bootstrap > 0 else None, **common))
    return rows
