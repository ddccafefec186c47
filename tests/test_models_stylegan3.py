"""StyleGAN3 (-T and -R): the Generator protocol, the Fourier features and their transform, the filter design
against scipy, upfirdn against a naive loop, the layer schedule, truncation, magnitude EMAs, batch independence."""

import itertools
import math

import numpy as np
import pytest
import scipy.signal
import scipy.special
import torch

import ganeval
from ganeval.errors import ConfigError
from ganeval.models import get_arch, ops
from ganeval.models import stylegan3 as sg3
from ganeval.models.stylegan2 import StyleGAN2Discriminator
from ganeval.train.options import resolve_options

pytestmark = pytest.mark.usefixtures("one_thread")

# Layer names and parameter counts of NVlabs/stylegan3 networks_stylegan3.Generator(z_dim=512, w_dim=512, 2 mapping
# layers) with train.py's --cfg=stylegan3-t / stylegan3-r settings, counted by instantiating it.
NVLABS_1024 = {
    "t": (22_313_167, ["L0_36_512", "L1_36_512", "L2_52_512", "L3_52_512", "L4_84_512", "L5_148_512", "L6_148_512",
                       "L7_276_323", "L8_276_203", "L9_532_128", "L10_1044_81", "L11_1044_51", "L12_1044_32",
                       "L13_1024_32", "L14_1024_3"]),
    "r": (15_093_151, ["L0_36_1024", "L1_36_1024", "L2_52_1024", "L3_52_1024", "L4_84_1024", "L5_148_1024",
                       "L6_148_1024", "L7_276_645", "L8_276_406", "L9_532_256", "L10_1044_161", "L11_1044_102",
                       "L12_1044_64", "L13_1024_64", "L14_1024_3"]),
}
NVLABS_256_PARAMS = {"t": 28_472_133, "r": 18_816_387}


@pytest.fixture
def sg3_G(tiny_G):
    """sg3_G(cfg="t", res=16, seed=0) -> a width-32 StyleGAN3 in eval mode whose biases, magnitude EMAs, w_avg and
    learned input transform are not at their initial constants (so that every one of them matters)."""
    def make(cfg="t", res=16, seed=0, **overrides):
        G = tiny_G("stylegan3", res, seed=seed, cfg=cfg, **overrides).eval()
        g = torch.Generator().manual_seed(seed + 100)
        with torch.no_grad():
            for name, p in G.named_parameters():
                if name.endswith(".bias") and "affine" not in name:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.3)
            for name, b in G.named_buffers():
                if name.endswith("magnitude_ema"):
                    b.fill_(0.5 + torch.rand([], generator=g).item())
            G.mapping.w_avg.copy_(torch.randn(G.w_dim, generator=g))
            G.synthesis.input.affine.weight.copy_(torch.randn(4, G.w_dim, generator=g) * 0.3)
        return G
    return make


def _z(n, dim=32, seed=1):
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------------------------------
# The Generator protocol.

@pytest.mark.parametrize("cfg,res", [("t", 16), ("r", 16), ("t", 32)])
def test_protocol_and_shapes(sg3_G, cfg, res):
    G = sg3_G(cfg, res)
    assert G.arch == "stylegan3" and G.img_resolution == res and G.img_channels == 3
    assert G.z_dim == G.w_dim == 32 and G.mapping_depth == 2 and G.has_w and G.num_ws == 16
    assert G.w_avg.shape == (32,) and G.mapping.w_avg_beta == 0.998
    ws = G.mapping(_z(3))
    assert ws.shape == (3, 16, 32) and torch.equal(ws, ws[:, :1].expand_as(ws))
    seen = {}
    hooks = [getattr(G.synthesis, n).register_forward_hook(lambda m, i, o, n=n: seen.update({n: o.shape}))
             for n in G.synthesis.layer_names]
    with torch.no_grad():
        img = G.synthesis(ws)
    for h in hooks:
        h.remove()
    assert img.shape == (3, 3, res, res) and img.dtype == torch.float32 and torch.isfinite(img).all()
    assert 1e-3 < img.std().item() < 10
    for name in G.synthesis.layer_names:   # every layer delivers its band's canvas
        layer = getattr(G.synthesis, name)
        assert seen[name] == (3, layer.out_channels, layer.out_size, layer.out_size)
        assert name == f"L{name[1:].split('_')[0]}_{layer.out_size}_{layer.out_channels}"
    assert G.synthesis.layer_names[-1] == f"L14_{res}_3"
    kernels = {getattr(G.synthesis, n).weight.shape[-1] for n in G.synthesis.layer_names[:-1]}
    assert kernels == ({1} if cfg == "r" else {3})
    radial = [n for n in G.synthesis.layer_names if getattr(G.synthesis, n).down_radial]
    if cfg == "r":   # radial downsampling filters in the non-critically sampled layers only
        assert radial == G.synthesis.layer_names[:12]
        assert all(getattr(G.synthesis, n).down_filter.ndim == 2 for n in radial)
    else:
        assert radial == []
    D = ganeval.build_discriminator("stylegan3", res, channel_base=256, channel_max=32)
    assert isinstance(D, StyleGAN2Discriminator) and D(img).shape == (3, 1)
    assert get_arch("stylegan3").progressive is False


