"""Equivariance metrics (EQ-T, EQ-T_frac, EQ-R; StyleGAN3 Appendix E): the operators against hand computations,
toy generators whose equivariance is known, a tiny StyleGAN3 through every preset, batch independence, resumed
runs, errors."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import ganeval
from ganeval.errors import ConfigError, MetricError
from ganeval.metrics import PRESETS, evaluate, run_preset, runner
from ganeval.metrics.equivariance import (
    KINDS,
    affine_transform,
    bandlimit_filter,
    bilinear,
    equivariance,
    pseudo_rotate,
    rotate,
    rotation_matrix,
    shift_fractional,
    shift_integer,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _pixel_grid(res: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y) of the pixel centres in pixels (pixel edges at integers), each [res, res], float64."""
    c = torch.arange(res, dtype=torch.float64) + 0.5
    y, x = torch.meshgrid(c, c, indexing="ij")
    return x, y


# ----------------------------------------------------------------------------------------------------
# Translations.

def test_integer_shift_of_an_impulse_is_exact_and_masks_what_came_in():
    x = torch.zeros(2, 3, 16, 12)
    x[:, :, 5, 7] = torch.tensor([1.0, 2.0, 3.0])
    out, mask = shift_integer(x, 3, -2)
    assert out.shape == x.shape and mask.shape == (1, 1, 16, 12)
    expected = torch.zeros_like(x)
    expected[:, :, 3, 10] = torch.tensor([1.0, 2.0, 3.0])
    assert torch.equal(out, expected)
    # Content came in everywhere except the 3 left columns and the 2 bottom rows.
    want = torch.zeros(16, 12)
    want[:14, 3:] = 1
    assert torch.equal(mask[0, 0], want)
    # No shift: the identity, all valid; a shift past the edge: nothing left.
    out, mask = shift_integer(x, 0, 0)
    assert torch.equal(out, x) and bool((mask == 1).all())
    out, mask = shift_integer(x, -12, 0)
    assert not out.any() and not mask.any()
    # The impulse leaves the image: gone, and the mask is still the shifted frame.
    out, mask = shift_integer(x, 5, 0)
    assert not out.any() and int(mask.sum()) == 16 * 7


def _lanczos_weights(frac: float, a: int = 3) -> np.ndarray:
    """Hand-written: the 2a Lanczos weights of the samples at offsets -(a-1)..a for a point `frac` past a sample."""
    t = np.arange(-(a - 1), a + 1) - frac
    w = np.where(np.abs(t) < a, np.sinc(t) * np.sinc(t / a), 0.0)
    return w / w.sum()


def test_fractional_shift_of_a_band_limited_sinusoid():
    res = 40
    x, y = _pixel_grid(res)
    nu = (0.06, -0.045)    # cycles per pixel, far below Nyquist (0.5)

    def pattern(dx=0.0, dy=0.0):
        return torch.cos(2 * math.pi * (nu[0] * (x - dx) + nu[1] * (y - dy)) + 0.4)[None, None].float()

    img = pattern()
    for dx, dy in [(0.3, 0.0), (0.3, -1.7), (-2.25, 4.6)]:
        out, mask = shift_fractional(img, dx, dy)
        # Valid: all 6 taps of both axes inside, i.e. i - floor(d) - 3 >= 0 and i - floor(d) + 2 <= res - 1.
        fx, fy = math.floor(dx), math.floor(dy)
        want = torch.zeros(res, res)
        want[max(fy + 3, 0): min(res + fy - 2, res), max(fx + 3, 0): min(res + fx - 2, res)] = 1
        assert torch.equal(mask[0, 0], want), (dx, dy)
        err = ((out - pattern(dx, dy)) * mask).abs().max().item()
        # The Lanczos-3 interpolator's error for these frequencies (see _interpolation_error): about 3e-4.
        bound = _interpolation_error(abs(nu[0])) + _interpolation_error(abs(nu[1])) + 1e-5
        assert err <= bound, (dx, dy, err, bound)

    # A whole number of pixels is the integer shift; a constant stays constant inside the mask (weights sum to 1).
    out, mask = shift_fractional(img, 2.0, -3.0)
    ref, _ = shift_integer(img, 2, -3)
    torch.testing.assert_close(out * mask, ref * mask, atol=1e-6, rtol=0)
    out, mask = shift_fractional(torch.full((1, 1, 16, 16), 0.7), 0.42, 0.9)
    torch.testing.assert_close(out[mask.expand_as(out) > 0], torch.full_like(out[mask.expand_as(out) > 0], 0.7))


