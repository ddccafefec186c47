"""NVlabs stylegan2-ada-pytorch / stylegan3 network pickles (StyleGAN2 and StyleGAN3 generators), written with a
fake `torch_utils.persistence`."""

import sys

import pytest
import torch
from click.testing import CliRunner

import ganeval
from ganeval.checkpoints import convert_checkpoint, detect, load_checkpoint
from ganeval.cli import main
from ganeval.errors import CheckpointError


@pytest.fixture
def nets(tiny_G, tiny_D):
    """Factory: nets(arch="skip", conv_clamp=None, seed=0) -> (G, D), a width-16 StyleGAN2 of that architecture
    with channel_base 256 and its D (resnet for skip), in eval mode, with random noise strengths, biases and w_avg
    and tripled weights."""
    def make(arch="skip", conv_clamp=None, seed=0):
        G = tiny_G(seed=seed, width=16, channel_base=256, architecture=arch, conv_clamp=conv_clamp).eval()
        D = tiny_D(seed=None, width=16, channel_base=256, conv_clamp=conv_clamp,
                   architecture="resnet" if arch == "skip" else arch).eval()
        with torch.no_grad():
            for m in (G, D):
                for name, p in m.named_parameters():
                    if "noise_strength" in name or (name.endswith("bias") and "affine" not in name):
                        p.normal_(0, 0.5)
                    elif name.endswith("weight") and "affine" not in name and "fc" not in name:
                        p.mul_(3)  # large activations, so that a clamp bites
            G.mapping.w_avg.normal_()
        return G, D
    return make