@pytest.mark.parametrize("cfg", ["t", "r"])
def test_paper_configs_match_nvlabs_layers_and_parameter_counts(cfg):
    with torch.device("meta"):
        G = ganeval.build_generator("stylegan3", 1024, cfg=cfg)
        G256 = ganeval.build_generator("stylegan3", 256, cfg=cfg)
    params, names = NVLABS_1024[cfg]
    assert G.synthesis.layer_names == names and G.num_params() == params
    assert G256.num_params() == NVLABS_256_PARAMS[cfg]
    expected = sg3.CONFIGS[cfg]
    assert {k: G.config[k] for k in expected} == expected
    assert G.config["cfg"] == cfg and G.config["mapping_depth"] == 2 and G.config["conv_clamp"] == 256
    # The stored config rebuilds the same network on its own (native checkpoints rely on it).
    with torch.device("meta"):
        again = ganeval.build_generator("stylegan3", 1024, **{k: v for k, v in G.config.items()
                                                               if k != "img_resolution"})
    assert {k: v.shape for k, v in again.state_dict().items()} == {k: v.shape for k, v in G.state_dict().items()}


def test_config_options_and_errors():
    with torch.device("meta"):
        G = ganeval.build_generator("stylegan3", 64, cfg="r", channel_base=4096, channel_max=64)
    assert G.config["conv_kernel"] == 1 and G.config["use_radial_filters"] and G.config["channel_base"] == 4096
    with pytest.raises(ConfigError, match="cfg must be one of") as e:
        ganeval.build_generator("stylegan3", 16, cfg="x")
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="no option"):
        ganeval.build_generator("stylegan3", 16, architecture="skip")
    with pytest.raises(ConfigError, match="num_critical"):
        ganeval.build_generator("stylegan3", 16, num_layers=2, num_critical=2)
    with pytest.raises(ConfigError, match="no training recipe for stylegan3"):
        resolve_options(arch="stylegan3", data="synthfaces:100?res=16")


def test_noise_modes_change_nothing_and_redraw_is_a_no_op(sg3_G):
    G = sg3_G("r")
    assert G.noise_buffers() == []
    ws = G.mapping(_z(2))
    before = {k: v.clone() for k, v in G.state_dict().items()}
    with torch.no_grad():
        images = [G.synthesis(ws, noise_mode=m) for m in ("random", "const", "none")]
        G.redraw_noise_(torch.Generator().manual_seed(5))
        after = G.synthesis(ws, noise_mode="const")
    assert all(torch.equal(images[0], img) for img in images[1:] + [after])
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())
    with pytest.raises(ValueError, match="noise_mode"):
        G.synthesis(ws, noise_mode="fresh")


