"""FID / KID (ganeval.metrics.fid): the distances, streaming statistics, reference caching, the metric."""


import os

import numpy as np
import pytest
import scipy.linalg
import torch

from ganeval.errors import ConfigError, DataError, MetricError, WeightsNotFoundError
from ganeval.metrics import FeatureStats, ReferenceStats, fid, frechet_distance, kernel_distance, kid, reference_stats
from ganeval.metrics.fid import metric_name
from ganeval.metrics.frechet import _sqrt_psd, frechet_factored, frechet_with_root

pytestmark = pytest.mark.usefixtures("one_thread")


def _random_cov(d, rng):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


# --------------------------------------------------------------------------------------------- distances

def test_frechet_equal_covariances_is_mean_distance():
    rng = np.random.default_rng(0)
    mu1, mu2, s = rng.normal(size=16), rng.normal(size=16), _random_cov(16, rng)
    assert frechet_distance(mu1, s, mu2, s) == pytest.approx(float(np.sum((mu1 - mu2) ** 2)), rel=1e-8)


def test_frechet_matches_direct_scipy():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=24), rng.normal(size=24)
    s1, s2 = _random_cov(24, rng), _random_cov(24, rng)
    direct = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * np.real(scipy.linalg.sqrtm(s1 @ s2)))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(direct, rel=1e-6)
    # The symmetric-eigenvalue form used for bootstrap replicates gives the same number.
    root = _sqrt_psd(s2)
    assert frechet_with_root(mu1, s1, mu2, s2, root) == pytest.approx(direct, rel=1e-6)


def test_frechet_near_singular_is_finite_and_consistent():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(5, 32)), rng.normal(size=(7, 32)) + 0.5   # rank 4 and 6 in 32 dimensions
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    v = frechet_distance(x.mean(0), s1, y.mean(0), s2)
    assert np.isfinite(v) and v > 0
    assert v == pytest.approx(frechet_with_root(x.mean(0), s1, y.mean(0), s2, _sqrt_psd(s2)),
                              rel=1e-4)


def test_fid_of_a_set_against_itself_is_zero():
    x = np.random.default_rng(3).normal(size=(300, 16))
    fs = FeatureStats()
    fs.append(x)
    mu, s = fs.mean_cov()
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-8)


def test_feature_stats_streaming_equals_numpy_and_bootstrap_weights():
    x = np.random.default_rng(4).normal(size=(101, 8)) + 3
    fs = FeatureStats(capture_all=True, num_replicates=2)
    for s in range(0, 101, 17):
        chunk = x[s:s + 17]
        fs.append(torch.from_numpy(chunk).float(), np.stack([np.ones(len(chunk)), np.full(len(chunk), 2.0)]))
    mu, sigma = fs.mean_cov()
    np.testing.assert_allclose(mu, x.astype(np.float32).mean(0), rtol=1e-6)
    np.testing.assert_allclose(sigma, np.cov(x.astype(np.float32).astype(np.float64), rowvar=False), rtol=1e-6,
                               atol=1e-9)
    # Replicate 0 has weights 1: identical to the plain statistics.
    np.testing.assert_allclose(fs.replicate_mean_cov(0)[0], mu)
    np.testing.assert_allclose(fs.replicate_mean_cov(0)[1], sigma)
    assert fs.get_all().shape == (101, 8) and fs.num == 101


