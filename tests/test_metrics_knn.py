"""k-NN radii and ball membership in chunks (ganeval/metrics/knn.py): hand-counted cases on a line, a brute-force
N x N reference, chunk-size invariance with many exact ties, float16 rounding, input validation."""

import numpy as np
import pytest
import torch

from ganeval.errors import ConfigError, MetricError
from ganeval.metrics import knn
from ganeval.metrics.knn import ball_hits, direct_sq, kth_neighbour_sq

CHUNKINGS = [(1, 1), (2, 3), (3, 7), (7, 2), (64, 5), (1000, 1000)]


def line(*xs):
    return np.asarray(xs, dtype=np.float64)[:, None]


def brute_kth_sq(x, k):
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, k - 1]


def brute_hits(q, c, c_r2, q_r2, closed=True):
    d = ((q[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    inside = np.less_equal if closed else np.less
    m = inside(d, c_r2[None, :])
    return m.sum(1), m.any(0), inside(d, q_r2[:, None]).any(0)


def test_radii_on_a_line_by_hand():
    x = line(0, 1, 3, 6, 10)
    # k = 1: nearest other point; k = 2: second nearest (3 has neighbours at 2, 3, 3)
    assert kth_neighbour_sq(x, 1, device="cpu").tolist() == [1, 1, 4, 9, 16]
    assert kth_neighbour_sq(x, 2, device="cpu").tolist() == [9, 4, 9, 16, 49]
    assert kth_neighbour_sq(x, 4, device="cpu").tolist() == [100, 81, 49, 36, 100]


def test_duplicates_are_neighbours_at_distance_zero():
    x = line(0, 0, 0, 5)
    assert kth_neighbour_sq(x, 2, device="cpu").tolist() == [0, 0, 0, 25]
    assert kth_neighbour_sq(x, 3, device="cpu").tolist() == [25, 25, 25, 25]


def test_ball_hits_on_a_line_by_hand():
    centers, c_r2 = line(0, 10), [4.0, 1.0]  # balls [-2, 2] and [9, 11]
    queries = line(-2, 1, 2, 3, 9, 11, 12)
    h = ball_hits(queries, centers, c_r2, device="cpu")
    assert h.query_counts.tolist() == [1, 1, 1, 0, 1, 1, 0]
    assert h.center_covered.tolist() == [True, True] and h.center_in_query is None
    h = ball_hits(queries, centers, c_r2, closed=False, device="cpu")  # points on a sphere are out
    assert h.query_counts.tolist() == [0, 1, 0, 0, 0, 0, 0]
    assert h.center_covered.tolist() == [True, False]
    # centre 0 is 1 from the query at 1 (radius 1), centre 10 is 2 from 12 (radius 1.5)
    h = ball_hits(queries, centers, c_r2, [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.25], device="cpu")
    assert h.center_in_query.tolist() == [True, False]
    h = ball_hits(queries, centers, c_r2, [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 4.0], device="cpu")
    assert h.center_in_query.tolist() == [True, True]


def test_overlapping_balls_count_each():
    h = ball_hits(line(0.5, 5), line(0, 1, 2), [1.0, 1.0, 1.0], device="cpu")
    assert h.query_counts.tolist() == [2, 0]  # 0.5 is in the balls of 0 and 1, not of 2


def test_matches_brute_force_on_random_sets():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(37, 5)), rng.normal(size=(23, 5)) * 1.3
    for k in (1, 3, 10):
        np.testing.assert_allclose(kth_neighbour_sq(x, k, device="cpu").numpy(), brute_kth_sq(x, k), rtol=1e-12)
    x_r2, y_r2 = brute_kth_sq(x, 3), brute_kth_sq(y, 3)
    for closed in (True, False):
        h = ball_hits(y, x, x_r2, y_r2, closed=closed, device="cpu")
        counts, covered, in_query = brute_hits(y, x, x_r2, y_r2, closed)
        assert h.query_counts.tolist() == counts.tolist() and counts.sum() > 0
        assert h.center_covered.tolist() == covered.tolist() and h.center_in_query.tolist() == in_query.tolist()


@pytest.mark.parametrize("kind", ["integers", "gaussian"])
def test_chunk_sizes_do_not_change_anything(kind):
    rng = np.random.default_rng(1)
    if kind == "integers":  # exact arithmetic and many exact ties between distances and radii
        x = rng.integers(-2, 3, size=(41, 3)).astype(np.float32)
        y = rng.integers(-2, 4, size=(29, 3)).astype(np.float32)
    else:
        x, y = rng.normal(size=(41, 6)), rng.normal(size=(29, 6))
    ref_x, ref_y = kth_neighbour_sq(x, 3, device="cpu"), kth_neighbour_sq(y, 3, device="cpu")
    ref = ball_hits(y, x, ref_x, ref_y, device="cpu")
    for rb, cb in CHUNKINGS:
        assert torch.equal(kth_neighbour_sq(x, 3, row_batch=rb, col_batch=cb, device="cpu"), ref_x)
        h = ball_hits(y, x, ref_x, ref_y, row_batch=rb, col_batch=cb, device="cpu")
        assert torch.equal(h.query_counts, ref.query_counts) and torch.equal(h.center_covered, ref.center_covered)
        assert torch.equal(h.center_in_query, ref.center_in_query)
    if kind == "integers":
        np.testing.assert_array_equal(ref_x.numpy(), brute_kth_sq(x.astype(np.float64), 3))
        assert ref.query_counts.sum() > 0 and not ref.center_covered.all()


def test_input_types():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 4)).astype(np.float16)
    ref = kth_neighbour_sq(x.astype(np.float64), 2, device="cpu")
    assert torch.equal(kth_neighbour_sq(x, 2, device="cpu"), ref)  # float16 stored, cast exactly to float64
    assert torch.equal(kth_neighbour_sq(torch.from_numpy(x), 2, device="cpu"), ref)
    assert torch.equal(kth_neighbour_sq(x.astype(np.float32).tolist(), 2, device="cpu"), ref)
    ro = x.copy()
    ro.flags.writeable = False
    assert torch.equal(kth_neighbour_sq(ro, 2, device="cpu"), ref)


