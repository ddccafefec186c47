"""Improved precision and recall, Kynkäänniemi et al., "Improved Precision and Recall Metric for Assessing
Generative Models", NeurIPS 2019 (docs/metrics-distribution.md, "Precision and recall").

The manifold of a feature set is the union of balls around its points, each with radius the distance to
the point's k-th nearest neighbour within the set, the point itself not counted:

    precision = fraction of generated features inside the real manifold
    recall    = fraction of real features inside the generated manifold

"Inside" is d(x, c_i) <= r_i, a closed ball, as the authors' code (github.com/kynkaat/
improved-precision-and-recall-metric, precision_recall.py) and NVlabs/stylegan2-ada-pytorch
(metrics/precision_recall.py) both write it; prdc writes `<` (closed=False). Distances are Euclidean on the
raw features, not normalised. NVIDIA takes the (k+1)-th smallest distance of a point to its own set, itself
included at distance 0; that is the k-th nearest other point, which is how knn.py computes it.

Arithmetic. By default every comparison is decided on exact-as-float64 direct distances (knn.py says how,
and what memory a run needs). NVIDIA casts the features to float16 and calls torch.cdist on them, so its
distances and radii are float16 values (11 significant bits) and `<=` also admits every probe whose
distance merely rounds to the radius. In high dimensions distances concentrate (their spread is a few per
cent), so such ties are not rare: on synthetic ReLU features (docs/metrics-distribution.md has the figures)
NVIDIA's code, run on the CPU, gave precision and recall up to 3 points above the exact values.
`float16=True` compares float16(distance) <= float16(radius) from exact distances, which brought the
difference under 1 point; the rest is the float16 rounding inside NVIDIA's distance expansion, which
depends on its kernels and is not reproduced.

Constants of NVIDIA's presets (metrics/metric_main.py): pr50k3_full takes k = 3, 50,000 generated
against all reals up to 200,000, no x-flips; pr50k3 (legacy) 50,000 reals; row and column batches of
10,000. Features: the 4096-d fc output of NVIDIA's VGG16 (vgg16.pt, `return_features=True`), held in
float16; that network is the feature net's business, not this module's.

This pure core takes the features themselves (numpy or torch, any float dtype).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..features.registry import canonical
from . import sampling as streams
from .common import Timer, prepare_generator
from .fid import reference_label
from .generated import net_suffixed, real_and_generated
from .knn import COL_BATCH, ROW_BATCH, check_balls, check_k, check_same_dim, hits, kth_sq, make_balls, prepare
from .options import RunOptions
from .stats import fraction_rows
from .tables import make_table

K = 3  # NVIDIA's nhood_size for pr50k3 / pr50k3_full, and the k of the paper's experiments


def precision_recall(real, gen, k: int = K, *, closed: bool = True, float16: bool = False,
                     row_batch: int = ROW_BATCH, col_batch: int = COL_BATCH, device=None,
                     per_sample: bool = False) -> dict:
    """Improved precision and recall of `gen` [M, dim] against `real` [N, dim], k-NN balls (Kynkäänniemi et al.).

    Returns dict(precision=float, recall=float); with `per_sample`, also `gen_in_real` [M] and `real_in_gen` [N]
    (numpy bool: which generated features lie in the real manifold and vice versa, e.g. for a bootstrap over
    them with metrics/stats.py) and `real_radii` [N], `gen_radii` [M] (float64 k-NN distances).
    `closed`: d <= radius counts as inside (Kynkäänniemi, NVIDIA); False: d < radius (prdc's convention).
    `float16`: compare distances and radii rounded to float16, as NVIDIA's code holds them (module docstring).
    Both sets need more than k features. row_batch / col_batch bound the memory (knn.py) and do not change the
    result; device None: CUDA when present.
    """
    r = prepare(real, "real", device, row_batch, col_batch)
    g = prepare(gen, "generated", r.x.device, row_batch, col_batch)
    check_same_dim(r, g)
    check_k(k, [r, g])
    check_balls(closed, float16)
    real_r2, gen_r2 = kth_sq(r, k), kth_sq(g, k)
    # One pass over generated x real blocks answers both questions: generated j in a real ball (precision)
    # and real i in a generated ball (recall).
    h = hits(g, r, make_balls(real_r2, closed, float16, r.x.device), make_balls(gen_r2, closed, float16, r.x.device))
    gen_in_real = (h.query_counts > 0).numpy()
    real_in_gen = h.center_in_query.numpy()
    out = dict(precision=float(gen_in_real.mean()), recall=float(real_in_gen.mean()))
    if per_sample:
        out.update(gen_in_real=gen_in_real, real_in_gen=real_in_gen,
                   real_radii=np.sqrt(real_r2.numpy()), gen_radii=np.sqrt(gen_r2.numpy()))
    return out


# ---------------------------------------------------------------------------------------------------------
# The metric on a generator.

def precision_recall_metric(G, reference, num_samples: int = 50_000, num_real: int | None = 200_000, k: int = K,
                            feature_net: str = "vgg16-fc7", float16: bool = False, xflip: bool = False,
                            cache: bool = True, *, name: str | None = None, opts: RunOptions | None = None,
                            **run) -> pd.DataFrame:
    """Precision and recall of `num_samples` generated images against the first `num_real` reals (None: all) in
    `feature_net` space; two rows, f'{name}_precision' and f'{name}_recall' (NVIDIA's result names).

    Generated images as for FID (generated.py: per-block seeds, shared passes); the real features are cached
    float16 (reference.py). Intervals: percentile bootstrap (`bootstrap` replicates, default 1000) over the
    samples each fraction is taken over (generated for precision, real for recall), the balls held fixed.
    `opts` / `run`: the run settings (RunOptions; batch_size defaults to 64).
    """
    o = RunOptions.make(opts, **run)
    feature_net = canonical(feature_net)
    base = net_suffixed(name or f"pr{k}", feature_net, "vgg16-fc7")
    G, _ = prepare_generator(G, o.device)
    with Timer() as timer:
        ref, gen, device = real_and_generated(G, reference, feature_net, num_samples, num_real, o, xflip=xflip,
                                              cache=cache, settings=dict(metric="pr"))
        out = precision_recall(ref.features, gen, k=k, float16=float16, device=device, per_sample=True)
    parts = [("precision", out["precision"], out["gen_in_real"], "generated"),
             ("recall", out["recall"], out["real_in_gen"], "real")]
    rows = fraction_rows(base, parts, o.replicates(1000), streams.block_seed(o.seed, "pr/bootstrap", 0),
                         num_samples=num_samples, seed=o.seed, psi=o.truncation_psi,
                         truncation_cutoff=o.truncation_cutoff, space=None, feature_net=feature_net,
                         time_s=timer.elapsed, num_real=ref.num, reference=reference_label(reference),
                         reference_key=ref.meta.get("key"), xflip=bool(xflip), feature_dim=int(gen.shape[1]),
                         nhood_size=k, distance_precision="float16" if float16 else "float64")
    return make_table(G, rows)
