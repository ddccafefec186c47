"""The generator core: shapes, truncation, noise modes, style mixing, gradients, resampling ops."""

import math

import pytest
import torch
import torch.nn.functional as F

import ganeval
from ganeval.errors import ConfigError
from ganeval.models import ops

ARCHS = ["pggan", "stylegan", "stylegan2"]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("res", [8, 16, 32, 64])
def test_builds_and_shapes(arch, res, tiny_G, tiny_D):
    G, D = tiny_G(arch, res), tiny_D(arch, res, seed=1)
    z = torch.randn(3, 32)
    ws = G.mapping(z)
    assert ws.shape == (3, G.num_ws, 32)
    expected_ws = {"pggan": 1, "stylegan": 2 * int(math.log2(res)) - 2, "stylegan2": 2 * int(math.log2(res)) - 2}
    assert G.num_ws == expected_ws[arch]
    img = G.synthesis(ws, noise_mode="const")
    assert img.shape == (3, 3, res, res) and img.dtype == torch.float32
    assert torch.isfinite(img).all()
    # Random init keeps activations on a sane scale (equalized lr): no blow-up, no collapse.
    assert 1e-3 < img.std().item() < 10
    assert D(img).shape == (3, 1)
    assert G.arch == arch and G.img_resolution == res and G.img_channels == 3


@pytest.mark.parametrize("arch", ["stylegan", "stylegan2"])
@pytest.mark.parametrize("depth", [0, 1, 2, 8])
def test_mapping_depth(arch, depth, tiny_G):
    G = tiny_G(arch, 8, depth=depth)
    assert G.mapping_depth == depth and G.has_w == (depth > 0)
    assert len([n for n, _ in G.mapping.named_parameters() if n.endswith("weight")]) == depth
    z = torch.randn(5, 32)
    ws = G.mapping(z)
    # Every layer gets the same w from a single z.
    assert torch.equal(ws, ws[:, :1].expand_as(ws))
    if depth == 0:  # W is the pixel-normalised Z
        torch.testing.assert_close(ws[:, 0], z * (z.square().mean(1, keepdim=True) + 1e-8).rsqrt())


def test_pggan_has_no_w(tiny_G):
    G = tiny_G("pggan")
    assert not G.has_w and G.mapping_depth == 0
    with pytest.raises(ConfigError):
        ganeval.build_generator("pggan", 16, mapping_depth=2)


def test_stylegan2_config_f_parameter_count():
    # NVlabs stylegan2-ada-pytorch Generator(z_dim=512, w_dim=512, img_resolution=1024, channel_base=32768,
    # channel_max=512, 8 mapping layers) has 30,370,060 parameters (counted by instantiating it).
    with torch.device("meta"):
        G = ganeval.build_generator("stylegan2", 1024)
        D = ganeval.build_discriminator("stylegan2", 1024)
    n = G.num_params()
    assert abs(n - 30_370_060) / 30_370_060 < 0.02
    assert n == 30_370_060
    assert sum(p.numel() for p in D.parameters()) == 29_012_513
    assert G.num_ws == 18


@pytest.mark.parametrize("arch", ["stylegan", "stylegan2"])
def test_truncation(arch, tiny_G):
    G = tiny_G(arch)
    G.mapping.w_avg.copy_(torch.randn(32))
    z = torch.randn(4, 32)
    ws = G.mapping(z)
    ws0 = G.mapping(z, truncation_psi=0)
    assert torch.allclose(ws0, G.w_avg.expand_as(ws0))
    cut = 3
    wsc = G.mapping(z, truncation_psi=0, truncation_cutoff=cut)
    assert torch.allclose(wsc[:, :cut], G.w_avg.expand(4, cut, 32))
    assert torch.equal(wsc[:, cut:], ws[:, cut:])
    wsh = G.mapping(z, truncation_psi=0.5)
    torch.testing.assert_close(wsh, G.w_avg + 0.5 * (ws - G.w_avg))


def test_w_avg_tracking(tiny_G):
    G = tiny_G("stylegan2")
    G.train()
    z = torch.randn(64, 32)
    w = G.mapping(z)[:, 0].detach()
    torch.testing.assert_close(G.w_avg, 0.005 * w.mean(0))
    G.eval()
    before = G.w_avg.clone()
    G.mapping(z)
    assert torch.equal(G.w_avg, before)
    G.train()
    G.mapping(z, update_w_avg=False)
    assert torch.equal(G.w_avg, before)