def test_direct_distance_is_exact_symmetric_and_alone():
    rng = np.random.default_rng(3)
    a, b = torch.from_numpy(rng.normal(size=(9, 13))), torch.from_numpy(rng.normal(size=(9, 13)))
    d = direct_sq(a, b)
    assert torch.equal(d, direct_sq(b, a)) and torch.equal(direct_sq(a, a), torch.zeros(9, dtype=torch.float64))
    for i in range(9):  # a pair's value does not depend on the pairs computed with it
        assert torch.equal(direct_sq(a[i:i + 1], b[i:i + 1]), d[i:i + 1])
    np.testing.assert_allclose(d.numpy(), ((a - b) ** 2).sum(1).numpy(), rtol=1e-14)


def test_radii_equal_the_kth_direct_distance_exactly():
    rng = np.random.default_rng(4)
    x = torch.from_numpy(rng.normal(size=(33, 7)))
    n = len(x)
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    full = direct_sq(x[i.reshape(-1)], x[j.reshape(-1)]).view(n, n)
    full.fill_diagonal_(float("inf"))
    for k in (1, 2, 5, 32):
        want = torch.sort(full, dim=1).values[:, k - 1]
        for rb, cb in CHUNKINGS:
            assert torch.equal(kth_neighbour_sq(x, k, row_batch=rb, col_batch=cb, device="cpu"), want)


def test_no_cancellation_far_from_the_origin():
    # Points 1e-3 apart at distance 1e4 from the origin: the expansion |a|^2 + |b|^2 - 2ab loses all digits of
    # d^2 ~ 1e-6 against |a|^2 ~ 1e9 (float64 resolution ~1e-7 there); the decisions must not.
    rng = np.random.default_rng(5)
    small = rng.normal(size=(40, 8)) * 1e-3
    small[5] = small[6]  # an exact duplicate pair
    x = 1e4 + small
    ref = kth_neighbour_sq(small, 2, device="cpu").numpy()
    got = kth_neighbour_sq(x, 2, device="cpu").numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    assert kth_neighbour_sq(x, 1, device="cpu")[5] == 0 and kth_neighbour_sq(x, 1, device="cpu")[6] == 0
    q = 1e4 + rng.normal(size=(30, 8)) * 1e-3
    h = ball_hits(q, x, got, device="cpu")
    assert h.query_counts.tolist() == ball_hits(q - 1e4, small, ref, device="cpu").query_counts.tolist()
    assert 0 < h.query_counts.sum()


