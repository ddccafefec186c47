"""k-nearest-neighbour balls on feature sets, in chunks: the machinery of precision_recall.py and
density_coverage.py (docs/metrics-distribution.md).

A set's *manifold* (Kynkäänniemi et al., NeurIPS 2019) is the union of the balls B(x_i, r_i), r_i the distance
from x_i to its k-th nearest neighbour among the *other* points of the set. Two passes over [row_batch,
col_batch] blocks of pairwise squared distances compute everything the four metrics need:

    kth_neighbour_sq(x, k)       r_i^2 for every point: a running k + 4 smallest per row (torch.topk of each
                                 block, merged with the running best); the point itself is masked (+inf), which
                                 equals NVIDIA's "(k+1)-th smallest distance, self included"
    ball_hits(q, c, rc2, rq2)    for each query q_j: how many centre balls contain it; for each centre c_i:
                                 whether some query lies in its ball, and whether c_i lies in some query ball

Duplicates are neighbours at distance 0, as in every reference implementation.

Arithmetic: a fast filter, then exact decisions. Every radius and every "inside" decision is a function of
the *direct* squared distance sum_d (a_d - b_d)^2, computed in float64 with a fixed pairwise summation
(halving the padded feature axis), so it has no cancellation, is exactly 0 for duplicates, is symmetric, and
does not depend on chunk sizes, on the order of the data or on the device. Only a few pairs need it: the
blocks come from the expansion |a|^2 + |b|^2 - 2 a.b in float64 (one matmul per block), whose error is at
most (2 dim + 64) u (|a|^2 + |b|^2), u = 2^-53; a pair is decided from the block when it lies outside that
band around its threshold, and recomputed directly when inside it (near ties, duplicates, integer-valued
features). The radii are the direct distances of the k + 4 block candidates; a row whose (k+4)-th
candidate lies within the band of its k-th is searched again over the whole set. NVIDIA
(stylegan2-ada-pytorch metrics/precision_recall.py) uses torch.cdist on float16 features, the same expansion
with float16 results; Kynkäänniemi's TensorFlow code the expansion in float32; prdc sklearn's expansion with a
float64 upcast, rounded to float32 (docs/metrics-distribution.md compares them).

Memory: features stay in their stored dtype (float16 on disk is fine, and is what NVIDIA computes on; chunks
are cast to float64 when used) and are moved to `device` once. Per block the work holds a row chunk and a
column chunk in float64, the [row_batch, col_batch] float64 block and up to four boolean blocks (certain and
ambiguous, for centre and query balls), plus O(row_batch * k) running candidates and batches of 2^22 float64
elements for direct recomputation; never an N x N matrix. For NVIDIA's pr50k3_full (50k generated, 200k real,
4096-d VGG16 fc features) at the defaults row_batch = col_batch = 10,000:

    features on the device    200k x 4096 x 2 B = 1.64 GB real + 0.41 GB generated (float16; float32: 3.28 + 0.82)
    squared norms, radii      250k x 8 B x 2 = 4 MB
    row + column chunk        2 x 10,000 x 4096 x 8 B = 0.66 GB
    distance block            10,000 x 10,000 x 8 B = 0.80 GB
    boolean blocks            4 x 10,000 x 10,000 x 1 B = 0.40 GB
    direct recomputation      both operands and their difference, 3 x 2^22 x 8 B, + temporaries = 0.13 GB

peak about 2.05 + 1.99 = 4.0 GB with float16 features (6.1 GB with float32 ones), against 160 GB for one
200k x 200k float32 matrix. Work: about 5.1e14 float64 multiply-adds (radii 200k^2 + 50k^2, one shared
50k x 200k pass, times 4096), plus k + 4 direct distances per point for the radii. Measured on the CPU at
a smaller scale (20k real, 5k generated, 1024-d float16, batches of 4,000), the peak resident memory grew
by 421 MB over the features, against 0.39 GB by the same count.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, MetricError
from ..utils import resolve_device

ROW_BATCH = 10_000  # NVIDIA's pr50k3 / pr50k3_full row_batch_size and col_batch_size (metrics/metric_main.py)
COL_BATCH = 10_000
EXTRA_CANDIDATES = 4  # radii: block candidates kept beyond k, so that near ties rarely need a second search
U64 = 2.0 ** -53  # float64 unit roundoff
DIRECT_ELEMENTS = 1 << 22  # float64 elements per batch of direct recomputation (32 MB)
FLOAT16_SLACK = 2.0 ** -20  # relative band around float16 rounding midpoints (covers float64 -> float32 -> float16)


@dataclass
class FeatureSet:
    """A validated feature set on the compute device: `x` [n, dim] in its stored dtype, `sq` [n] float64 |x|^2,
    and the chunking to use with it."""

    name: str
    x: torch.Tensor
    sq: torch.Tensor
    row_batch: int
    col_batch: int

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def margin(self) -> float:
        """Bound on |expansion - exact| in units of |a|^2 + |b|^2 (float64 matmul of dim terms, two norms, the
        direct sum's own rounding), with room to spare."""
        return (2 * self.x.shape[1] + 64) * U64

    def rows(self, start: int, stop: int) -> torch.Tensor:
        return self.x[start:stop].to(torch.float64)


def check_chunking(row_batch, col_batch) -> None:
    for name, v in (("row_batch", row_batch), ("col_batch", col_batch)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")


def check_k(k, sets) -> None:
    """k neighbours need k + 1 points in every set whose radii are computed."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}")
    for s in sets:
        if k >= len(s):
            raise MetricError(f"k = {k} needs more than {k} {s.name} features, got {len(s)}")


def prepare(features, name: str, device=None, row_batch: int = ROW_BATCH, col_batch: int = COL_BATCH) -> FeatureSet:
    """Validate `features` ([n, dim] numpy array or tensor, n >= 1, finite) and put it on `device` once.

    device None: CUDA when present, else CPU (ganeval.utils.resolve_device)."""
    check_chunking(row_batch, col_batch)
    device = resolve_device(device)
    if isinstance(features, torch.Tensor):
        x = features.detach()
    else:
        arr = np.asarray(features)
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise MetricError(f"{name} features must be numbers, got dtype {arr.dtype}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # read-only arrays (np.load(mmap_mode='r')) are shared; never written
            x = torch.as_tensor(arr)
    if x.ndim != 2:
        raise MetricError(f"{name} features must be a 2-D [n, dim] array, got shape {tuple(x.shape)}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise MetricError(f"{name} features are empty (shape {tuple(x.shape)})")
    if x.is_complex():
        raise MetricError(f"{name} features must be real numbers, got {x.dtype}")
    x = x.to(device)
    sq = torch.empty(x.shape[0], dtype=torch.float64, device=device)
    for start in range(0, x.shape[0], row_batch):
        sq[start:start + row_batch] = x[start:start + row_batch].to(torch.float64).square().sum(1)
    bad = ~torch.isfinite(sq)  # a NaN or Inf anywhere in a row makes its squared norm non-finite
    if bool(bad.any()):
        row = int(torch.nonzero(bad)[0])
        raise MetricError(f"{name} features contain NaN or Inf (or values beyond 1e154), first at row {row}")
    return FeatureSet(name, x, sq, int(row_batch), int(col_batch))


def check_same_dim(a: FeatureSet, b: FeatureSet) -> None:
    if a.x.shape[1] != b.x.shape[1]:
        raise MetricError(f"{a.name} features have {a.x.shape[1]} dimensions, {b.name} features {b.x.shape[1]}")


def direct_sq(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """sum_d (a - b)^2 per row of a, b [P, dim] (float64): squares summed pairwise by halving the zero-padded
    axis, elementwise operations only, so a row's value depends on nothing but its two feature vectors."""
    d = a - b
    d.mul_(d)
    width = 1 << (d.shape[1] - 1).bit_length()
    if width != d.shape[1]:
        d = F.pad(d, (0, width - d.shape[1]))
    while d.shape[1] > 1:
        half = d.shape[1] // 2
        d = d[:, :half] + d[:, half:]
    return d[:, 0]


def pair_sq(a: FeatureSet, ia: torch.Tensor, b: FeatureSet, ib: torch.Tensor) -> torch.Tensor:
    """Direct squared distances between a.x[ia] and b.x[ib] (index tensors of equal length), float64."""
    out = torch.empty(len(ia), dtype=torch.float64, device=a.x.device)
    step = max(1, DIRECT_ELEMENTS // (1 << (a.x.shape[1] - 1).bit_length()))
    for s in range(0, len(ia), step):
        out[s:s + step] = direct_sq(a.x[ia[s:s + step]].to(torch.float64), b.x[ib[s:s + step]].to(torch.float64))
    return out


def _sq_block(a: torch.Tensor, a_sq: torch.Tensor, b: torch.Tensor, b_sq: torch.Tensor) -> torch.Tensor:
    """[len(a), len(b)] squared distances |a|^2 + |b|^2 - 2 a.b, clamped at 0, float64, in one buffer."""
    d = a @ b.T
    return d.mul_(-2).add_(a_sq[:, None]).add_(b_sq[None, :]).clamp_(min=0)


def kth_sq(s: FeatureSet, k: int) -> torch.Tensor:
    """Direct squared distance of every point of `s` to its k-th nearest other point: [n] float64 on the CPU."""
    check_k(k, [s])
    n = len(s)
    c = min(k + EXTRA_CANDIDATES, n - 1)
    max_sq = float(s.sq.max())
    out = torch.empty(n, dtype=torch.float64)
    again = []
    for r0 in range(0, n, s.row_batch):
        rows, rows_sq = s.rows(r0, r0 + s.row_batch), s.sq[r0:r0 + s.row_batch]
        best_v = torch.full((rows.shape[0], c), float("inf"), dtype=torch.float64, device=rows.device)
        best_i = torch.zeros((rows.shape[0], c), dtype=torch.int64, device=rows.device)
        for c0 in range(0, n, s.col_batch):
            d = _sq_block(rows, rows_sq, s.rows(c0, c0 + s.col_batch), s.sq[c0:c0 + s.col_batch])
            d.diagonal(offset=r0 - c0).fill_(float("inf"))  # the pairs (i, i): a point is not its own neighbour
            v, i = torch.topk(d, min(c, d.shape[1]), dim=1, largest=False)
            v, i = torch.cat([best_v, v], dim=1), torch.cat([best_i, i + c0], dim=1)
            best_v, pos = torch.topk(v, c, dim=1, largest=False)
            best_i = i.gather(1, pos)
        row_idx = torch.arange(r0, r0 + rows.shape[0], device=rows.device)
        exact = pair_sq(s, row_idx[:, None].expand(-1, c).reshape(-1), s, best_i.reshape(-1)).view(-1, c)
        r2 = torch.kthvalue(exact, k, dim=1).values
        if c < n - 1:  # a point left out has a direct distance >= its block value - margin >= best_v[:, -1] - margin
            unsure = best_v[:, -1] - s.margin * (rows_sq + max_sq) <= r2
            again.append(row_idx[unsure])
        out[r0:r0 + rows.shape[0]] = r2.cpu()
    again = torch.cat(again) if again else torch.zeros(0, dtype=torch.int64)
    if len(again):
        out[again.cpu()] = _kth_search(s, again, out[again.cpu()].to(s.x.device), k).cpu()
    return out


def _kth_search(s: FeatureSet, idx: torch.Tensor, bound: torch.Tensor, k: int) -> torch.Tensor:
    """k-th direct distance of the points `idx`, each of which has k other points within squared distance `bound`:
    every point whose block value is within the margin of `bound` is recomputed directly."""
    out = torch.empty(len(idx), dtype=torch.float64, device=s.x.device)
    for r0 in range(0, len(idx), s.row_batch):
        ri = idx[r0:r0 + s.row_batch]
        rows, rows_sq, lim = s.x[ri].to(torch.float64), s.sq[ri], bound[r0:r0 + s.row_batch]
        found_r, found_v = [], []
        for c0 in range(0, len(s), s.col_batch):
            cols_sq = s.sq[c0:c0 + s.col_batch]
            d = _sq_block(rows, rows_sq, s.rows(c0, c0 + s.col_batch), cols_sq)
            near = d <= lim[:, None] + s.margin * (rows_sq[:, None] + cols_sq[None, :])
            near &= ri[:, None] != torch.arange(c0, c0 + d.shape[1], device=d.device)[None, :]
            i, j = torch.nonzero(near, as_tuple=True)
            found_r.append(i)
            found_v.append(pair_sq(s, ri[i], s, j + c0))
        r, v = torch.cat(found_r), torch.cat(found_v)
        v, perm = torch.sort(v, stable=True)
        r, perm = torch.sort(r[perm], stable=True)  # by row, each row's values ascending
        per_row = torch.bincount(r, minlength=len(ri))
        if bool((per_row < k).any()):  # cannot happen while the margin bounds the matmul's rounding
            raise RuntimeError("k-NN search found fewer than k neighbours within the bound")
        out[r0:r0 + len(ri)] = v[perm][torch.cumsum(per_row, 0) - per_row + k - 1]
    return out


@dataclass
class Balls:
    """Balls around a set's points as the comparisons see them: the block filter tests `threshold` with a
    `slack` beyond the arithmetic margin; `decide(values, index)` settles directly computed pairs (on the CPU)."""

    threshold: torch.Tensor
    slack: torch.Tensor
    decide: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def check_balls(closed: bool, float16: bool) -> None:
    if float16 and not closed:
        raise ConfigError("float16 distances are compared as NVIDIA does, with <=; closed=False does not apply")


def make_balls(r2: torch.Tensor, closed: bool = True, float16: bool = False, device=None) -> Balls:
    """Balls of squared radii `r2` (float64, CPU). closed: d <= r inside; else d < r. float16: inside when
    float16(d) <= float16(r), NVIDIA's comparison of float16 distances (closed only)."""
    check_balls(closed, float16)
    r2 = r2.to(torch.float64).cpu()
    if not float16:
        decide = (lambda v, j: v <= r2[j]) if closed else (lambda v, j: v < r2[j])
        return Balls(r2.to(device), torch.zeros_like(r2, device=device), decide)
    r16 = r2.sqrt().to(torch.float16)
    if not bool(torch.isfinite(r16).all()):
        raise MetricError("k-NN radii exceed the range of float16: the features are too large for float16 distances")
    mid = (r16.double() + torch.nextafter(r16, torch.full_like(r16, float("inf"))).double()) / 2
    # float16(d) <= r16 exactly when d lies below the rounding midpoint above r16 (up to ties at the midpoint)
    threshold = mid.square()
    return Balls(threshold.to(device), (FLOAT16_SLACK * threshold).to(device),
                 lambda v, j: v.sqrt().to(torch.float16) <= r16[j])


@dataclass
class BallHits:
    """What one pass over the query x centre distances found.

    query_counts     [n_queries] int64: how many centre balls contain each query
    center_covered   [n_centers] bool: whether some query lies in the ball of each centre
    center_in_query  [n_centers] bool: whether each centre lies in some query ball (when the queries have balls;
                     else None)
    """

    query_counts: torch.Tensor
    center_covered: torch.Tensor
    center_in_query: torch.Tensor | None


def _settle(q: FeatureSet, c: FeatureSet, mask: torch.Tensor, r0: int, c0: int, balls: Balls, on_query: bool):
    """Directly recompute the pairs of `mask` ([rows, cols] of the block at r0, c0) and decide them against the
    centre balls (on_query False) or the query balls (True): (row, col) block indices of the pairs inside."""
    i, j = torch.nonzero(mask, as_tuple=True)
    v = pair_sq(q, i + r0, c, j + c0).cpu()
    ball = (i + r0 if on_query else j + c0).cpu()
    inside = balls.decide(v, ball).to(mask.device)
    return i[inside], j[inside]


def hits(q: FeatureSet, c: FeatureSet, c_balls: Balls, q_balls: Balls | None = None) -> BallHits:
    """Ball membership between queries `q` and centres `c` (see BallHits), decided on direct distances."""
    check_same_dim(q, c)
    device = q.x.device
    counts = torch.zeros(len(q), dtype=torch.int64, device=device)
    covered = torch.zeros(len(c), dtype=torch.bool, device=device)
    in_query = None if q_balls is None else torch.zeros(len(c), dtype=torch.bool, device=device)
    margin = q.margin
    for r0 in range(0, len(q), q.row_batch):
        rows, rows_sq = q.rows(r0, r0 + q.row_batch), q.sq[r0:r0 + q.row_batch]
        r1 = r0 + rows.shape[0]
        for c0 in range(0, len(c), q.col_batch):
            c1 = min(c0 + q.col_batch, len(c))
            cols_sq = c.sq[c0:c1]
            d = _sq_block(rows, rows_sq, c.rows(c0, c1), cols_sq)
            # query j in the ball of centre i: sure below threshold - band, unsure up to threshold + band
            band = margin * (rows_sq.max() + cols_sq) + c_balls.slack[c0:c1]
            sure = d < (c_balls.threshold[c0:c1] - band)[None, :]
            unsure = d <= (c_balls.threshold[c0:c1] + band)[None, :]
            unsure ^= sure
            counts[r0:r1] += sure.sum(1)
            covered[c0:c1] |= sure.any(0)
            del sure
            if bool(unsure.any()):
                i, j = _settle(q, c, unsure, r0, c0, c_balls, on_query=False)
                counts.index_add_(0, i + r0, torch.ones_like(i))
                covered[j + c0] = True
            del unsure
            if q_balls is not None:  # centre i in the ball of query j
                band = margin * (rows_sq + cols_sq.max()) + q_balls.slack[r0:r1]
                sure = d < (q_balls.threshold[r0:r1] - band)[:, None]
                unsure = d <= (q_balls.threshold[r0:r1] + band)[:, None]
                unsure ^= sure
                in_query[c0:c1] |= sure.any(0)
                del sure
                if bool(unsure.any()):
                    _, j = _settle(q, c, unsure, r0, c0, q_balls, on_query=True)
                    in_query[j + c0] = True
                del unsure
    return BallHits(counts.cpu(), covered.cpu(), None if in_query is None else in_query.cpu())


def kth_neighbour_sq(features, k: int, *, row_batch: int = ROW_BATCH, col_batch: int = COL_BATCH,
                     device=None) -> torch.Tensor:
    """Squared distance from each feature to its k-th nearest other feature of the same set: [n] float64 tensor
    on the CPU. The ball radius of Kynkäänniemi et al. and Naeem et al. is its square root."""
    return kth_sq(prepare(features, "input", device, row_batch, col_batch), k)


def ball_hits(queries, centers, center_r2, query_r2=None, *, closed: bool = True, float16: bool = False,
              row_batch: int = ROW_BATCH, col_batch: int = COL_BATCH, device=None) -> BallHits:
    """Which balls B(centers_i, sqrt(center_r2_i)) contain which queries, and (with query_r2) which centres lie in
    balls around the queries, in chunks (see BallHits and make_balls)."""
    q = prepare(queries, "query", device, row_batch, col_batch)
    c = prepare(centers, "center", q.x.device, row_batch, col_batch)
    c_r2 = _radii(center_r2, "center_r2", len(c))
    q_balls = None if query_r2 is None else make_balls(_radii(query_r2, "query_r2", len(q)), closed, float16,
                                                       q.x.device)
    return hits(q, c, make_balls(c_r2, closed, float16, q.x.device), q_balls)


def _radii(r2, name: str, n: int) -> torch.Tensor:
    r2 = torch.as_tensor(np.asarray(r2.cpu() if isinstance(r2, torch.Tensor) else r2, dtype=np.float64))
    if r2.shape != (n,) or not bool(torch.isfinite(r2).all()) or bool((r2 < 0).any()):
        raise MetricError(f"{name} must hold {n} finite, non-negative squared radii, one per point")
    return r2
