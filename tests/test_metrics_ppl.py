"""PPL (ganeval.metrics.ppl), sample streams (metrics.sampling) and the percentile filter (metrics.stats)."""

import numpy as np
import pytest
import torch
from torch import nn

from ganeval.errors import MetricError, WeightsNotFoundError
from ganeval.metrics import sampling as streams
from ganeval.metrics.ppl import (
    crop_box,
    distance_resolution,
    downsample_factor,
    face_crop,
    lerp,
    ppl,
    ppl_distances,
    slerp,
)
from ganeval.metrics.presets import run_preset
from ganeval.metrics.stats import bootstrap_ci, percentile_filter

pytestmark = pytest.mark.usefixtures("one_thread")

# --------------------------------------------------------------------------------------------- interpolation

def test_slerp_endpoints_and_norm():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 64, generator=g) * 3, torch.randn(5, 64, generator=g)
    na, nb = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    torch.testing.assert_close(slerp(a, b, torch.zeros(5)), na, atol=1e-6, rtol=0)
    torch.testing.assert_close(slerp(a, b, torch.ones(5)), nb, atol=1e-5, rtol=0)
    mid = slerp(a, b, torch.full((5,), 0.3))
    torch.testing.assert_close(mid.norm(dim=1), torch.ones(5))
    # The angle is split proportionally: angle(a, mid) = 0.3 angle(a, b).
    ang = lambda u, v: torch.acos((u * v).sum(1).clamp(-1, 1))  # noqa: E731
    torch.testing.assert_close(ang(na, mid), 0.3 * ang(na, nb), atol=1e-5, rtol=1e-4)


def test_lerp_in_w():
    w0, w1 = torch.randn(4, 6, 8), torch.randn(4, 6, 8)
    torch.testing.assert_close(lerp(w0, w1, torch.zeros(4)), w0)
    torch.testing.assert_close(lerp(w0, w1, torch.ones(4)), w1)
    t = torch.tensor([0.0, 0.25, 0.5, 1.0])
    torch.testing.assert_close(lerp(w0, w1, t), w0 + (w1 - w0) * t[:, None, None])


# --------------------------------------------------------------------------------------------- crop / resize

def test_crop_coordinates():
    assert crop_box(1024) == (384, 896, 256, 768)
    assert crop_box(512) == (192, 448, 128, 384)
    assert crop_box(256) == (96, 224, 64, 192)
    img = torch.arange(16 * 16, dtype=torch.float32).reshape(1, 1, 16, 16)
    c = face_crop(img)  # c = 2: rows 6..14, columns 4..12
    assert c.shape == (1, 1, 8, 8) and c[0, 0, 0, 0] == 6 * 16 + 4


def test_downsample_factor_both_rules():
    # 1024 with crop: the crop is 512; TF takes the factor from it (-> 256 px), ADA from the model (-> 128 px).
    assert downsample_factor(512, 1024, "tf") == 2 and downsample_factor(512, 1024, "ada") == 4
    assert distance_resolution(1024, True, "tf") == 256 and distance_resolution(1024, True, "ada") == 128
    assert downsample_factor(256, 512, "tf") == 1 and downsample_factor(256, 512, "ada") == 2
    assert downsample_factor(128, 256, "tf") == 1 and downsample_factor(128, 256, "ada") == 1
    # Without crop the two rules agree.
    for res in (256, 512, 1024):
        assert downsample_factor(res, res, "tf") == downsample_factor(res, res, "ada") == res // 256
    assert distance_resolution(64, False, "tf") == 64 and distance_resolution(16, True, "ada") == 8


# --------------------------------------------------------------------------------------------- statistics

def test_percentile_filter_keep_counts():
    rng = np.random.default_rng(0)
    assert percentile_filter(rng.permutation(50_000).astype(float)).size == 49_002
    assert percentile_filter(rng.standard_normal(100_000)).size == 98_002


def test_bootstrap_ci_covers_mean():
    x = np.random.default_rng(1).normal(5, 1, 2000)
    lo, hi = bootstrap_ci(x, num_replicates=300, seed=0)
    assert lo < 5 < hi and hi - lo < 0.2


# --------------------------------------------------------------------------------------------- sample streams

def test_streams_depend_only_on_seed_and_index():
    full = streams.normal(7, "s", 0, 50, 4)
    assert torch.equal(streams.normal(7, "s", 5, 37, 4), full[5:37])
    assert torch.equal(torch.cat([streams.normal(7, "s", a, a + 4, 4) for a in range(0, 48, 4)]), full[:48])
    assert not torch.equal(streams.normal(8, "s", 0, 50, 4), full)
    assert not torch.equal(streams.normal(7, "t", 0, 50, 4), full)
    u = streams.uniform(7, "u", 3, 19)
    assert u.shape == (16,) and (u >= 0).all() and (u < 1).all()
    assert streams.blocks(40) == [(0, 0, 16), (1, 16, 32), (2, 32, 40)]