def _same_images(A, B, psi=0.7):
    z = torch.randn(3, A.z_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return torch.equal(A(z, truncation_psi=psi, noise_mode="const"), B(z, truncation_psi=psi, noise_mode="const"))


@pytest.mark.parametrize("arch,protocol", [("skip", 3), ("resnet", 4), ("orig", 2)])
def test_snapshot_loads_without_their_code(tmp_path, arch, protocol, nets, ckpt_fakes):
    G, D = nets(arch, conv_clamp=4 if arch == "resnet" else None)
    config = {k: v for k, v in G.config.items() if k != "img_resolution"}
    G_ema = ganeval.build_generator("stylegan2", 16, **config).eval()
    G_ema.load_state_dict(G.state_dict())
    with torch.no_grad():
        G_ema.synthesis.b16.conv1.bias.add_(1.0)   # G and G_ema must not be swapped
    marker = tmp_path / "executed"
    path = tmp_path / "network-snapshot-000100.pkl"
    training_set_kwargs = ckpt_fakes.EasyDict(path="ffhq.zip", resolution=16, xflip=True)
    ckpt_fakes.write_nvlabs_pickle(path, dict(G=G, D=D, G_ema=G_ema, augment_pipe=None,
                                              training_set_kwargs=training_set_kwargs),
                                   module_src=ckpt_fakes.MARKER_SRC.format(path=str(marker)), protocol=protocol)
    assert "torch_utils" not in sys.modules and "dnnlib" not in sys.modules  # the fake stub is gone

    assert detect(path) == "nvlabs"
    ck = load_checkpoint(path)
    assert not marker.exists()                                 # module_src was never executed
    assert "torch_utils" not in sys.modules and "dnnlib" not in sys.modules
    assert ck.format == "nvlabs" and ck.arch == "stylegan2"
    assert _same_images(ck.G_ema, G_ema) and _same_images(ck.G, G) and not _same_images(ck.G, G_ema)
    img = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(ck.D(img), D(img))
    assert ck.config["architecture"] == arch and ck.config["mapping_depth"] == 2
    assert ck.meta["training_set_path"] == "ffhq.zip" and "fp16" in ck.meta
    if arch == "resnet":  # conv_clamp honoured (and it does bite on these weights)
        assert ck.meta["conv_clamp"] == 4 and ck.D_config["conv_clamp"] == 4
        with torch.no_grad():
            assert ck.G_ema(torch.randn(2, 16), noise_mode="const").abs().max() <= 4 * 2 ** 0.5 * 2


def test_stylegan3_layout_flattened_kwargs_and_clamp_from_layers(tmp_path, nets, ckpt_fakes):
    # stylegan3's networks_stylegan2.Generator takes synthesis kwargs flattened and defaults conv_clamp to
    # 256 in SynthesisBlock; the value the layers stored is what counts, not the (absent) kwarg.
    G, _ = nets("skip", conv_clamp=256)
    kw = ckpt_fakes.EasyDict(z_dim=16, c_dim=0, w_dim=16, img_resolution=16, img_channels=3,
                             mapping_kwargs=ckpt_fakes.EasyDict(num_layers=2), channel_base=256, channel_max=16,
                             fused_modconv_default="inference_only")
    ckpt_fakes.write_nvlabs_pickle(tmp_path / "sg3-stylegan2.pkl", dict(G_ema=G), init_kwargs={"G_ema": kw})
    ck = load_checkpoint(tmp_path / "sg3-stylegan2.pkl")
    assert ck.config["conv_clamp"] == 256 and ck.G is None and ck.D is None
    assert _same_images(ck.G_ema, G)


class SynthesisInput(torch.nn.Module):
    """Stands for stylegan3's alias-free input layer (only its class name matters here)."""


def test_stylegan2_layers_with_a_stylegan3_input_and_conditional_are_refused(tmp_path, nets, ckpt_fakes):
    G, _ = nets()
    G.synthesis.input = SynthesisInput()   # read as StyleGAN3, whose Generator takes no nested synthesis_kwargs
    ckpt_fakes.write_nvlabs_pickle(tmp_path / "odd.pkl", dict(G=G, G_ema=G))
    with pytest.raises(CheckpointError, match="unsupported StyleGAN3 synthesis option.*synthesis_kwargs") as e:
        load_checkpoint(tmp_path / "odd.pkl")
    assert "\n" not in str(e.value)

    G, _ = nets()
    kwargs = ckpt_fakes.EasyDict(ckpt_fakes.nvlabs_generator_kwargs(G), c_dim=10)
    ckpt_fakes.write_nvlabs_pickle(tmp_path / "cond.pkl", dict(G_ema=G), init_kwargs={"G_ema": kwargs})
    with pytest.raises(CheckpointError, match="conditional"):
        load_checkpoint(tmp_path / "cond.pkl")


# ----------------------------------------------------------------------------------------------------
# StyleGAN3 (networks_stylegan3.Generator; its D is StyleGAN2's).

@pytest.fixture
def sg3_nets(tiny_G, tiny_D):
    """sg3_nets(cfg) -> (G, G_ema, D): width-16 StyleGAN3 generators at 16 px that differ from each other, with
    biases, magnitude EMAs, w_avg, the input's learned transform and its `transform` buffer away from their
    initial constants, and a StyleGAN2 discriminator; eval mode."""
    def make(cfg="t"):
        G = tiny_G("stylegan3", 16, width=16, cfg=cfg, conv_clamp=4).eval()
        D = tiny_D("stylegan3", 16, width=16, seed=1).eval()
        g = torch.Generator().manual_seed(7)
        with torch.no_grad():
            for name, p in G.named_parameters():
                if name.endswith(".bias") and "affine" not in name:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            for name, b in G.named_buffers():
                if name.endswith("magnitude_ema"):
                    b.fill_(0.25 + torch.rand([], generator=g).item())
            G.mapping.w_avg.copy_(torch.randn(16, generator=g))
            G.synthesis.input.affine.weight.copy_(torch.randn(4, 16, generator=g) * 0.3)
            G.synthesis.input.transform[0, 2] = 0.1
            for p in D.parameters():
                p.add_(torch.randn(p.shape, generator=g) * 0.1)
        G_ema = G.copy()
        with torch.no_grad():
            G_ema.synthesis.L3_36_16.bias.add_(1.0)   # G and G_ema must not be swapped
        return G, G_ema, D
    return make


@pytest.mark.parametrize("cfg,protocol", [("t", 3), ("r", 4)])
def test_stylegan3_snapshot_loads_without_their_code(tmp_path, cfg, protocol, sg3_nets, ckpt_fakes):
    G, G_ema, D = sg3_nets(cfg)
    marker = tmp_path / "executed"
    path = tmp_path / f"stylegan3-{cfg}.pkl"
    ckpt_fakes.write_nvlabs_pickle(path, dict(G=G, D=D, G_ema=G_ema, augment_pipe=None,
                                              training_set_kwargs=ckpt_fakes.EasyDict(path="afhq.zip")),
                                   module_src="class SynthesisInput: pass\n" +
                                   ckpt_fakes.MARKER_SRC.format(path=str(marker)), protocol=protocol)
    assert "torch_utils" not in sys.modules and "dnnlib" not in sys.modules
    assert detect(path) == "nvlabs"
    ck = load_checkpoint(path)
    assert not marker.exists() and "torch_utils" not in sys.modules
    assert ck.arch == "stylegan3" and ck.G_ema.arch == "stylegan3" and ck.config["cfg"] == cfg
    expected = {"t": dict(conv_kernel=3, use_radial_filters=False), "r": dict(conv_kernel=1, use_radial_filters=True)}
    assert {k: ck.config[k] for k in expected[cfg]} == expected[cfg]
    assert ck.config["channel_base"] == 128 and ck.config["conv_clamp"] == 4 and ck.config["mapping_depth"] == 2
    for name, buf in G_ema.named_buffers():   # transform, freqs, phases, magnitude EMAs, filters, w_avg
        assert torch.equal(dict(ck.G_ema.named_buffers())[name], buf), name
    assert _same_images(ck.G_ema, G_ema) and _same_images(ck.G, G) and not _same_images(ck.G, G_ema)
    assert _same_images(ck.G_ema, G_ema, psi=1.0)
    img = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(ck.D(img), D(img))
    assert ck.meta["stylegan3"].startswith(f"StyleGAN3-{cfg.upper()}: ")
    assert "fp16" in ck.meta and ck.meta["conv_clamp"] == 4 and "transform" in ck.meta


def test_stylegan3_convert_round_trip_and_info(tmp_path, sg3_nets, ckpt_fakes):
    G, G_ema, D = sg3_nets("r")
    ckpt_fakes.write_nvlabs_pickle(tmp_path / "sg3.pkl", dict(G=G, D=D, G_ema=G_ema))
    summary = convert_checkpoint(tmp_path / "sg3.pkl", tmp_path / "native.pt")
    assert summary["written"] == ["G", "G_ema", "D"]
    convert_checkpoint(tmp_path / "native.pt", tmp_path / "again.pt")   # native checkpoints rebuild from G_config
    for name in ("native.pt", "again.pt"):
        ck = load_checkpoint(tmp_path / name)
        assert ck.format == "ganeval" and ck.arch == "stylegan3" and ck.config["cfg"] == "r"
        assert _same_images(ck.G_ema, G_ema) and _same_images(ck.G, G)
        assert torch.equal(ck.G_ema.synthesis.input.transform, G_ema.synthesis.input.transform)
        img = torch.randn(2, 3, 16, 16)
        with torch.no_grad():
            assert torch.equal(ck.D(img), D(img))
    with pytest.raises(CheckpointError, match="stylegan3 generator"):
        convert_checkpoint(tmp_path / "sg3.pkl", tmp_path / "ros.pt", to="rosinality")
    res = CliRunner().invoke(main, ["info", str(tmp_path / "sg3.pkl")])
    assert res.exit_code == 0, res.output
    assert "stylegan3" in res.stdout and "StyleGAN3-R: 1x1 convolutions, radial downsampling filters" in res.stdout


def test_stylegan3_settings_that_do_not_rebuild_the_file_are_refused(tmp_path, sg3_nets, ckpt_fakes):
    G, _, _ = sg3_nets("t")
    kw = ckpt_fakes.nvlabs_stylegan3_generator_kwargs(G)
    cases = [(ckpt_fakes.EasyDict(kw, first_stopband=2 ** 2.5), "rebuilt from its settings"),
             (ckpt_fakes.EasyDict(kw, use_noise=True), "unsupported StyleGAN3 synthesis option.*use_noise"),
             (ckpt_fakes.EasyDict(kw, mapping_kwargs=ckpt_fakes.EasyDict(num_layers=2, layer_features=64)),
              "unsupported StyleGAN3 mapping option.*layer_features"),
             (ckpt_fakes.EasyDict(kw, c_dim=4), "conditional")]
    for i, (kwargs, why) in enumerate(cases):
        ckpt_fakes.write_nvlabs_pickle(tmp_path / f"bad{i}.pkl", dict(G_ema=G), init_kwargs={"G_ema": kwargs})
        with pytest.raises(CheckpointError, match=why) as e:
            load_checkpoint(tmp_path / f"bad{i}.pkl")
        assert "\n" not in str(e.value)


def test_missing_w_avg_is_estimated(tmp_path, nets, ckpt_fakes):
    G, _ = nets()
    G.mapping._buffers.pop("w_avg")  # w_avg_beta=None in the reference: no buffer
    ckpt_fakes.write_nvlabs_pickle(tmp_path / "now.pkl", dict(G_ema=G))
    ck = load_checkpoint(tmp_path / "now.pkl")
    assert ck.meta["w_avg"].startswith("estimated from 10,000 samples")
    assert ck.G_ema.w_avg.abs().sum() > 0
