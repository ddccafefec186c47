"""Inception Score, Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016
(docs/metrics-distribution.md, "Inception Score").

    IS = exp( E_x KL( p(y|x) || p(y) ) ),   p(y) = the mean of p(y|x) over the samples scored together

computed, as NVlabs/stylegan2-ada-pytorch metrics/inception_score.py does (itself a port of OpenAI's
improved-gan code), on `splits` contiguous parts of the samples in the order given — part i holds rows
[i N // splits, (i + 1) N // splits) — each part with its own marginal p(y); the result is the mean and
the population standard deviation (ddof = 0, numpy's default) of the per-part scores. Preset is50k:
50,000 generated images, 10 splits.

Which probabilities: NVIDIA feeds the softmax of the TF Inception (2015-12-05) graph's 1008 logits
computed *without the output layer's bias* (`no_output_bias=True`), as OpenAI's code did; torch-fidelity
does the same ('logits_unbiased') but shuffles the samples (seed 2020) before splitting. Dropping the bias
moves the score, so the probabilities must come from a feature net that matches the protocol; this core
takes probabilities (or logits with from_logits=True) and does not know which net made them.

Arithmetic in float64, one part at a time; from logits, log p comes from log_softmax (no log of a rounded
softmax); 0 log 0 counts as 0 (a class no sample of a part predicts adds nothing; NVIDIA's float32 code
would give NaN there, which happens only if a float32 softmax underflows to 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy.special import log_softmax, xlogy

from ..errors import ConfigError, MetricError
from ..features.registry import canonical
from .common import Timer, prepare_generator
from .generated import generated_features, net_suffixed
from .options import RunOptions
from .runner import sub_state
from .tables import make_table

SPLITS = 10  # NVIDIA's is50k (metrics/metric_main.py) and OpenAI's improved-gan
SUM_TOLERANCE = 1e-3  # rows of probabilities must sum to 1 within this (float16 rows of 1008 classes: < 5e-4)


def split_scores(probs, splits: int = SPLITS, *, from_logits: bool = False) -> np.ndarray:
    """exp(mean KL(p(y|x) || p(y))) of each of `splits` contiguous parts of `probs` [N, classes]: float64 [splits]."""
    if isinstance(splits, bool) or not isinstance(splits, int | np.integer) or splits < 1:
        raise ConfigError(f"splits must be a positive integer, got {splits!r}")
    x = probs.detach().cpu() if isinstance(probs, torch.Tensor) else np.asarray(probs)
    if x.ndim != 2 or x.shape[1] == 0:
        raise MetricError(f"the Inception Score needs a 2-D [samples, classes] array, got shape {tuple(x.shape)}")
    n = x.shape[0]
    if n < splits:
        raise MetricError(f"{splits} splits need at least {splits} samples, got {n}")
    what = "logits" if from_logits else "probabilities"
    scores = np.empty(splits, dtype=np.float64)
    for i in range(splits):
        part = np.asarray(x[i * n // splits:(i + 1) * n // splits], dtype=np.float64)
        if not np.isfinite(part).all():
            raise MetricError(f"the {what} contain NaN or Inf")
        if from_logits:
            log_p = log_softmax(part, axis=1)
            p = np.exp(log_p)
            kl = (p * log_p).sum(1) - xlogy(p, p.mean(0, keepdims=True)).sum(1)
        else:
            p = part
            if (p < 0).any() or np.abs(p.sum(1) - 1).max() > SUM_TOLERANCE:
                raise MetricError("probabilities must be non-negative, rows summing to 1 (logits: from_logits=True)")
            kl = xlogy(p, p).sum(1) - xlogy(p, p.mean(0, keepdims=True)).sum(1)
        scores[i] = np.exp(kl.mean())
    return scores


def inception_score(probs, splits: int = SPLITS, *, from_logits: bool = False) -> tuple[float, float]:
    """Inception Score of class probabilities `probs` [N, classes] (numpy or torch): (mean, std) over `splits`
    contiguous parts, as NVIDIA's is50k. `from_logits`: `probs` are logits, softmax taken here.

    Which classifier and whether its output bias is applied belong to the feature net (NVIDIA: TF Inception,
    1008 classes, softmax without the output bias); see the module docstring."""
    scores = split_scores(probs, splits, from_logits=from_logits)
    return float(scores.mean()), float(scores.std())


# ---------------------------------------------------------------------------------------------------------
# The metric on a generator.

def inception_score_metric(G, num_samples: int = 50_000, splits: int = SPLITS,
                           feature_net: str = "inception-v3-compat-logits", *, name: str | None = None,
                           opts: RunOptions | None = None, **run) -> pd.DataFrame:
    """Inception Score of `num_samples` generated images: one row, value = the mean over `splits` contiguous
    parts, `is_std` their standard deviation (what papers print as mean ± std; there is no bootstrap interval).
    The logits come from `feature_net` (default: the FID Inception's 1008 logits without the output bias, as
    NVIDIA); images as for FID (generated.py: per-block seeds, shared passes)."""
    o = RunOptions.make(opts, **run)
    feature_net = canonical(feature_net)
    G, device = prepare_generator(G, o.device)
    with Timer() as timer:
        fs = generated_features(G, num_samples, feature_net, o.seed, o.batch(64), device, o.truncation_psi,
                                o.truncation_cutoff, capture_all=True, progress=o.progress,
                                state_dir=sub_state(o.state_dir, "generated"), settings=dict(metric="is"))
        scores = split_scores(fs.get_all(), splits, from_logits=True)
    row = dict(metric=net_suffixed(name or "is", feature_net, "inception-v3-compat-logits"),
               value=float(scores.mean()), ci_low=float("nan"), ci_high=float("nan"),
               ci_method=None, num_samples=num_samples, seed=o.seed, psi=o.truncation_psi,
               truncation_cutoff=o.truncation_cutoff, space=None, feature_net=feature_net, time_s=timer.elapsed,
               is_std=float(scores.std()), is_splits=splits)
    return make_table(G, [row])
