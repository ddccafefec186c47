"""Density and coverage (ganeval/metrics/density_coverage.py): balls counted by hand on a line, a brute-force N x N
reference in the style of the authors' prdc code, chunk-size invariance, input validation."""

import numpy as np
import pytest
import torch

from ganeval.errors import ConfigError, MetricError
from ganeval.metrics.density_coverage import density_coverage
from ganeval.metrics.precision_recall import precision_recall


def line(*xs):
    return np.asarray(xs, dtype=np.float64)[:, None]


def brute_dc(real, gen, k, closed=False):
    d_rr = np.sqrt(((real[:, None, :] - real[None, :, :]) ** 2).sum(-1))
    radii = np.sort(d_rr, axis=1)[:, k]  # k-th other point: the (k+1)-th smallest with the point itself
    d = np.sqrt(((real[:, None, :] - gen[None, :, :]) ** 2).sum(-1))  # [real, gen]
    inside = (np.less_equal if closed else np.less)(d, radii[:, None])
    return inside.sum(0).mean() / k, inside.any(1).mean()


def test_balls_on_a_line_by_hand():
    # k = 1: real 0, 1, 2, 3 all have radius 1. Generated 0.5 lies in the balls of 0 and 1, 1.5 in those of 1 and
    # 2, 3 in the ball of 3 (and on the sphere of 2), 10 in none.
    real, gen = line(0, 1, 2, 3), line(0.5, 1.5, 3, 10)
    out = density_coverage(real, gen, k=1, device="cpu", per_sample=True)
    assert out["gen_counts"].tolist() == [2, 2, 1, 0] and out["density"] == 5 / 4
    assert out["real_covered"].tolist() == [True, True, True, True] and out["coverage"] == 1.0
    closed = density_coverage(real, gen, k=1, closed=True, device="cpu")
    assert closed == dict(density=6 / 4, coverage=1.0)
    # k = 2: radii 2, 1, 1, 2. 0.5 is in the balls of 0 and 1 (1.5 from 2, 2.5 from 3: out); 1.5 in all four
    # (1.5 < 2 from 0 and 3, 0.5 < 1 from 1 and 2); 2.5 in those of 2 and 3. density = (2 + 4 + 2 + 0) / (2 * 4)
    out = density_coverage(real, line(0.5, 1.5, 2.5, 10), k=2, device="cpu", per_sample=True)
    assert out["gen_counts"].tolist() == [2, 4, 2, 0] and out["density"] == 1.0
    assert out["real_radii"].tolist() == [2, 1, 1, 2]


def test_coverage_counts_only_reals_reached():
    real, gen = line(0, 1, 10, 11), line(0.2, 0.4, 0.6)  # all generated crowd into the first mode
    out = density_coverage(real, gen, k=1, device="cpu", per_sample=True)
    assert out["real_covered"].tolist() == [True, True, False, False] and out["coverage"] == 0.5
    assert out["density"] == 6 / 3  # each generated point sits in both balls of the first mode


@pytest.mark.parametrize("seed, scale, k", [(1, 1.0, 5), (2, 1.4, 5), (3, 0.6, 3), (4, 1.0, 1)])
def test_matches_brute_force(seed, scale, k):
    rng = np.random.default_rng(seed)
    real, gen = rng.normal(size=(70, 6)), rng.normal(size=(50, 6)) * scale + 0.1
    for closed in (False, True):
        got = density_coverage(real, gen, k=k, closed=closed, device="cpu")
        density, coverage = brute_dc(real, gen, k, closed)
        assert got["density"] == pytest.approx(density, rel=1e-15) and got["coverage"] == coverage


def test_ties_on_a_grid_follow_the_comparison():
    rng = np.random.default_rng(5)
    real = rng.integers(-2, 3, size=(80, 3)).astype(np.float32)
    gen = rng.integers(-2, 4, size=(70, 3)).astype(np.float32)
    for closed in (False, True):
        got = density_coverage(real, gen, k=3, closed=closed, device="cpu")
        density, coverage = brute_dc(real.astype(np.float64), gen.astype(np.float64), 3, closed)
        assert got["density"] == pytest.approx(density, rel=1e-15) and got["coverage"] == coverage