def test_truncation(sg3_G):
    G = sg3_G()
    z = _z(4)
    ws, ws0 = G.mapping(z), G.mapping(z, truncation_psi=0)
    assert torch.allclose(ws0, G.w_avg.expand_as(ws0))
    wsc = G.mapping(z, truncation_psi=0.5, truncation_cutoff=3)
    torch.testing.assert_close(wsc[:, :3], G.w_avg + 0.5 * (ws[:, :3] - G.w_avg))
    assert torch.equal(wsc[:, 3:], ws[:, 3:])
    with torch.no_grad():
        img0 = G(z, truncation_psi=0)
        assert torch.equal(G(z, truncation_psi=0.7), G.synthesis(G.mapping(z, truncation_psi=0.7)))
    torch.testing.assert_close(img0, img0[:1].expand_as(img0), atol=1e-6, rtol=0)   # psi = 0: the mean image
    assert not torch.allclose(img0, G(z).detach(), atol=1e-3)


def test_images_do_not_depend_on_the_batch(sg3_G):
    G = sg3_G("t", 32)
    z = _z(5)
    with torch.no_grad():
        full = G(z)
        assert torch.equal(full, G(z))   # repeatable
        singles = torch.cat([G(z[i:i + 1]) for i in range(5)])
        # A batch mate 100 times larger changes nothing beyond rounding: each sample's styles are its own.
        loud = G(torch.cat([z[:1], 100 * z[1:]]))[:1]
    scale = full.abs().max().item()
    torch.testing.assert_close(singles, full, atol=1e-5 * scale, rtol=0)
    torch.testing.assert_close(loud, full[:1], atol=1e-5 * scale, rtol=0)


def test_gradients_flow_and_match_the_inference_path(sg3_G):
    G = sg3_G("t")
    ws = G.mapping(_z(2)).detach().requires_grad_(True)
    img = G.synthesis(ws)
    img.square().mean().backward()
    assert torch.isfinite(ws.grad).all() and ws.grad.abs().sum() > 0
    assert G.synthesis.L0_36_32.weight.grad is not None
    with torch.no_grad():   # the in-place inference path of the filtered lrelu gives the same image
        torch.testing.assert_close(G.synthesis(ws), img.detach(), atol=1e-6, rtol=1e-5)


def test_magnitude_ema_is_tracked_in_training_only(sg3_G):
    G = sg3_G()
    layer = G.synthesis.L0_36_32
    seen = []
    layer.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    ws = G.mapping(_z(3)).detach()
    old = layer.magnitude_ema.clone()
    with torch.no_grad():
        G.synthesis(ws)                               # eval mode: frozen
        assert torch.equal(layer.magnitude_ema, old)
        G.train()
        G.synthesis(ws)                               # training mode: one EMA step
    expected = seen[-1].square().mean().lerp(old, layer.magnitude_ema_beta)
    torch.testing.assert_close(layer.magnitude_ema, expected)
    G.eval()
    with torch.no_grad():
        G.synthesis(ws, update_emas=True)             # or when asked
    assert not torch.equal(layer.magnitude_ema, expected)


# ----------------------------------------------------------------------------------------------------
# Fourier features and the transform.

def _hand_fourier(inp, rotation=0.0, shift=(0.0, 0.0)):
    """SynthesisInput's output computed from its definition: features sin(2π (f·q + φ)) at q = R(p - shift) for
    the pixel centres p, mixed by weight / sqrt(C)."""
    s, n = inp.sampling_rate, inp.size
    p = (np.arange(n) + 0.5 - n / 2) / s
    px, py = np.meshgrid(p - shift[0], p - shift[1])              # [y, x]
    c, sn = math.cos(rotation), math.sin(rotation)
    qx, qy = c * px - sn * py, sn * px + c * py
    f = inp.freqs.double().numpy()
    phi = inp.phases.double().numpy()
    feats = np.sin(2 * np.pi * (f[:, 0, None, None] * qx + f[:, 1, None, None] * qy + phi[:, None, None]))
    w = inp.weight.detach().double().numpy() / math.sqrt(inp.channels)
    return torch.from_numpy(np.einsum("cyx,dc->dyx", feats, w)).float()


def test_identity_transform_changes_nothing(sg3_G):
    G = sg3_G("r")
    ws = G.mapping(_z(2))
    with torch.no_grad():
        before = G.synthesis(ws)
        G.synthesis.input.transform.copy_(torch.eye(3))
        assert torch.equal(G.synthesis(ws), before)