def test_seeded_global_rng_restores_state():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with streams.seeded_global_rng(0, "x", 5):
        a = torch.rand(2)
    assert torch.equal(torch.rand(3), expected)
    with streams.seeded_global_rng(0, "x", 5):
        assert torch.equal(torch.rand(2), a)


# --------------------------------------------------------------------------------------------- the metric

class ConstGenerator(nn.Module):
    """Protocol-complete generator whose images never change."""

    arch, z_dim, w_dim, num_ws, img_resolution, img_channels, mapping_depth, has_w = (
        "stylegan2", 8, 8, 2, 16, 3, 1, True)

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)
        self.register_buffer("w_avg", torch.zeros(8))
        self.register_buffer("noise_const", torch.zeros(16, 16))

    def mapping(self, z, truncation_psi=1.0, truncation_cutoff=None):
        return self.lin(z).unsqueeze(1).repeat(1, self.num_ws, 1)

    def synthesis(self, ws, noise_mode="random"):
        return torch.full((ws.shape[0], 3, 16, 16), 0.25)

    def redraw_noise_(self, generator=None):
        self.noise_const.copy_(torch.randn(self.noise_const.shape, generator=generator))


class ScaledGenerator(nn.Module):
    """G with its output multiplied by `k` (everything else delegated)."""

    def __init__(self, G, k):
        super().__init__()
        self.G, self.k = G, k
        for a in ("arch", "z_dim", "w_dim", "num_ws", "img_resolution", "img_channels", "mapping_depth", "has_w"):
            setattr(self, a, getattr(G, a))

    @property
    def w_avg(self):
        return self.G.w_avg

    def mapping(self, *a, **kw):
        return self.G.mapping(*a, **kw)

    def synthesis(self, ws, noise_mode="random"):
        return self.G.synthesis(ws, noise_mode=noise_mode) * self.k

    def redraw_noise_(self, generator=None):
        self.G.redraw_noise_(generator)


def _mse(a, b):
    return (a - b).square().flatten(1).mean(1)


@pytest.mark.parametrize("space", ["w", "z"])
def test_ppl_distances_match_hand_computation(space, metric_G):
    G = metric_G()
    G.redraw_noise_(torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(1)
    z0, z1, t = torch.randn(3, 32, generator=g), torch.randn(3, 32, generator=g), torch.rand(3, generator=g)
    eps = 1e-2
    d = ppl_distances(G, z0, z1, t, space=space, epsilon=eps, crop=True, distance=_mse)
    with torch.no_grad():
        if space == "w":
            w0, w1 = G.mapping(z0), G.mapping(z1)
            wa = w0 + (w1 - w0) * t[:, None, None]
            wb = w0 + (w1 - w0) * (t + eps)[:, None, None]
        else:
            def slerp_np(a, b, tt):  # the reference formula, written out in numpy
                a, b = a / np.linalg.norm(a, axis=1, keepdims=True), b / np.linalg.norm(b, axis=1, keepdims=True)
                dot = (a * b).sum(1, keepdims=True)
                c = b - dot * a
                c /= np.linalg.norm(c, axis=1, keepdims=True)
                p = tt[:, None] * np.arccos(dot)
                out = a * np.cos(p) + c * np.sin(p)
                return torch.from_numpy(out / np.linalg.norm(out, axis=1, keepdims=True)).float()
            wa = G.mapping(slerp_np(z0.double().numpy(), z1.double().numpy(), t.double().numpy()))
            wb = G.mapping(slerp_np(z0.double().numpy(), z1.double().numpy(), (t + eps).double().numpy()))
        ia = G.synthesis(wa, noise_mode="const")[:, :, 6:14, 4:12]
        ib = G.synthesis(wb, noise_mode="const")[:, :, 6:14, 4:12]
        expected = (ia - ib).square().mean(dim=(1, 2, 3)) / eps ** 2
    torch.testing.assert_close(d, expected, rtol=2e-3, atol=1e-6)


def test_end_sampling_is_t0_and_noise_is_per_block(metric_G):
    G = metric_G()
    df, d = ppl(G, space="w", sampling="end", num_samples=20, distance="mse", seed=3, return_distances=True)
    # Re-do block 1 (samples 16..19) by hand: its own noise draw, its own z, and t = 0 exactly.
    H = metric_G()
    H.redraw_noise_(streams.block_generator(3, "ppl/noise", 1))
    z0, z1 = streams.normal(3, "ppl/z0", 16, 20, 32), streams.normal(3, "ppl/z1", 16, 20, 32)
    expected = ppl_distances(H, z0, z1, torch.zeros(4), space="w", distance="mse")
    np.testing.assert_allclose(d[16:20], expected.double().numpy(), rtol=1e-5)
    # With noise from the other block, the distances differ (noise matters in this generator).
    H.redraw_noise_(streams.block_generator(3, "ppl/noise", 0))
    other = ppl_distances(H, z0, z1, torch.zeros(4), space="w", distance="mse")
    assert not np.allclose(d[16:20], other.double().numpy(), rtol=1e-3)
    assert df["metric"][0] == "ppl2_wend_mse" and df["sampling"][0] == "end" and df["noise_block"][0] == 16


def test_ppl_constant_generator_is_zero():
    df = ppl(ConstGenerator(), space="z", sampling="full", num_samples=20, distance="mse")
    assert df["value"][0] == 0.0


def test_ppl_scales_quadratically_with_output(metric_G):
    G = metric_G()
    base = ppl(G, space="w", sampling="full", num_samples=12, distance="mse", crop=True)["value"][0]
    scaled = ppl(ScaledGenerator(G, 2.0), space="w", sampling="full", num_samples=12, distance="mse",
                 crop=True)["value"][0]
    assert base > 0
    np.testing.assert_allclose(scaled, 4 * base, rtol=1e-4)


@pytest.mark.parametrize("space", ["w", "z"])
def test_ppl_independent_of_batch_size(space, metric_G):
    G = metric_G()
    a = ppl(G, space=space, sampling="full", num_samples=20, distance="mse", batch_size=4, seed=11)
    b = ppl(G, space=space, sampling="full", num_samples=20, distance="mse", batch_size=16, seed=11)
    np.testing.assert_allclose(a["value"][0], b["value"][0], rtol=1e-5)
    np.testing.assert_allclose([a["ci_low"][0], a["ci_high"][0]], [b["ci_low"][0], b["ci_high"][0]], rtol=1e-5)
    c = ppl(G, space=space, sampling="full", num_samples=20, distance="mse", batch_size=16, seed=12)
    assert c["value"][0] != a["value"][0]


def test_ppl_leaves_callers_generator_alone(metric_G):
    G = metric_G()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    ppl(G, num_samples=4, distance="mse")
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())


