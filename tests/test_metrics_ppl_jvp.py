"""PPL as a derivative (ganeval.metrics.ppl, method='jvp') and the quadratic forms of the distances
(ganeval.features.quadratic): the JVP is the eps -> 0 limit of the finite difference, on the same samples."""

import contextlib
import io
import warnings

import lpips
import numpy as np
import pytest
import torch

from ganeval.errors import ConfigError
from ganeval.features.attributes import AttributeClassifiers
from ganeval.features.lpips import LPIPSDistance
from ganeval.features.quadratic import QuadraticDistance, unit_normalize
from ganeval.features.registry import mse
from ganeval.features.synth import SynthLPIPS
from ganeval.metrics.ppl import ppl, ppl_distances, ppl_jvp_distances
from ganeval.metrics.presets import run_preset

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def lpips_rand():
    """LPIPS-VGG16 v0.1 (the package's linear heads) on a randomly initialised VGG16 trunk, float64."""
    torch.manual_seed(0)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        net = lpips.LPIPS(net="vgg", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    return LPIPSDistance(net).double()


@pytest.fixture(scope="module")
def synth_rand():
    """synth-lpips over small random classifiers (16 px, two layers), float64."""
    torch.manual_seed(0)
    return SynthLPIPS(AttributeClassifiers(resolution=16, channels=(4, 8), hidden=8)).double()


@pytest.fixture
def distance(request, lpips_rand, synth_rand):
    return {"mse": mse, "synth": synth_rand, "lpips": lpips_rand}[request.param]


def _pairs(n=4, z_dim=32, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, z_dim, generator=g), torch.randn(n, z_dim, generator=g), torch.rand(n, generator=g)


def _rel(a, b):
    return ((a - b) / b).abs().max().item()


# --------------------------------------------------------------------------------------------- quadratic forms

@pytest.mark.parametrize("distance", ["mse", "synth", "lpips"], indirect=True)
def test_distance_is_quadratic_form_of_feature_difference(distance):
    g = torch.Generator().manual_seed(0)
    x, y = (torch.rand(3, 3, 32, 32, generator=g, dtype=torch.float64) * 2 - 1 for _ in range(2))
    assert isinstance(distance, QuadraticDistance)
    diffs = [a - b for a, b in zip(distance.features(x), distance.features(y))]
    # For LPIPS the left side is the lpips package's own forward, the right side ganeval's split of it.
    torch.testing.assert_close(distance(x, y), distance.quadratic(diffs), rtol=1e-10, atol=0)
    assert (distance(x, y) > 0).all()


@pytest.mark.parametrize("distance", ["mse", "synth", "lpips"], indirect=True)
def test_quadratic_form_is_the_limit_of_the_distance(distance):
    """d(x, x + eps v) / eps^2 -> Q(J_F(x) v): the error of the quotient shrinks with eps, to 1e-5 at 1e-6 (for
    the MSE, whose features are the image, the quotient is Q(v) at every eps)."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 3, 32, 32, generator=g, dtype=torch.float64) * 2 - 1
    v = torch.randn(3, 3, 32, 32, generator=g, dtype=torch.float64)
    _, tangents = torch.func.jvp(lambda img: tuple(distance.features(img)), (x,), (v,))
    q = distance.quadratic(tangents)
    err = {eps: _rel(distance(x, x + eps * v) / eps ** 2, q) for eps in (1e-3, 1e-6)}
    assert err[1e-6] < 1e-5, err
    assert err[1e-3] < 1e-12 if distance is mse else err[1e-6] < err[1e-3] / 10, err


def test_unit_normalize_is_lpips_normalize_with_a_derivative_at_zero():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 5, 3, 3, generator=g, dtype=torch.float64).relu()
    x[:, :, 1, 1] = 0                                    # every channel off at one position, as after a ReLU
    torch.testing.assert_close(unit_normalize(x), lpips.normalize_tensor(x), rtol=0, atol=0)
    v = torch.randn(x.shape, generator=g, dtype=torch.float64) * (x > 0)   # a ReLU's tangent is 0 where it is off
    _, tangent = torch.func.jvp(unit_normalize, (x,), (v,))
    assert torch.isfinite(tangent).all() and (tangent[:, :, 1, 1] == 0).all()
    fd = (unit_normalize(x + 1e-7 * v) - unit_normalize(x)) / 1e-7
    torch.testing.assert_close(tangent, fd, rtol=0, atol=1e-5)


# --------------------------------------------------------------------------------------------- PPL: JVP vs FD

@pytest.mark.parametrize("distance", ["mse", "synth", "lpips"], indirect=True)
@pytest.mark.parametrize("crop", [False, True])
@pytest.mark.parametrize("space", ["w", "z"])
def test_jvp_is_the_limit_of_the_finite_difference(space, crop, distance, metric_G):
    """In float64 the finite difference tends to the JVP as eps shrinks; at eps = 1e-6 they agree to 1e-4."""
    G = metric_G(res=32 if distance is not mse and crop else 16).double()   # LPIPS needs >= 16 px after the crop
    G.redraw_noise_(torch.Generator().manual_seed(5))
    z0, z1, t = _pairs()
    kw = dict(space=space, crop=crop, distance=distance)
    q = ppl_jvp_distances(G, z0, z1, t, **kw)
    assert q.dtype == torch.float64 and (q > 0).all()
    err = {eps: _rel(ppl_distances(G, z0, z1, t, epsilon=eps, **kw), q) for eps in (1e-3, 1e-6)}
    assert err[1e-6] < 1e-4 and err[1e-6] < err[1e-3] / 10, err


def test_jvp_of_end_sampling_and_truncation(metric_G):
    """t = 0 exactly ('end') and a truncated mapping (psi, cutoff), in Z where the JVP runs through both."""
    G = metric_G().double()
    G.redraw_noise_(torch.Generator().manual_seed(5))
    z0, z1, _ = _pairs()
    kw = dict(space="z", distance="mse", truncation_psi=0.6, truncation_cutoff=2)
    q = ppl_jvp_distances(G, z0, z1, torch.zeros(4), **kw)
    assert _rel(ppl_distances(G, z0, z1, torch.zeros(4), epsilon=1e-6, **kw), q) < 1e-4
    assert _rel(ppl_jvp_distances(G, z0, z1, torch.zeros(4), space="z", distance="mse"), q) > 1e-2


def test_ppl_jvp_rows_and_same_samples_as_fd(metric_G):
    G = metric_G().double()
    fd, d_fd = ppl(G, space="z", sampling="full", num_samples=20, distance="mse", epsilon=1e-6, crop=True,
                   seed=4, return_distances=True)
    jvp, d_jvp = ppl(G, space="z", sampling="full", num_samples=20, distance="mse", method="jvp", crop=True,
                     seed=4, return_distances=True)
    np.testing.assert_allclose(d_jvp, d_fd, rtol=1e-4)       # pair by pair: the same z0, z1, t and noise
    assert jvp["metric"][0] == fd["metric"][0] == "ppl_zfull_mse"
    assert (jvp["method"][0], jvp["precision"][0], fd["method"][0], fd["precision"][0]) == ("jvp", "fp32", "fd",
                                                                                          "fp32")
    assert np.isnan(jvp["epsilon"][0]) and fd["epsilon"][0] == 1e-6


@pytest.mark.parametrize("space", ["w", "z"])
def test_ppl_jvp_independent_of_batch_size(space, metric_G):
    """Pairs never mix: in float64 the batch size changes nothing beyond rounding (float32: about 1e-6)."""
    G = metric_G().double()
    kw = dict(space=space, sampling="full", num_samples=20, distance="mse", method="jvp", seed=11)
    a, b = ppl(G, batch_size=3, **kw), ppl(G, batch_size=16, **kw)
    np.testing.assert_allclose(a["value"][0], b["value"][0], rtol=1e-12)
    np.testing.assert_allclose([a["ci_low"][0], a["ci_high"][0]], [b["ci_low"][0], b["ci_high"][0]], rtol=1e-12)
    assert ppl(G, **{**kw, "seed": 12})["value"][0] != a["value"][0]
    G.redraw_noise_(torch.Generator().manual_seed(5))
    z0, z1, t = _pairs(n=6)
    whole = ppl_jvp_distances(G, z0, z1, t, space=space, distance="mse")
    one_by_one = torch.cat([ppl_jvp_distances(G, z0[i:i + 1], z1[i:i + 1], t[i:i + 1], space=space,
                                              distance="mse") for i in range(6)])
    torch.testing.assert_close(whole, one_by_one, rtol=1e-12, atol=0)


def test_ppl_jvp_bf16_is_recorded_and_computed_in_bf16(metric_G):
    G = metric_G()
    kw = dict(space="w", sampling="full", num_samples=16, distance="mse", method="jvp", seed=2, bootstrap=0)
    fp32, d32 = ppl(G, return_distances=True, **kw)
    bf16, d16 = ppl(G, precision="bf16", return_distances=True, **kw)
    assert bf16["precision"][0] == "bf16" and bf16["method"][0] == "jvp"
    rel = np.abs(d16 / d32 - 1)
    assert 1e-4 < np.median(rel) < 0.05                       # bf16 rounding, not another computation


def test_ppl_jvp_preset_and_state_dir(metric_G, tmp_path):
    G = metric_G()
    row = run_preset("ppl_wend", G, num_samples=4, distance="mse", method="jvp").iloc[0]
    assert row["metric"] == "ppl_wend_mse" and row["method"] == "jvp" and bool(row["crop"]) is True
    state = tmp_path / "state"
    ppl(G, num_samples=4, distance="mse", state_dir=state)
    with pytest.raises(ConfigError, match="method"):
        ppl(G, num_samples=4, distance="mse", method="jvp", state_dir=state)


def test_ppl_jvp_constant_generator_is_zero(metric_G):
    G = metric_G()
    with torch.no_grad():
        for name, p in G.named_parameters():
            if "affine" in name or "noise_strength" in name:
                p.zero_()                                     # styles no longer depend on w: G is constant
    assert ppl(G, space="w", sampling="full", num_samples=4, distance="mse", method="jvp")["value"][0] == 0


# --------------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("kw,match", [
    (dict(method="exact"), "unknown PPL method 'exact'"),
    (dict(method="jvp", precision="fp16"), "unknown PPL precision 'fp16'"),
    (dict(precision="bf16"), "precision='bf16' needs method='jvp'"),
    (dict(method="jvp", distance=lambda a, b: (a - b).square().flatten(1).mean(1)),
     "distance '<lambda>' has no quadratic form"),
])
def test_ppl_jvp_config_errors(kw, match, metric_G):
    with pytest.raises(ConfigError, match=match) as e:
        ppl(metric_G(), num_samples=4, **{"distance": "mse", **kw})
    assert "\n" not in str(e.value)