def _interpolation_error(nu: float, a: int = 3) -> float:
    """max over fractional positions f of |sum_k w_k(f) exp(-2 pi i nu k) - exp(-2 pi i nu f)|: the largest error
    of the normalised Lanczos interpolator on a unit complex exponential of nu cycles per pixel (hand-written)."""
    k = np.arange(-(a - 1), a + 1)
    worst = 0.0
    for f in np.linspace(0, 1, 201)[:-1]:
        h = (_lanczos_weights(f, a) * np.exp(-2j * np.pi * nu * k)).sum()
        worst = max(worst, abs(h - np.exp(-2j * np.pi * nu * f)))
    return worst


# ----------------------------------------------------------------------------------------------------
# Band-limited rotation.

def test_bilinear_reads_as_grid_sample():
    g = torch.Generator().manual_seed(0)
    img = torch.randn(2, 3, 9, 13, generator=g)
    ux = torch.rand(5, 7, generator=g, dtype=torch.float64) * 16 - 2     # some points outside
    uy = torch.rand(5, 7, generator=g, dtype=torch.float64) * 12 - 2
    grid = torch.stack([2 * ux / 12 - 1, 2 * uy / 8 - 1], dim=-1).float()[None].expand(2, -1, -1, -1)
    ref = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    torch.testing.assert_close(bilinear(img, ux, uy), ref, atol=2e-5, rtol=0)


def test_bandlimit_filter_keeps_what_both_grids_hold():
    for angle in (0.0, 0.3, math.pi / 4):
        h = bandlimit_filter(rotation_matrix(angle), support=6)
        assert h.shape == (47, 47)
        # Every one of the 4 x 4 polyphase components has gain 1/16; the filter is even: h(-p) = h(p).
        for i in range(4):
            for j in range(4):
                assert abs(h[i::4, j::4].sum().item() - 1 / 16) < 1e-12
        torch.testing.assert_close(h, h.flip([0, 1]), atol=1e-12, rtol=0)
    p = (torch.arange(47, dtype=torch.float64) - 23) / 4

    def response(h, f):
        """|H(f)| at f cycles per pixel, normalised to H(0) = 1."""
        phase = torch.exp(-2j * math.pi * (f[0] * p[None, :] + f[1] * p[:, None]))
        return abs((h * phase).sum().item()) / h.sum().item()

    h = bandlimit_filter(rotation_matrix(math.pi / 4), support=6)
    h0 = bandlimit_filter(rotation_matrix(0.0), support=6)
    # Low frequencies pass. Along the diagonal the grid turned by 45 degrees holds only |f| < 0.5 cycles per pixel,
    # i.e. f = (0.35, 0.35), while the source grid holds up to (0.5, 0.5): the corner is stopped for the rotation,
    # kept (up to the windowed filter's transition band) without.
    assert response(h, (0.2, 0.2)) > 0.99 and response(h0, (0.2, 0.2)) > 0.99
    assert response(h, (0.45, 0.45)) < 0.1 < 0.5 < response(h0, (0.45, 0.45))
    assert response(h, (0.5, 0.5)) < 0.01
    # Along an axis both grids agree: the same response at any angle.
    assert abs(response(h, (0.45, 0.0)) - response(h0, (0.45, 0.0))) < 0.01


def _sinusoid(res: int, nu, phase: float = 0.3, transform=None) -> torch.Tensor:
    """cos(2 pi nu . s + phase) with s the pixel-centre positions in pixels from the image centre, read at
    transform^-1 q (the image transformed by `transform`, in image units), [1, 1, res, res]."""
    x, y = _pixel_grid(res)
    qx, qy = x / res - 0.5, y / res - 0.5
    if transform is not None:
        inv = torch.linalg.inv(transform)
        qx, qy = inv[0, 0] * qx + inv[0, 1] * qy + inv[0, 2], inv[1, 0] * qx + inv[1, 1] * qy + inv[1, 2]
    return torch.cos(2 * math.pi * res * (nu[0] * qx + nu[1] * qy) + phase)[None, None].float()


