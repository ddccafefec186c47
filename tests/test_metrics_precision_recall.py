"""Improved precision and recall (ganeval/metrics/precision_recall.py): points on a line counted by hand, a brute-force
N x N reference, the swap symmetry, chunk-size invariance, NVIDIA's float16 comparison, input validation."""

import numpy as np
import pytest
import torch

from ganeval.errors import ConfigError, MetricError
from ganeval.metrics.precision_recall import precision_recall


def line(*xs):
    return np.asarray(xs, dtype=np.float64)[:, None]


def brute_pr(real, gen, k, closed=True):
    def dist(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    def radii(x):
        d = dist(x, x)
        return np.sort(d, axis=1)[:, k]  # NVIDIA: the (k+1)-th smallest, the point itself (0) included

    inside = np.less_equal if closed else np.less
    d = dist(gen, real)
    return inside(d, radii(real)[None, :]).any(1).mean(), inside(d, radii(gen)[:, None]).any(0).mean()


def test_points_on_a_line_by_hand():
    # k = 1. Real 0, 1, 2, 3: radii 1, manifold [-1, 4]. Generated 0.5, 1, 6, 7: radii 0.5, 0.5, 1, 1,
    # manifold [0, 1.5] u [5, 8].
    real, gen = line(0, 1, 2, 3), line(0.5, 1, 6, 7)
    assert precision_recall(real, gen, k=1, device="cpu") == dict(precision=0.5, recall=0.5)
    # strict balls: real 0 lies exactly on the sphere of generated 0.5 (distance 0.5 = radius)
    assert precision_recall(real, gen, k=1, closed=False, device="cpu") == dict(precision=0.5, recall=0.25)
    # k = 2: real radii 2, 1, 1, 2 (manifold [-2, 5]), generated radii 0.5, 5, 5, 5.5: recall 1, precision 0.5
    assert precision_recall(real, gen, k=2, device="cpu") == dict(precision=0.5, recall=1.0)


def test_identical_sets_score_one():
    x = np.random.default_rng(0).normal(size=(25, 4))
    assert precision_recall(x, x, k=3, device="cpu") == dict(precision=1.0, recall=1.0)


@pytest.mark.parametrize("seed, scale, k", [(1, 1.0, 3), (2, 1.5, 3), (3, 0.7, 5), (4, 1.0, 1)])
def test_matches_brute_force(seed, scale, k):
    rng = np.random.default_rng(seed)
    real, gen = rng.normal(size=(60, 5)), rng.normal(size=(45, 5)) * scale + 0.2
    got = precision_recall(real, gen, k=k, device="cpu")
    want = brute_pr(real, gen, k)
    assert (got["precision"], got["recall"]) == pytest.approx(want, abs=0)
    got = precision_recall(real, gen, k=k, closed=False, device="cpu")
    assert (got["precision"], got["recall"]) == pytest.approx(brute_pr(real, gen, k, closed=False), abs=0)


def test_ties_on_a_grid_follow_the_comparison():
    rng = np.random.default_rng(5)
    real = rng.integers(-2, 3, size=(80, 3)).astype(np.float32)
    gen = rng.integers(-2, 4, size=(70, 3)).astype(np.float32)
    closed, strict = precision_recall(real, gen, device="cpu"), precision_recall(real, gen, closed=False, device="cpu")
    assert (closed["precision"], closed["recall"]) == brute_pr(real.astype(np.float64), gen.astype(np.float64), 3)
    assert (strict["precision"], strict["recall"]) == brute_pr(real.astype(np.float64), gen.astype(np.float64), 3,
                                                                 closed=False)
    assert strict["precision"] < closed["precision"]  # integer distances: many points lie exactly on a sphere


def test_swapping_the_sets_swaps_precision_and_recall():
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(50, 6)), rng.normal(size=(40, 6)) * 1.2
    ab, ba = precision_recall(a, b, device="cpu"), precision_recall(b, a, row_batch=7, col_batch=11, device="cpu")
    assert ab["precision"] == ba["recall"] and ab["recall"] == ba["precision"]


def test_chunk_sizes_and_input_types_do_not_change_anything():
    rng = np.random.default_rng(7)
    real, gen = rng.normal(size=(53, 8)).astype(np.float32), rng.normal(size=(31, 8)).astype(np.float32) * 1.1
    ref = precision_recall(real, gen, device="cpu", per_sample=True)
    for rb, cb in [(1, 1), (4, 9), (16, 3), (1000, 1000)]:
        got = precision_recall(torch.from_numpy(real), gen.tolist(), row_batch=rb, col_batch=cb, device="cpu",
                               per_sample=True)
        for key in ref:
            np.testing.assert_array_equal(got[key], ref[key])
    assert 0 < ref["precision"] < 1 and 0 < ref["recall"] < 1


def test_per_sample_outputs():
    real, gen = line(0, 1, 2, 3), line(0.5, 1, 6, 7)
    out = precision_recall(real, gen, k=1, device="cpu", per_sample=True)
    assert out["gen_in_real"].tolist() == [True, True, False, False]
    assert out["real_in_gen"].tolist() == [True, True, False, False]
    assert out["real_radii"].tolist() == [1, 1, 1, 1] and out["gen_radii"].tolist() == [0.5, 0.5, 1, 1]


def test_float16_comparison_counts_rounding_ties():
    # generated 3.0004 is 1.0004 from real 2, whose radius is 1: outside exactly, inside once both are rounded to
    # float16 (1.0004 is below 1 + 2^-11, the midpoint to the next float16); 3.0005 stays outside
    real, gen = line(0, 1, 2), line(3.0004, 3.0005, 11)
    assert precision_recall(real, gen, k=1, device="cpu")["precision"] == 0
    assert precision_recall(real, gen, k=1, float16=True, device="cpu")["precision"] == pytest.approx(1 / 3)
    rng = np.random.default_rng(8)
    real, gen = rng.normal(size=(60, 32)), rng.normal(size=(60, 32))
    exact, f16 = precision_recall(real, gen, device="cpu"), precision_recall(real, gen, float16=True, device="cpu")
    assert f16["precision"] >= exact["precision"] and f16["recall"] >= exact["recall"]


@pytest.mark.parametrize("real, gen, kw, err, match", [
    (line(0, 1, 2, 3), line(0, 1, 2), dict(k=3), MetricError, "more than 3 generated"),
    (line(0, 1), line(0, 1, 2, 3), dict(k=2), MetricError, "more than 2 real"),
    (np.zeros((0, 1)), line(0, 1), dict(k=1), MetricError, "real features are empty"),
    (line(0, 1, 2), np.zeros((0, 1)), dict(k=1), MetricError, "generated features are empty"),
    (line(0, 1, np.nan), line(0, 1, 2), dict(k=1), MetricError, "real features contain NaN"),
    (line(0, 1, 2), np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]]), dict(k=1), MetricError, "dimensions"),
    (line(0, 1, 2), line(0, 1, 2), dict(k=0), ConfigError, "positive"),
    (line(0, 1, 2), line(0, 1, 2), dict(k=1, row_batch=0), ConfigError, "row_batch"),
    (line(0, 1, 2), line(0, 1, 2), dict(k=1, float16=True, closed=False), ConfigError, "closed"),
])
def test_bad_inputs_fail_with_one_line(real, gen, kw, err, match):
    with pytest.raises(err, match=match) as e:
        precision_recall(real, gen, device="cpu", **kw)
    assert "\n" not in str(e.value)