@pytest.mark.parametrize("arch", ARCHS)
def test_noise_modes(arch, tiny_G):
    G = tiny_G(arch).eval()
    z = torch.randn(2, 32)
    with torch.no_grad():
        for name, p in G.named_parameters():  # strengths start at 0: give the noise an effect
            if name.endswith("noise_strength"):
                p.fill_(0.5)
        a, b = G(z, noise_mode="const"), G(z, noise_mode="const")
        c = G(z, noise_mode="none")
        r1, r2 = G(z, noise_mode="random"), G(z, noise_mode="random")
    assert torch.equal(a, b)
    if arch == "pggan":  # no noise inputs at all
        assert torch.equal(a, c) and torch.equal(r1, r2) and not G.noise_buffers()
        return
    assert not torch.allclose(a, c)
    assert not torch.allclose(r1, r2)
    # redraw_noise_ is seeded: same generator seed, same const noise
    G.redraw_noise_(torch.Generator().manual_seed(5))
    with torch.no_grad():
        d = G(z, noise_mode="const")
    G.redraw_noise_(torch.Generator().manual_seed(5))
    with torch.no_grad():
        e = G(z, noise_mode="const")
    assert torch.equal(d, e) and not torch.allclose(a, d)
    with pytest.raises(ValueError):
        G(z, noise_mode="bogus")


@pytest.mark.parametrize("arch", ["stylegan", "stylegan2"])
def test_style_mixing(arch, tiny_G):
    G = tiny_G(arch)
    w1, w2 = G.mapping(torch.randn(3, 32)), G.mapping(torch.randn(3, 32))
    mixed = G.style_mix(w1, w2, 2)
    assert torch.equal(mixed[:, :2], w1[:, :2]) and torch.equal(mixed[:, 2:], w2[:, 2:])
    per_sample = G.style_mix(w1, w2, torch.tensor([0, 1, G.num_ws]))
    assert torch.equal(per_sample[0], w2[0])
    assert torch.equal(per_sample[1, :1], w1[1, :1]) and torch.equal(per_sample[1, 1:], w2[1, 1:])
    assert torch.equal(per_sample[2], w1[2])
    # The image is really driven per layer: changing w2 on the coarse layers does not matter when they come from w1.
    with torch.no_grad():
        a = G.synthesis(G.style_mix(w1, w2, G.num_ws), noise_mode="const")
        b = G.synthesis(w1, noise_mode="const")
    assert torch.equal(a, b)