def test_rotation_of_a_band_limited_sinusoid():
    res, nu = 48, (0.07, 0.03)
    img = _sinusoid(res, nu)
    for angle in (0.05, -0.3, 2.0):
        out, mask = rotate(img, angle)
        expected = _sinusoid(res, nu, transform=rotation_matrix(angle))
        assert mask.sum() > 0.25 * res * res
        err = ((out - expected) * mask).abs().max().item()
        assert err < 2e-3, (angle, err)
    # The sense: a quarter turn is torch.rot90 (counter-clockwise on screen), here of a full-band image.
    noise = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    out, mask = rotate(noise, math.pi / 2)
    still, mask0 = rotate(noise, 0.0)
    both = mask * torch.rot90(mask0, 1, [2, 3])
    assert both.sum() > 0
    torch.testing.assert_close(out * both, torch.rot90(still, 1, [2, 3]) * both, atol=1e-5, rtol=0)


def test_rotation_mask_keeps_the_filter_inside_the_image():
    # Identity: the nearest upsampled sample of pixel i sits at m = 4 i + 2; valid when 24 <= m <= 4 * 32 - 25.
    out, mask = rotate(torch.ones(1, 1, 32, 32), 0.0)
    m = 4 * torch.arange(32) + 2
    ok = ((m >= 24) & (m <= 103)).float()
    assert torch.equal(mask[0, 0], ok[:, None] * ok[None, :])
    torch.testing.assert_close(out[mask > 0], torch.ones(int(mask.sum())), atol=1e-6, rtol=0)
    # The pseudo-rotation filters in place: 5 pixels lost on each side.
    out, mask = pseudo_rotate(torch.ones(1, 1, 32, 32), 0.7)
    assert torch.equal(mask[0, 0, :, 0], torch.zeros(32)) and mask[0, 0, 5:27, 5:27].all()
    assert mask.sum() == 22 * 22
    torch.testing.assert_close(out[mask > 0], torch.ones(22 * 22), atol=1e-6, rtol=0)
    # A translation through the general affine path moves the sinusoid.
    t = torch.eye(3, dtype=torch.float64)
    t[0, 2], t[1, 2] = 0.1, -0.05
    img = _sinusoid(64, (0.05, 0.02))
    out, mask = affine_transform(img, t)
    err = ((out - _sinusoid(64, (0.05, 0.02), transform=t)) * mask).abs().max().item()
    assert mask.sum() > 0 and err < 2e-3


def test_pseudo_rotation_matches_filtering_before_rotating():
    # R*(R-rotated image) and R(image) hold the same frequencies: for a band-limited pattern both are the pattern.
    res, nu, angle = 48, (0.08, -0.05), 0.6
    rotated = _sinusoid(res, nu, transform=rotation_matrix(angle))
    ref, ref_mask = rotate(_sinusoid(res, nu), angle)
    pseudo, pseudo_mask = pseudo_rotate(rotated, angle)
    mask = ref_mask * pseudo_mask
    assert mask.sum() > 0
    assert ((ref - pseudo) * mask).abs().max().item() < 3e-3


# ----------------------------------------------------------------------------------------------------
# Toy generators.

# Frequencies (cycles per image) of the toy's sinusoids; at 32 px the highest is 4.5 / 32 = 0.14 cycles per pixel.
TOY_FREQS = [(1.0, 2.0), (-3.0, 1.0), (2.0, -4.0)]
TOY_AMP = 0.3


class ToySynthesis(nn.Module):
    """Renders, per sample, a sum of sinusoids of (x, y) with amplitudes and phases from w, read at the pixel
    centres moved by `input.transform` (or not, follow=False): an exactly equivariant (or invariant) network."""

    def __init__(self, res, follow=True):
        super().__init__()
        self.input = nn.Module()
        self.input.register_buffer("transform", torch.eye(3))
        self.res, self.follow, self.num_ws = res, follow, 1

    def forward(self, ws, noise_mode="const"):
        w = ws[:, 0].double()
        q = (torch.arange(self.res, dtype=torch.float64) + 0.5) / self.res - 0.5
        qy, qx = torch.meshgrid(q, q, indexing="ij")
        m = self.input.transform.double() if self.follow else torch.eye(3, dtype=torch.float64)
        sx, sy = m[0, 0] * qx + m[0, 1] * qy + m[0, 2], m[1, 0] * qx + m[1, 1] * qy + m[1, 2]
        img = torch.zeros(len(w), 3, self.res, self.res, dtype=torch.float64)
        for j, (kx, ky) in enumerate(TOY_FREQS):
            amp = TOY_AMP * (1 + torch.tanh(w[:, j])) / 2
            for c in range(3):
                phase = w[:, 3 + j] + 2.0 * c
                img[:, c] += amp[:, None, None] * torch.cos(2 * math.pi * (kx * sx + ky * sy) + phase[:, None, None])
        return img.float()