@pytest.mark.parametrize("arch,depth", [("pggan", 0), ("stylegan", 0)])
def test_ppl_w_without_w_space_is_a_metric_error(arch, depth, metric_G):
    G = metric_G(arch, depth=depth)
    with pytest.raises(MetricError, match="no W space"):
        ppl(G, space="w", num_samples=4, distance="mse")
    assert ppl(G, space="z", num_samples=4, distance="mse")["space"][0] == "z"


def test_preset_sample_override_and_row_columns(metric_G):
    df = run_preset("ppl_wend", metric_G(), num_samples=6, distance="mse", crop=False)
    row = df.iloc[0]
    # crop=False is ignored: ppl_wend fixes crop=True as part of its protocol.
    assert row["metric"] == "ppl_wend_mse" and bool(row["crop"]) is True
    assert row["num_samples"] == 6 and row["protocol_samples"] == 100_000
    for col in ("metric", "value", "ci_low", "ci_high", "num_samples", "seed", "checkpoint", "arch", "mapping_depth",
                "resolution", "psi", "space", "feature_net", "time_s", "ganeval_version", "epsilon", "resize_rule"):
        assert col in df.columns
    assert row["ci_low"] <= row["value"] <= row["ci_high"]


def _write_standin_vgg(path):
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(0)  # the trunk only (building the full VGG16 means 138M parameters)
    sd = {f"features.{k}": v for k, v in make_layers(cfgs["D"]).state_dict().items()}
    torch.save(sd, path)
    return sd


def test_lpips_vgg16_from_local_trunk(tmp_path, monkeypatch, metric_G):
    from ganeval.features.lpips import load_lpips_vgg16

    monkeypatch.setenv("GANEVAL_WEIGHTS", str(tmp_path))
    sd = _write_standin_vgg(tmp_path / "vgg16-397923af.pth")
    dist = load_lpips_vgg16("cpu")
    assert torch.equal(dist.net.net.slice3._modules["10"].weight, sd["features.10.weight"])
    assert torch.equal(dist.net.net.slice5._modules["28"].bias, sd["features.28.bias"])
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.equal(dist(x, x), torch.zeros(2)) and (dist(x, y) > 0).all()
    df = ppl(metric_G(), space="w", sampling="end", num_samples=4, distance="lpips-vgg16")
    assert df["metric"][0] == "ppl2_wend" and df["feature_net"][0] == "lpips-vgg16" and df["value"][0] > 0


def test_lpips_missing_trunk_names_the_file(metric_G):
    with pytest.raises(WeightsNotFoundError) as e:
        ppl(metric_G(), num_samples=2, distance="lpips-vgg16")
    msg = str(e.value)
    assert "vgg16-397923af.pth" in msg and "ganeval weights fetch vgg16" in msg and "\n" not in msg