def test_tied_rows_are_searched_again(monkeypatch):
    calls = []
    search = knn._kth_search
    monkeypatch.setattr(knn, "_kth_search", lambda s, idx, *a: calls.append(len(idx)) or search(s, idx, *a))
    x = np.random.default_rng(6).integers(0, 3, size=(60, 2)).astype(np.float64)  # 9 sites: many ties
    got = kth_neighbour_sq(x, 3, row_batch=16, col_batch=9, device="cpu")
    assert calls and sum(calls) > 0
    np.testing.assert_array_equal(got.numpy(), brute_kth_sq(x, 3))


def test_float16_rounding_admits_what_rounds_to_the_radius():
    centers, query = line(0), line(1.0001)  # 1.0001 rounds to 1.0 in float16 (spacing 2^-10 at 1)
    assert ball_hits(query, centers, [1.0], device="cpu").query_counts.tolist() == [0]
    assert ball_hits(query, centers, [1.0], float16=True, device="cpu").query_counts.tolist() == [1]
    assert ball_hits(line(1.01), centers, [1.0], float16=True, device="cpu").query_counts.tolist() == [0]
    # a distance beyond float16's range is outside every ball; a radius beyond it cannot be compared
    assert ball_hits(line(1e6), centers, [1.0], float16=True, device="cpu").query_counts.tolist() == [0]
    with pytest.raises(MetricError, match="range of float16"):
        ball_hits(query, centers, [1e12], float16=True, device="cpu")
    with pytest.raises(ConfigError, match="closed"):
        ball_hits(query, centers, [1.0], float16=True, closed=False, device="cpu")


def test_float16_decisions_match_brute_force():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(50, 3)), rng.normal(size=(40, 3))
    x_r2, y_r2 = kth_neighbour_sq(x, 3, device="cpu"), kth_neighbour_sq(y, 3, device="cpu")
    d = torch.from_numpy(((y[:, None, :] - x[None, :, :]) ** 2).sum(-1)).sqrt().to(torch.float16)
    r16, s16 = x_r2.sqrt().to(torch.float16), y_r2.sqrt().to(torch.float16)
    want_counts, want_in_query = (d <= r16[None, :]).sum(1), (d <= s16[:, None]).any(0)
    for rb, cb in [(1, 1), (7, 5), (100, 100)]:
        h = ball_hits(y, x, x_r2, y_r2, float16=True, row_batch=rb, col_batch=cb, device="cpu")
        assert torch.equal(h.query_counts, want_counts) and torch.equal(h.center_in_query, want_in_query)
    exact = ball_hits(y, x, x_r2, y_r2, device="cpu")
    assert (h.query_counts >= exact.query_counts).all()  # rounding only adds ties


@pytest.mark.parametrize("bad, k, err, match", [
    (np.array([[0.0], [np.nan], [2.0]]), 1, MetricError, "NaN or Inf.*row 1"),
    (np.array([[0.0], [1.0], [np.inf]]), 1, MetricError, "row 2"),
    (np.zeros((0, 3)), 1, MetricError, "empty"),
    (np.zeros((3, 0)), 1, MetricError, "empty"),
    (np.zeros(5), 1, MetricError, "2-D"),
    (np.array([["a"], ["b"]]), 1, MetricError, "numbers"),
    (line(0, 1, 2), 3, MetricError, "more than 3"),
    (line(0, 1, 2), 0, ConfigError, "positive"),
    (line(0, 1, 2), 1.5, ConfigError, "positive"),
])
def test_bad_inputs_fail_with_one_line(bad, k, err, match):
    with pytest.raises(err, match=match) as e:
        kth_neighbour_sq(bad, k, device="cpu")
    assert "\n" not in str(e.value)


def test_bad_settings():
    x = line(0, 1, 2)
    for kw in (dict(row_batch=0), dict(col_batch=-1), dict(row_batch=2.5), dict(row_batch=True)):
        with pytest.raises(ConfigError):
            kth_neighbour_sq(x, 1, device="cpu", **kw)
    with pytest.raises(MetricError, match="dimensions"):
        ball_hits(np.zeros((2, 3)), np.zeros((2, 4)), [1.0, 1.0], device="cpu")
    with pytest.raises(MetricError, match="squared radii"):
        ball_hits(x, x, [1.0, -1.0, 1.0], device="cpu")
    with pytest.raises(MetricError, match="one per point"):
        ball_hits(x, x, [1.0, 1.0], device="cpu")
    with pytest.raises(ConfigError, match="device"):
        kth_neighbour_sq(x, 1, device="tpu9")