class ToyG(nn.Module):
    arch, z_dim, w_dim, img_channels, mapping_depth = "toy", 8, 8, 3, 0

    def __init__(self, res=32, follow=True):
        super().__init__()
        self.img_resolution = res
        self.synthesis = ToySynthesis(res, follow)

    def mapping(self, z, truncation_psi=1.0, truncation_cutoff=None):
        return z[:, None, :]


def test_translation_equivariant_toy_reaches_its_bounds():
    G = ToyG(32)
    # Integer shifts of an exact renderer: nothing but float32 rounding (< 1e-6 per pixel: PSNR > 120 dB).
    eqt = equivariance(G, "int", num_samples=24, seed=3, bootstrap=50)
    assert eqt.value[0] > 120
    # Fractional shifts: each sinusoid is off by at most A (e_x + e_y + e_x e_y), e the Lanczos-3 interpolator's
    # error at its frequency, so every pixel's error is below E = the sum over sinusoids and PSNR >= 20 log10(2 / E).
    errors = [(_interpolation_error(abs(kx) / 32), _interpolation_error(abs(ky) / 32)) for kx, ky in TOY_FREQS]
    bound_e = sum(TOY_AMP * (ex + ey + ex * ey) for ex, ey in errors)
    bound = 20 * math.log10(2 / bound_e)
    frac = equivariance(G, "frac", num_samples=24, seed=3, bootstrap=50)
    assert bound > 45 and frac.value[0] >= bound, (frac.value[0], bound)
    assert frac.ci_low[0] <= frac.value[0] <= frac.ci_high[0]
    # Rotations by up to 180 degrees: what is left is the bilinear reading of the 4x upsampled image, at most
    # A pi^2 h^2 |nu|^2 / 2 per sinusoid (h = 1/4 px), i.e. PSNR >= 50 dB here; the filters' ripple cancels
    # between the two sides (both hold the same band).
    rot = equivariance(G, "rot", num_samples=12, seed=3, bootstrap=50)
    bilinear_e = sum(TOY_AMP * math.pi ** 2 / 16 * (kx ** 2 + ky ** 2) / 32 ** 2 / 2 for kx, ky in TOY_FREQS)
    assert rot.value[0] >= 20 * math.log10(2 / bilinear_e) > 50


def test_toy_that_ignores_the_transform_scores_low():
    G = ToyG(32, follow=False)
    for kind in KINDS:
        df = equivariance(G, kind, num_samples=12 if kind == "rot" else 24, seed=3, bootstrap=0)
        assert df.value[0] < 25, kind
        assert np.isnan(df.ci_low[0]) and df.ci_method[0] is None


def test_rows_streams_and_batch_independence():
    G = ToyG(32)
    a = equivariance(G, "frac", num_samples=20, seed=5, batch_size=1, bootstrap=40)
    b = equivariance(G, "frac", num_samples=20, seed=5, batch_size=16, bootstrap=40)
    assert a.value[0] == b.value[0] and a.ci_low[0] == b.ci_low[0]
    c = equivariance(G, "frac", num_samples=20, seed=6, bootstrap=40)
    assert c.value[0] != a.value[0]
    row = a.iloc[0]
    assert row["metric"] == "eqt50k_frac" and row["kind"] == "frac" and row["translate_max"] == 0.125
    assert row["translate_max_unit"] == "image size" and row["rotate_max"] is None
    assert row["psnr_aggregation"] == "pooled MSE over samples" and row["num_samples"] == 20
    assert row["value"] == pytest.approx(20 * math.log10(2) - 10 * math.log10(row["mse"]))
    assert 0 < row["valid_fraction"] < 1 and row["arch"] == "toy"
    r = equivariance(G, "rot", num_samples=4, rotate_max=0.5, bootstrap=0, name="mine").iloc[0]
    assert r["metric"] == "mine" and r["rotate_max"] == 0.5 and r["rotate_max_unit"] == "pi rad"
    assert equivariance(G, "int", num_samples=4, translate_max=0.25, bootstrap=0).metric[0] == "eqt_int"
    # No translation at all: the transformed image is the base image.
    assert equivariance(G, "frac", num_samples=4, translate_max=0.0, bootstrap=0).value[0] > 120