def test_bootstrap_replicates_in_factored_form_equal_the_sums():
    """Fewer samples than dimensions: replicates are kept as Σ_b = A_bᵀ A_b; same statistics and distance."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(30, 48)) @ rng.normal(size=(48, 48)) * 0.3 + 1
    w = rng.poisson(1.0, size=(3, 30)).astype(np.float64)
    small = FeatureStats(num_replicates=3)
    for s in range(0, 30, 16):
        small.append(torch.from_numpy(x[s:s + 16]), w[:, s:s + 16])
    for b in range(3):
        n_b = w[b].sum()
        mu = (w[b] @ x) / n_b
        cov = ((x - mu).T * w[b]) @ (x - mu) / (n_b - 1)
        mu_f, a = small.replicate_factor(b)
        np.testing.assert_allclose(mu_f, mu, rtol=1e-12)
        np.testing.assert_allclose(a.T @ a, cov, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(small.replicate_mean_cov(b)[1], cov, rtol=1e-10, atol=1e-12)
        ref = rng.normal(size=(200, 48))
        mu2, s2 = ref.mean(0), np.cov(ref, rowvar=False)
        direct = frechet_with_root(mu, cov, mu2, s2, _sqrt_psd(s2))
        # Rank-deficient Σ_b: the D x D route takes square roots of ~1e-13 rounding noise on its zero
        # eigenvalues (the n x n one has fewer), so the two agree to ~1e-8, not to machine precision.
        assert frechet_factored(mu_f, a, mu2, s2) == pytest.approx(direct, rel=1e-7)
        assert frechet_factored(mu_f, a, mu2, s2) == pytest.approx(frechet_distance(mu, cov, mu2, s2), rel=1e-7)
    # Past D samples the kept features fold into sums: the same replicates as if summed from the start.
    x2 = np.concatenate([x, rng.normal(size=(40, 48))])
    w2 = np.concatenate([w, rng.poisson(1.0, size=(3, 40)).astype(np.float64)], axis=1)
    big = FeatureStats(num_replicates=3)
    for s in range(0, 70, 16):
        big.append(torch.from_numpy(x2[s:s + 16]), w2[:, s:s + 16])
    assert big.replicate_factor(0) is None
    n_b = w2[1].sum()
    mu = (w2[1] @ x2) / n_b
    np.testing.assert_allclose(big.replicate_mean_cov(1)[1], ((x2 - mu).T * w2[1]) @ (x2 - mu) / (n_b - 1),
                               rtol=1e-9, atol=1e-12)


def test_kernel_distance_matches_hand_formula():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(30, 6)), rng.normal(size=(40, 6)) + 0.3
    got = kernel_distance(x, y, num_subsets=1, max_subset_size=1000)   # one subset = all 30 vs 30 of y

    # Hand: the unbiased MMD^2 of the subsets the function draws.
    from ganeval.metrics import sampling as streams

    r = np.random.default_rng(streams.block_seed(0, "kid/subsets", 0))
    xs, ys = x[r.choice(30, 30, replace=False)], y[r.choice(40, 30, replace=False)]
    k = lambda a, b: (a @ b.T / 6 + 1) ** 3  # noqa: E731
    m = 30
    kxx, kyy, kxy = k(xs, xs), k(ys, ys), k(xs, ys)
    mmd = ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.sum() / m ** 2
    assert got == pytest.approx(mmd, rel=1e-5)
    # Unbiased: two samples of one distribution give ~0, a shifted one clearly more.
    a, b = rng.normal(size=(300, 6)), rng.normal(size=(300, 6))
    same = kernel_distance(a, b, num_subsets=10, max_subset_size=150)
    assert abs(same) < 0.05 * kernel_distance(a, b + 1, num_subsets=10, max_subset_size=150)


# --------------------------------------------------------------------------------------------- names

def test_metric_names_never_call_other_nets_fid(test_fd):
    assert metric_name("fid50k_full", "inception-v3-compat") == "fid50k_full"
    assert metric_name("fid50k_full", "synth-fd") == "fd_synth50k_full"
    assert metric_name("kid50k", "synth-fd") == "kd_synth50k"
    assert metric_name("fd_synth", "synth-fd") == "fd_synth"
    assert metric_name("fid", test_fd) == "fd_test"
    with pytest.raises(ConfigError):
        metric_name("fid", "alexnet")


# --------------------------------------------------------------------------------------------- the metric

def test_fid_batch_size_independent_and_reference_cached(test_fd, tmp_path, monkeypatch, metric_G, toy_dataset):
    monkeypatch.setenv("GANEVAL_CACHE", str(tmp_path / "cache"))
    G, ds = metric_G(), toy_dataset()
    a = fid(G, ds, num_samples=40, feature_net=test_fd, batch_size=4, bootstrap=4)
    reads = ds.reads
    assert reads == len(ds)
    b = fid(G, ds, num_samples=40, feature_net=test_fd, batch_size=16, bootstrap=4)
    assert ds.reads == reads  # second run read the cached statistics
    np.testing.assert_allclose(a["value"][0], b["value"][0], rtol=1e-6)
    np.testing.assert_allclose(a[["ci_low", "ci_high"]].to_numpy(), b[["ci_low", "ci_high"]].to_numpy(), rtol=1e-6)
    row = a.iloc[0]
    assert row["metric"] == "fd_test" and row["feature_net"] == "test-fd" and row["num_real"] == 24
    assert row["ci_low"] < row["value"] < row["ci_high"] and row["value"] > 0
    files = list((tmp_path / "cache" / "stats").iterdir())
    assert len(files) == 1 and files[0].name.startswith("toy-test-fd-") and files[0].suffix == ".npz"
    # A different count is a different cache entry.
    fid(G, ds, num_samples=8, num_real=10, feature_net=test_fd, bootstrap=0)
    assert len(list((tmp_path / "cache" / "stats").iterdir())) == 2
    c = fid(G, ds, num_samples=40, feature_net=test_fd, seed=1, bootstrap=0)
    assert c["value"][0] != a["value"][0]
    # The symmetric-eigensolve route gives the sqrtm number (same samples, same interval).
    e = fid(G, ds, num_samples=40, feature_net=test_fd, batch_size=4, bootstrap=4, sqrt_method="eigh")
    assert e["sqrt_method"][0] == "eigh" and a["sqrt_method"][0] == "sqrtm"
    np.testing.assert_allclose(e["value"][0], a["value"][0], rtol=1e-8)
    with pytest.raises(ConfigError):
        fid(G, ds, num_samples=8, feature_net=test_fd, sqrt_method="cholesky")


def test_kid_and_stats_files(test_fd, tmp_path, metric_G, toy_dataset):
    G, ds = metric_G(), toy_dataset()
    a = kid(G, ds, num_samples=32, feature_net=test_fd, num_subsets=10, max_subset_size=16, batch_size=4,
            bootstrap=3)
    b = kid(G, ds, num_samples=32, feature_net=test_fd, num_subsets=10, max_subset_size=16, batch_size=16,
            bootstrap=3)
    np.testing.assert_allclose(a["value"][0], b["value"][0], rtol=1e-6)
    assert a["metric"][0] == "kd_test" and a["kid_subset_size"][0] == 16
    # Statistics round trip through a file; KID refuses a file without features.
    ref = reference_stats(ds, 16, test_fd, cache=False)
    ref.save(tmp_path / "ref.npz")
    back = ReferenceStats.load(tmp_path / "ref.npz")
    np.testing.assert_array_equal(back.sigma, ref.sigma)
    f1 = fid(G, str(tmp_path / "ref.npz"), num_samples=16, feature_net=test_fd, bootstrap=0)
    f2 = fid(G, ds, num_samples=16, feature_net=test_fd, bootstrap=0, cache=False)
    assert f1["value"][0] == pytest.approx(f2["value"][0], rel=1e-9)
    with pytest.raises(MetricError, match="features"):
        kid(G, str(tmp_path / "ref.npz"), num_samples=16, feature_net=test_fd)
    with pytest.raises(ConfigError, match="made with"):
        fid(G, str(tmp_path / "ref.npz"), num_samples=16, feature_net="inception-v3-compat")


@pytest.mark.parametrize("damage", ["dimension", "nan", "few"])
def test_damaged_statistics_files_are_one_line(damage, test_fd, tmp_path, metric_G, toy_dataset):
    """A statistics .npz of the wrong dimension, with NaN, or of one image: refused in one line, never a number."""
    ref = reference_stats(toy_dataset(), 16, test_fd, cache=False)
    if damage == "dimension":
        ref = ReferenceStats(ref.mu[:5], ref.sigma, ref.num, ref.feature_net, meta=ref.meta)
    elif damage == "nan":
        ref.sigma[0, 0] = np.nan
    else:
        ref.num = 1
    ref.save(tmp_path / "ref.npz")
    with pytest.raises(DataError) as e:
        fid(metric_G(), str(tmp_path / "ref.npz"), num_samples=16, feature_net=test_fd)
    assert "\n" not in str(e.value) and "ref.npz" in str(e.value)
    # Statistics of the right shape but another net's dimension (an object, not a file): a MetricError line.
    other = ReferenceStats(np.zeros(5), np.eye(5), 10, test_fd)
    with pytest.raises(MetricError, match="5 dimensions"):
        fid(metric_G(), other, num_samples=16, feature_net=test_fd, bootstrap=0)


def test_an_unwritable_cache_keeps_the_number_and_stale_temporaries_go(test_fd, tmp_path, monkeypatch, metric_G,
                                                                      toy_dataset, capsys):
    cache = tmp_path / "cache"
    monkeypatch.setenv("GANEVAL_CACHE", str(cache))
    (cache / "stats").mkdir(parents=True)
    stale, fresh = cache / "stats" / ".x.npz.abc.npz.tmp", cache / "stats" / ".y.npz.def.npz.tmp"
    stale.write_bytes(b"left by a killed run")
    fresh.write_bytes(b"being written")
    os.utime(stale, (0, 0))
    a = fid(metric_G(), toy_dataset(), num_samples=16, feature_net=test_fd, bootstrap=0)
    assert not stale.exists() and fresh.exists()
    monkeypatch.setattr("ganeval.metrics.reference.ReferenceStats.save",
                        lambda self, path: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    monkeypatch.setenv("GANEVAL_CACHE", str(tmp_path / "other-cache"))
    b = fid(metric_G(), toy_dataset(), num_samples=16, feature_net=test_fd, bootstrap=0)
    assert b["value"][0] == a["value"][0] and "not cached" in capsys.readouterr().err


def test_inception_features_from_standin_weights(tmp_path, monkeypatch):
    from ganeval.features.inception import load_inception, write_standin_weights

    monkeypatch.setenv("GANEVAL_WEIGHTS", str(tmp_path))
    write_standin_weights(tmp_path / "weights-inception-2015-12-05-6726825d.pth")
    net = load_inception("cpu")
    x = (torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8)
    x[0] = x[0, :1]  # a gray image
    f = net(x)
    assert f.shape == (2, 2048) and f.dtype == torch.float32
    assert f.std() > 1e-3  # Kaiming re-initialised: features are not degenerate
    # One gray channel is repeated to RGB; the batch does not change an image's features.
    torch.testing.assert_close(net(x[:1, :1]), f[:1], rtol=1e-4, atol=1e-5)


def test_missing_inception_names_the_file(metric_G, toy_dataset):
    with pytest.raises(WeightsNotFoundError) as e:
        fid(metric_G(), toy_dataset(), num_samples=4)
    assert "weights-inception-2015-12-05-6726825d.pth" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.slow
def test_fid_with_standin_inception_end_to_end(tmp_path, monkeypatch, metric_G, toy_dataset):
    from ganeval.features.inception import write_standin_weights

    monkeypatch.setenv("GANEVAL_WEIGHTS", str(tmp_path))
    write_standin_weights(tmp_path / "weights-inception-2015-12-05-6726825d.pth")
    df = fid(metric_G(), toy_dataset(n=20), num_samples=20, batch_size=10, bootstrap=2)
    assert df["metric"][0] == "fid" and df["feature_dim"][0] == 2048 and df["value"][0] > 0