def test_translation_moves_the_fourier_features(sg3_G):
    G = sg3_G()
    inp = G.synthesis.input
    with torch.no_grad():
        inp.affine.weight.zero_()
        inp.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))    # no learned rotation or translation
        w = G.mapping(_z(1))[:, 0]
        torch.testing.assert_close(inp(w)[0], _hand_fourier(inp), atol=2e-5, rtol=0)
        # `transform` is the inverse of the image's transform: translating the image by (tx, ty).
        tx, ty = 0.137, -0.05
        inp.transform.copy_(torch.tensor([[1.0, 0.0, -tx], [0.0, 1.0, -ty], [0.0, 0.0, 1.0]]))
        moved = inp(w)[0]
        torch.testing.assert_close(moved, _hand_fourier(inp, shift=(tx, ty)), atol=2e-5, rtol=0)
        # A whole number of samples to the right moves the feature maps by that many pixels.
        k = 3
        inp.transform.copy_(torch.tensor([[1.0, 0.0, -k / inp.sampling_rate], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
        shifted = inp(w)[0]
        inp.transform.copy_(torch.eye(3))
        torch.testing.assert_close(shifted[:, :, k:], inp(w)[0][:, :, :-k], atol=2e-5, rtol=0)
        # The learned transform: (cos, sin) normalised to unit length, then the translation, both per w.
        angle = 0.3
        inp.affine.bias.copy_(torch.tensor([2 * math.cos(angle), 2 * math.sin(angle), 2 * tx, 2 * ty]))
        torch.testing.assert_close(inp(w)[0], _hand_fourier(inp, rotation=angle, shift=(tx, ty)), atol=2e-5,
                                   rtol=0)


def test_frequencies_pushed_past_the_band_fade_out(sg3_G):
    G = sg3_G()
    inp = G.synthesis.input
    with torch.no_grad():
        inp.affine.weight.zero_()
        inp.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        inp.weight.copy_(torch.eye(inp.channels) * math.sqrt(inp.channels))   # see the raw sinusoids
        w = G.mapping(_z(1))[:, 0]
        inp.transform.copy_(torch.diag(torch.tensor([8.0, 8.0, 1.0])))   # the image shrinks 8x: frequencies x8
        x = inp(w)[0]
    radius = 8 * inp.freqs.norm(dim=1)
    amplitude = x.flatten(1).abs().amax(dim=1)
    above = radius >= inp.sampling_rate / 2
    assert above.any() and (amplitude[above] == 0).all()
    expected = (1 - (radius - inp.bandwidth) / (inp.sampling_rate / 2 - inp.bandwidth)).clamp(0, 1)
    assert (amplitude <= expected + 1e-6).all()


# ----------------------------------------------------------------------------------------------------
# Filters.

def test_kaiser_design_equals_scipy_firwin():
    for numtaps, width in itertools.product([4, 12, 24], [0.05, 0.3, 0.75, 1.2]):
        atten = sg3.kaiser_attenuation(numtaps, width)
        assert atten == pytest.approx(scipy.signal.kaiser_atten(numtaps, width), rel=1e-12)
        assert sg3.kaiser_beta(atten) == pytest.approx(scipy.signal.kaiser_beta(atten), rel=1e-12)
    for numtaps, cutoff, width, fs in [(12, 2, 12, 32), (24, 4, 8, 64), (12, 90.51, 74.98, 512), (7, 1.5, 2, 10)]:
        np.testing.assert_allclose(sg3.kaiser_lowpass(numtaps, cutoff, width, fs),
                                   scipy.signal.firwin(numtaps, cutoff, width=width, fs=fs), rtol=0, atol=1e-14)
    # Every filter of a built network, against firwin with the layer's own cutoff, width and rate.
    G = ganeval.build_generator("stylegan3", 256, channel_base=256, channel_max=16)
    checked = 0
    for name in G.synthesis.layer_names:
        layer = getattr(G.synthesis, name)
        for f, taps, cutoff, half_width in ((layer.up_filter, layer.up_taps, layer.in_cutoff, layer.in_half_width),
                                            (layer.down_filter, layer.down_taps, layer.out_cutoff,
                                             layer.out_half_width)):
            if taps == 1:
                assert f is None
                continue
            ref = scipy.signal.firwin(taps, cutoff, width=2 * half_width, fs=layer.tmp_sampling_rate)
            np.testing.assert_allclose(f.numpy(), ref, rtol=0, atol=1e-7)
            checked += 1
    assert checked == 28   # 14 layers with an up and a down filter; ToRGB has none


def _response(f: np.ndarray, fs: float, freqs: np.ndarray) -> np.ndarray:
    """|H(f)| of a symmetric FIR filter with taps 1/fs apart."""
    t = (np.arange(len(f)) - (len(f) - 1) / 2) / fs
    return np.abs(np.cos(2 * np.pi * freqs[:, None] * t[None, :]) @ f)


def test_kaiser_filters_reach_their_designed_attenuation():
    G = ganeval.build_generator("stylegan3", 128, channel_base=256, channel_max=16)
    for name in G.synthesis.layer_names[:-1]:
        layer = getattr(G.synthesis, name)
        f, fs = layer.down_filter.double().numpy(), layer.tmp_sampling_rate
        assert _response(f, fs, np.array([0.0]))[0] == pytest.approx(1.0, abs=1e-6)
        stopband = np.linspace(layer.out_cutoff + layer.out_half_width, fs / 2, 100)
        atten = sg3.kaiser_attenuation(len(f), 2 * layer.out_half_width / (fs / 2))
        assert _response(f, fs, stopband).max() <= 2 * 10 ** (-atten / 20)   # Kaiser's estimate, within 6 dB


def test_bessel_j1_and_the_radial_filter():
    x = np.linspace(0, 40, 2001)
    np.testing.assert_allclose(sg3.bessel_j1(x), scipy.special.j1(x), rtol=0, atol=1e-13)
    G = ganeval.build_generator("stylegan3", 64, cfg="r", channel_base=256, channel_max=16)
    radial = [getattr(G.synthesis, n) for n in G.synthesis.layer_names if getattr(G.synthesis, n).down_radial]
    assert len(radial) == 12
    for layer in radial:
        f = layer.down_filter.double()
        n, fs, cutoff = f.shape[0], layer.tmp_sampling_rate, layer.out_cutoff
        assert f.shape == (n, n) and n == layer.down_taps
        # Radially symmetric: unchanged by transposition and by either flip; unit gain at DC.
        assert torch.equal(f, f.T) and torch.equal(f, f.flip(0)) and torch.equal(f, f.flip(1))
        assert f.sum().item() == pytest.approx(1.0, abs=1e-6)
        # The jinc under the separable design's Kaiser window, built with scipy.
        t = (np.arange(n) - (n - 1) / 2) / fs
        r = np.hypot(*np.meshgrid(t, t))
        window = np.kaiser(n, scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(n, 2 * layer.out_half_width
                                                                                  / (fs / 2))))
        ref = scipy.special.j1(2 * np.pi * cutoff * r) / (np.pi * r) * np.outer(window, window)
        np.testing.assert_allclose(f.numpy(), ref / ref.sum(), rtol=0, atol=1e-7)


# ----------------------------------------------------------------------------------------------------
# upfirdn and the filtered leaky ReLU.

def _naive_upfirdn(x, f, up, down, padding, gain):
    """The definition, one output sample at a time: zero insertion, zero padding (negative crops), true
    convolution with f (separable when 1D) keeping only full overlaps, decimation, gain."""
    n, c, h, w = x.shape
    px0, px1, py0, py1 = padding
    big = np.zeros((n, c, h * up, w * up))
    big[:, :, ::up, ::up] = x.numpy()
    H, W = h * up + py0 + py1, w * up + px0 + px1
    padded = np.zeros((n, c, H, W))
    for i, j in itertools.product(range(H), range(W)):
        si, sj = i - py0, j - px0
        if 0 <= si < h * up and 0 <= sj < w * up:
            padded[:, :, i, j] = big[:, :, si, sj]
    f2 = np.ones((1, 1)) if f is None else (np.outer(f, f) if f.ndim == 1 else f.numpy())
    fh, fw = f2.shape
    out = np.zeros((n, c, H - fh + 1, W - fw + 1))
    for i, j in itertools.product(range(out.shape[2]), range(out.shape[3])):
        for a, b in itertools.product(range(fh), range(fw)):
            out[:, :, i, j] += padded[:, :, i + a, j + b] * f2[fh - 1 - a, fw - 1 - b]
    return torch.from_numpy(out[:, :, ::down, ::down] * gain)


@pytest.mark.parametrize("up,down", [(1, 1), (2, 1), (1, 2), (4, 1), (1, 3), (2, 2)])
@pytest.mark.parametrize("kind", ["1d", "2d", "none"])
def test_upfirdn_against_a_naive_loop(up, down, kind):
    g = torch.Generator().manual_seed(up * 10 + down)
    x = torch.randn(1, 2, 5, 4, generator=g, dtype=torch.float64)
    taps = 4 if kind != "none" else 1
    f = {"1d": torch.randn(taps, generator=g, dtype=torch.float64),   # asymmetric: flips would show
         "2d": torch.randn(taps, taps, generator=g, dtype=torch.float64), "none": None}[kind]
    for padding in ([0, 0, 0, 0], [3, 2, 1, 4], [-1, 3, 2, -2]):
        try:
            expected = _naive_upfirdn(x, f, up, down, padding, gain=up ** 2)
        except ValueError:
            continue
        if min(expected.shape) == 0:
            continue
        for impl in (ops.upfirdn2d, ops.upfirdn2d_strided):
            torch.testing.assert_close(impl(x, f, up=up, down=down, padding=padding, gain=up ** 2), expected,
                                       rtol=0, atol=1e-12)


def test_filtered_lrelu_is_upsample_lrelu_clamp_downsample():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 6, 6, generator=g)
    b = torch.randn(3, generator=g)
    fu = torch.as_tensor(sg3.kaiser_lowpass(12, 2, 8, 16), dtype=torch.float32)
    fd = torch.as_tensor(sg3.radial_lowpass(12, 3, 4, 16), dtype=torch.float32)
    padding = [9, 8, 9, 8]
    for clamp in (None, 0.5):
        y = _naive_upfirdn((x + b.reshape(1, -1, 1, 1)).double(), fu.double(), 2, 1, padding, gain=4)
        y = torch.nn.functional.leaky_relu(y, 0.2) * math.sqrt(2)
        if clamp is not None:
            y = y.clamp(-clamp, clamp)
        expected = _naive_upfirdn(y, fd.double(), 1, 2, [0, 0, 0, 0], gain=1).float()
        out = sg3.filtered_lrelu(x, fu, fd, b, up=2, down=2, padding=padding, clamp=clamp)
        torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
        grad_path = sg3.filtered_lrelu(x.clone().requires_grad_(True), fu, fd, b, up=2, down=2, padding=padding,
                                       clamp=clamp)
        torch.testing.assert_close(grad_path.detach(), expected, atol=1e-5, rtol=0)


# ----------------------------------------------------------------------------------------------------
# The layer schedule (the paper's Fig. 4).

def test_layer_schedule_follows_the_paper():
    bands = sg3.layer_schedule(1024, 3, channel_base=32768, channel_max=512)
    cutoffs = np.array([b.cutoff for b in bands])
    rates = np.array([b.sampling_rate for b in bands])
    assert len(bands) == 15 and cutoffs[0] == 2 and cutoffs[12] == 512
    # Cutoffs grow geometrically up to the first critically sampled layer, then stay at img_resolution / 2.
    np.testing.assert_allclose(cutoffs[1:13] / cutoffs[:12], (512 / 2) ** (1 / 12))
    assert (cutoffs[12:] == 512).all() and (rates[12:] == 1024).all()
    assert all(rate & (rate - 1) == 0 for rate in rates) and (np.diff(rates) >= 0).all()
    # The stopband (cutoff + half-width) lies at Nyquist wherever the rate is not capped at the image's.
    for b in bands:
        if b.sampling_rate < 1024:
            assert b.cutoff + b.half_width == pytest.approx(b.sampling_rate / 2)
    assert bands[-1].cutoff + bands[-1].half_width == pytest.approx(512 * 2 ** 0.3)
    # A 10-sample margin on each side, except the last two layers; channels ~ 1 / cutoff.
    assert [b.size for b in bands] == [b.sampling_rate + 20 for b in bands[:13]] + [1024, 1024]
    assert [b.channels for b in bands] == [512] * 7 + [323, 203, 128, 81, 51, 32, 32, 3]