class Killed(Exception):
    pass


def test_killed_run_resumes_to_the_same_number(tmp_path):
    G = ToyG(32)
    full = equivariance(G, "int", num_samples=40, seed=2, bootstrap=20)
    computed = []

    def hook(metric, chunk):
        computed.append(chunk)
        if len(computed) == 2:
            raise Killed

    runner.CHUNK_HOOKS.append(hook)
    try:
        with pytest.raises(Killed):
            equivariance(G, "int", num_samples=40, seed=2, bootstrap=20, state_dir=tmp_path)
        computed.clear()
        again = equivariance(G, "int", num_samples=40, seed=2, bootstrap=20, state_dir=tmp_path)
    finally:
        runner.CHUNK_HOOKS.remove(hook)
    assert computed == [2]                     # chunks 0 and 1 were kept, chunk 2 (of 3) computed
    assert again.value[0] == full.value[0] and again.ci_high[0] == full.ci_high[0]
    with pytest.raises(ConfigError, match="another run"):
        equivariance(G, "int", num_samples=40, seed=2, translate_max=0.1, bootstrap=20, state_dir=tmp_path)


# ----------------------------------------------------------------------------------------------------
# A real StyleGAN3.

@pytest.fixture(scope="module")
def sg3():
    torch.manual_seed(0)
    G = ganeval.build_generator("stylegan3", 32, channel_base=512, channel_max=32, z_dim=32, w_dim=32).eval()
    return G


def test_stylegan3_runs_every_preset(sg3):
    before = {k: v.clone() for k, v in sg3.state_dict().items()}
    for preset, kind in (("eqt50k_int", "int"), ("eqt50k_frac", "frac"), ("eqr50k", "rot")):
        df = run_preset(preset, sg3, num_samples=6, bootstrap=20, seed=1)
        row = df.iloc[0]
        assert row["metric"] == preset and row["kind"] == kind and row["protocol_samples"] == 50_000
        assert row["num_samples"] == 6 and math.isfinite(row["value"]) and row["value"] > 10
        assert row["ci_low"] <= row["value"] <= row["ci_high"]
        assert PRESETS[preset].setting("kind") == kind
    assert PRESETS["eqr50k"].setting("rotate_max") == 1.0 and PRESETS["eqt50k_int"].setting("translate_max") == 0.125
    assert all(torch.equal(before[k], v) for k, v in sg3.state_dict().items())   # the caller's G is untouched


def test_stylegan3_does_not_depend_on_the_batch_size(sg3):
    a = equivariance(sg3, "rot", num_samples=5, batch_size=1, bootstrap=0, seed=4)
    b = equivariance(sg3, "rot", num_samples=5, batch_size=5, bootstrap=0, seed=4)
    # Batched and single StyleGAN3 images differ by float32 rounding only.
    assert abs(a.value[0] - b.value[0]) < 1e-3


def test_errors(tiny_G):
    G2 = tiny_G("stylegan2", 16).eval()
    with pytest.raises(MetricError, match="StyleGAN3") as e:
        equivariance(G2, "int", num_samples=4)
    assert "\n" not in str(e.value)
    df = evaluate(G2, ["eqt50k_int"], num_samples=4)
    assert np.isnan(df.value[0]) and df.note[0].startswith("n/a: the equivariance metrics need")
    G = ToyG(32)
    with pytest.raises(ConfigError, match="kind must be one of int, frac, rot"):
        equivariance(G, "shift", num_samples=4)
    with pytest.raises(ConfigError, match="translate_max must be a finite number"):
        equivariance(G, "int", num_samples=4, translate_max=-0.1)
    with pytest.raises(ConfigError, match="rotate_max must be a finite number"):
        equivariance(G, "rot", num_samples=4, rotate_max=float("nan"))
    with pytest.raises(ConfigError, match="unknown option 'sead'"):
        equivariance(G, "rot", num_samples=4, sead=1)
    with pytest.raises(MetricError, match="no pixel of a 8 px image"):
        equivariance(ToyG(8), "rot", num_samples=2)