@pytest.mark.parametrize("arch", ARCHS)
def test_gradients_reach_every_parameter(arch, tiny_G, tiny_D):
    G, D = tiny_G(arch), tiny_D(arch, seed=1)
    z = torch.randn(4, 32)
    # Progressive nets use their lower-level to-RGB / from-RGB layers only while growing: sweep the lods
    # (a fade-in at every level, then fully grown) so every layer takes part in some step.
    lods = [k + 0.5 for k in range(G.synthesis.max_lod)] + [0.0] if hasattr(G.synthesis, "max_lod") else [None]
    for lod in lods:
        if lod is not None:
            G.synthesis.set_lod(lod)
            D.set_lod(lod)
        # Generator step: non-saturating loss through D.
        loss_G = F.softplus(-D(G(z))).mean()
        loss_G.backward()
    missing = [n for n, p in G.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, missing
    # The gradients are really non-zero (noise strengths too, although they start at 0).
    zero = [n for n, p in G.named_parameters() if p.grad.abs().sum() == 0]
    assert not zero, zero
    # Discriminator step on reals and fakes.
    D.zero_grad()
    for lod in lods:
        if lod is not None:
            G.synthesis.set_lod(lod)
            D.set_lod(lod)
        loss_D = F.softplus(D(G(z).detach())).mean() + F.softplus(-D(torch.randn(4, 3, 16, 16))).mean()
        loss_D.backward()
    missing = [n for n, p in D.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing, missing


def test_unknown_arch_and_bad_resolution():
    with pytest.raises(ConfigError, match="unknown architecture"):
        ganeval.build_generator("biggan", 64)
    with pytest.raises(ConfigError, match="power of two"):
        ganeval.build_generator("stylegan2", 48)
    with pytest.raises(ConfigError, match="no option"):
        ganeval.build_generator("stylegan2", 16, mapping_dept=2)


# ---------------------------------------------------------------------------------------------------
# Ops against direct formulations.

def _generic_up_conv(x, w, f, up=2, padding=1):
    """Zero-insert upsample, pad, FIR filter with gain up², then correlate: the definition."""
    fw = f.shape[-1]
    p0 = padding + (fw + up - 1) // 2
    p1 = padding + (fw - up) // 2
    y = ops.upfirdn2d(x, f, up=up, padding=[p0, p1, p0, p1], gain=up ** 2)
    return F.conv2d(y, w)


@pytest.mark.parametrize("groups", [1, 3])
def test_transposed_up_conv_equals_definition(groups):
    torch.manual_seed(0)
    f = ops.setup_filter([1, 3, 3, 1])
    x = torch.randn(2, 6, 5, 5)
    w = torch.randn(9, 6 // groups, 3, 3)
    fast = ops.conv2d_resample(x, w, f, up=2, padding=1, groups=groups, flip_weight=True)
    if groups == 1:
        ref = _generic_up_conv(x, w, f)
    else:
        ref = torch.cat([_generic_up_conv(x[:, 2 * g:2 * g + 2], w[3 * g:3 * g + 3], f) for g in range(3)], 1)
    assert fast.shape == (2, 9, 10, 10)
    torch.testing.assert_close(fast, ref, atol=1e-5, rtol=1e-5)
    # flip_weight=False is a true convolution: same as correlating with the flipped kernel.
    torch.testing.assert_close(ops.conv2d_resample(x, w, f, up=2, padding=1, groups=groups, flip_weight=False),
                               ops.conv2d_resample(x, w.flip([2, 3]), f, up=2, padding=1, groups=groups),
                               atol=1e-5, rtol=1e-5)


def test_down_conv_equals_definition():
    torch.manual_seed(0)
    f = ops.setup_filter([1, 3, 3, 1])
    x = torch.randn(2, 4, 8, 8)
    w = torch.randn(5, 4, 3, 3)
    y = ops.conv2d_resample(x, w, f, down=2, padding=1)
    ref = F.conv2d(ops.upfirdn2d(x, f, padding=[2, 2, 2, 2]), w)[:, :, ::2, ::2]
    assert y.shape == (2, 5, 4, 4)
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)


def test_upfirdn_preserves_constant_and_sizes():
    f = ops.setup_filter([1, 3, 3, 1])
    x = torch.ones(1, 2, 4, 4)
    up = ops.upsample2d(x, f)
    assert up.shape == (1, 2, 8, 8)
    torch.testing.assert_close(up[:, :, 2:-2, 2:-2], torch.ones(1, 2, 4, 4))  # unit DC gain inside
    down = ops.downsample2d(torch.ones(1, 2, 8, 8), f)
    assert down.shape == (1, 2, 4, 4)
    torch.testing.assert_close(down[:, :, 1:-1, 1:-1], torch.ones(1, 2, 2, 2))
    blur = ops.filter2d(torch.ones(1, 1, 6, 6), ops.setup_filter([1, 2, 1]))
    assert blur.shape == (1, 1, 6, 6)


def test_modulated_conv_equals_per_sample_conv():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 6, 6)
    weight = torch.randn(5, 4, 3, 3)
    styles = torch.randn(3, 4)
    y = ops.modulated_conv2d(x, weight, styles, padding=1)
    for i in range(3):
        wi = weight * styles[i].reshape(1, -1, 1, 1)
        wi = wi / wi.square().sum(dim=[1, 2, 3], keepdim=True).add(1e-8).sqrt()
        torch.testing.assert_close(y[i:i + 1], F.conv2d(x[i:i + 1], wi, padding=1), atol=1e-5, rtol=1e-5)
    # Demodulation makes the output scale-invariant to the style magnitude.
    torch.testing.assert_close(ops.modulated_conv2d(x, weight, styles * 7, padding=1), y, atol=1e-4, rtol=1e-4)


def test_equalized_lr_and_bias_act():
    torch.manual_seed(0)
    fc = ops.FullyConnectedLayer(64, 8, lr_multiplier=0.01)
    assert fc.weight.std().item() == pytest.approx(100, rel=0.1)  # stored N(0,1)/lr_mul
    x = torch.randn(4, 64)
    torch.testing.assert_close(fc(x), x @ (fc.weight * 0.01 / 8).t() + fc.bias * 0.01)
    y = ops.bias_act(torch.tensor([[-1.0, 2.0]]), torch.tensor([0.5, 0.0]), act="lrelu", clamp=2.0)
    torch.testing.assert_close(y, torch.tensor([[-0.5 * 0.2 * math.sqrt(2), 2.0]]))


def test_minibatch_std():
    x = torch.randn(8, 6, 4, 4)
    y = ops.MinibatchStdLayer(group_size=4)(x)
    assert y.shape == (8, 7, 4, 4)
    g = x.reshape(4, 2, 6, 4, 4)
    expect = (g.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=[1, 2, 3])  # one value per group
    torch.testing.assert_close(y[0, 6, 0, 0], expect[0])
    torch.testing.assert_close(y[1, 6, 0, 0], expect[1])
    torch.testing.assert_close(y[2, 6, 0, 0], expect[0])
