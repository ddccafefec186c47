"""Density and coverage, Naeem et al., "Reliable Fidelity and Diversity Metrics for Generative Models",
ICML 2020 (docs/metrics-distribution.md, "Density and coverage").

Only the real set gets balls, B(X_i, NND_k(X_i)) with NND_k the distance to the k-th nearest other real
feature (the same radii as precision_recall.py):

    density  = 1/(k M) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))]    M generated Y_j; 1 on average for
                                                                     samples drawn like the reals; unbounded
    coverage = 1/N sum_i 1[exists j: Y_j in B(X_i, NND_k(X_i))]    N real X_i; in [0, 1]

"In the ball" is strict, d < NND_k, as in the authors' code (github.com/clovaai/generative-evaluation-prdc,
prdc/prdc.py); `closed=True` gives d <= NND_k, the convention of precision_recall.py. The two differ only
when a distance equals a radius exactly (duplicates, quantised features). Every comparison is decided on
direct float64 distances (knn.py); prdc compares float32-rounded distances from sklearn's expansion.

Constants: k = 5 with 10,000 real and 10,000 generated samples, as in the authors' README example. When both
sets come from one distribution, E[density] = 1 and E[coverage] = 1 - C(N-1, k) / C(N+M-1, k) (a real point
is uncovered when its k nearest neighbours in the pooled sample are all real), about 1 - 2^-k = 0.97 at
k = 5, M = N. Features: 4096-d VGG16 fc features, as for precision and recall.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..features.registry import canonical
from . import sampling as streams
from .common import Timer, prepare_generator
from .fid import reference_label
from .generated import net_suffixed, real_and_generated
from .knn import COL_BATCH, ROW_BATCH, check_k, check_same_dim, hits, kth_sq, make_balls, prepare
from .options import RunOptions
from .stats import fraction_rows
from .tables import make_table

K = 5  # Naeem et al.; E[coverage] ~ 1 - 2^-k = 0.97 for identical distributions


def density_coverage(real, gen, k: int = K, *, closed: bool = False, row_batch: int = ROW_BATCH,
                     col_batch: int = COL_BATCH, device=None, per_sample: bool = False) -> dict:
    """Density and coverage of `gen` [M, dim] against `real` [N, dim] (Naeem et al.); `real` needs more than k rows.

    Returns dict(density=float, coverage=float); with `per_sample`, also `gen_counts` [M] (int64: how many real
    balls contain each generated feature; density = gen_counts.mean() / k), `real_covered` [N] (bool) and
    `real_radii` [N] (float64 NND_k). row_batch / col_batch bound the memory and do not change the result
    (knn.py); device None: CUDA when present.
    """
    r = prepare(real, "real", device, row_batch, col_batch)
    g = prepare(gen, "generated", r.x.device, row_batch, col_batch)
    check_same_dim(r, g)
    check_k(k, [r])
    real_r2 = kth_sq(r, k)
    h = hits(g, r, make_balls(real_r2, closed, device=r.x.device))
    counts, covered = h.query_counts.numpy(), h.center_covered.numpy()
    out = dict(density=float(counts.sum() / (k * len(g))), coverage=float(covered.mean()))
    if per_sample:
        out.update(gen_counts=counts, real_covered=covered, real_radii=np.sqrt(real_r2.numpy()))
    return out


# ---------------------------------------------------------------------------------------------------------
# The metric on a generator.

def density_coverage_metric(G, reference, num_samples: int = 50_000, num_real: int | None = 50_000, k: int = K,
                            feature_net: str = "vgg16-fc7", xflip: bool = False, cache: bool = True, *,
                            name: str | None = None, opts: RunOptions | None = None, **run) -> pd.DataFrame:
    """Density and coverage of `num_samples` generated images against the first `num_real` reals (None: all) in
    `feature_net` space (the features precision/recall uses, so both share one generation pass); two rows,
    f'{name}_density' and f'{name}_coverage'. Intervals: percentile bootstrap (default 1000 replicates) over the
    generated samples (density) or the real ones (coverage), the real balls held fixed.
    """
    o = RunOptions.make(opts, **run)
    feature_net = canonical(feature_net)
    base = net_suffixed(name or f"dc{k}", feature_net, "vgg16-fc7")
    G, _ = prepare_generator(G, o.device)
    with Timer() as timer:
        ref, gen, device = real_and_generated(G, reference, feature_net, num_samples, num_real, o, xflip=xflip,
                                              cache=cache, settings=dict(metric="dc"))
        out = density_coverage(ref.features, gen, k=k, device=device, per_sample=True)
    parts = [("density", out["density"], out["gen_counts"] / k, "generated"),
             ("coverage", out["coverage"], out["real_covered"], "real")]
    rows = fraction_rows(base, parts, o.replicates(1000), streams.block_seed(o.seed, "dc/bootstrap", 0),
                         num_samples=num_samples, seed=o.seed, psi=o.truncation_psi,
                         truncation_cutoff=o.truncation_cutoff, space=None, feature_net=feature_net,
                         time_s=timer.elapsed, num_real=ref.num, reference=reference_label(reference),
                         reference_key=ref.meta.get("key"), xflip=bool(xflip), feature_dim=int(gen.shape[1]),
                         nhood_size=k)
    return make_table(G, rows)