def test_chunk_sizes_and_input_types_do_not_change_anything():
    rng = np.random.default_rng(6)
    real, gen = rng.normal(size=(47, 5)).astype(np.float16), rng.normal(size=(38, 5)).astype(np.float16)
    ref = density_coverage(real, gen, device="cpu", per_sample=True)
    for rb, cb in [(1, 1), (5, 8), (13, 2), (1000, 1000)]:
        got = density_coverage(torch.from_numpy(real), gen.astype(np.float64), row_batch=rb, col_batch=cb,
                               device="cpu", per_sample=True)
        for key in ref:
            np.testing.assert_array_equal(got[key], ref[key])
    assert 0 < ref["coverage"] < 1 and ref["density"] > 0


def test_radii_and_coverage_agree_with_precision_recall():
    rng = np.random.default_rng(7)
    real, gen = rng.normal(size=(40, 4)), rng.normal(size=(40, 4))
    dc = density_coverage(real, gen, k=3, closed=True, device="cpu", per_sample=True)
    pr = precision_recall(real, gen, k=3, device="cpu", per_sample=True)
    np.testing.assert_array_equal(dc["real_radii"], pr["real_radii"])
    np.testing.assert_array_equal(dc["gen_counts"] > 0, pr["gen_in_real"])  # precision = share with a count


def test_expected_values_for_one_distribution():
    # Both sets iid from one continuous law: E[density] = 1 and E[coverage] = 1 - C(N-1, k) / C(N+M-1, k).
    n = m = 100
    k = 5
    rng = np.random.default_rng(9)
    runs = [density_coverage(rng.normal(size=(n, 2)), rng.normal(size=(m, 2)), k=k, device="cpu") for _ in range(40)]
    want = 1 - np.prod([(n - 1 - i) / (n + m - 1 - i) for i in range(k)])  # 0.971; k - 1 neighbours would give 0.94
    coverage, density = np.mean([r["coverage"] for r in runs]), np.mean([r["density"] for r in runs])
    assert coverage == pytest.approx(want, abs=0.015)  # standard error of the mean over 40 runs ~0.004
    assert density == pytest.approx(1.0, abs=0.05)  # ~0.01; k - 1 neighbours would give 0.8


def test_generated_copies_of_the_reals_cover_everything():
    x = np.random.default_rng(8).normal(size=(30, 3))
    out = density_coverage(x, x, k=5, device="cpu")
    assert out["coverage"] == 1.0 and out["density"] > 0.2


def test_one_generated_sample_is_enough():
    assert density_coverage(line(0, 1, 2), line(1.5), k=1, device="cpu") == dict(density=2.0, coverage=2 / 3)


@pytest.mark.parametrize("real, gen, kw, err, match", [
    (line(0, 1, 2, 3, 4), line(0, 1, 2), dict(k=5), MetricError, "more than 5 real"),
    (line(0, 1, 2), np.zeros((0, 1)), dict(k=1), MetricError, "generated features are empty"),
    (line(0, 1, 2), line(0, np.inf), dict(k=1), MetricError, "generated features contain NaN or Inf"),
    (line(0, 1, 2), np.zeros((2, 3)), dict(k=1), MetricError, "dimensions"),
    (line(0, 1, 2), line(0, 1), dict(k=-1), ConfigError, "positive"),
    (line(0, 1, 2), line(0, 1), dict(k=1, col_batch=0), ConfigError, "col_batch"),
])
def test_bad_inputs_fail_with_one_line(real, gen, kw, err, match):
    with pytest.raises(err, match=match) as e:
        density_coverage(real, gen, device="cpu", **kw)
    assert "\n" not in str(e.value)
