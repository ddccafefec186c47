"""`ganeval convert` (native / rosinality export keeping G, G_ema, D, w_avg) and `ganeval info` on every format."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import ganeval
from ganeval.checkpoints import convert_checkpoint, load_checkpoint, save_checkpoint
from ganeval.cli import main
from ganeval.errors import CheckpointError


def _images(G, psi=0.7):
    z = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        return G(z, truncation_psi=psi, noise_mode="const")


@pytest.fixture(scope="module")
def files(tmp_path_factory, ckpt_fakes, perturbed):
    d = tmp_path_factory.mktemp("formats")
    torch.manual_seed(0)
    small = dict(z_dim=16, w_dim=16, mapping_depth=2, channel_base=256, channel_max=16)
    G = perturbed(ganeval.build_generator("stylegan2", 16, **small), 1)
    G_ema = perturbed(ganeval.build_generator("stylegan2", 16, **small), 2)
    D = perturbed(ganeval.build_discriminator("stylegan2", 16, channel_base=256, channel_max=16), 3)
    with torch.no_grad():
        G_ema.mapping.w_avg.normal_()
    ckpt_fakes.write_nvlabs_pickle(d / "nvlabs.pkl", dict(G=G, D=D, G_ema=G_ema, augment_pipe=None,
                                                          training_set_kwargs=ckpt_fakes.EasyDict(path="x.zip")))
    gs, dd = ckpt_fakes.stylegan2_tf_pickle_states(G_ema, D)
    ckpt_fakes.write_tf_pickle(d / "tf2.pkl", (gs, dd, gs))
    gs1, _ = ckpt_fakes.stylegan_tf_pickle_state(resolution=16)
    ckpt_fakes.write_tf_pickle(d / "tf1.pkl", gs1)
    kw = dict(num_channels=3, resolution=16, fmap_base=128, fmap_max=16)
    pggan = ckpt_fakes.tf_state("Gs", "networks.G_paper", kw, ckpt_fakes.pggan_tf_variables(16, 128, 16), version=2)
    ckpt_fakes.write_tf_pickle(d / "pggan.pkl", pggan, module="tfutil")
    # rosinality's table needs 512 channels up to 32 px.
    ros_cfg = dict(z_dim=16, w_dim=16, mapping_depth=2, channel_base=16384, channel_max=512)
    RG = perturbed(ganeval.build_generator("stylegan2", 8, **ros_cfg), 4)
    RD = perturbed(ganeval.build_discriminator("stylegan2", 8, channel_base=16384, channel_max=512), 5)
    save_checkpoint(d / "native-ros.pt", G=RG, G_ema=RG, D=RD)
    return dict(dir=d, G=G, G_ema=G_ema, D=D, RG=RG, RD=RD)


def test_nvlabs_to_native_keeps_every_network(files, tmp_path):
    out = tmp_path / "out.pt"
    res = CliRunner().invoke(main, ["convert", str(files["dir"] / "nvlabs.pkl"), str(out)])
    assert res.exit_code == 0, res.output
    assert "G, G_ema, D" in res.output and "from nvlabs" in res.output
    ck = load_checkpoint(out)
    assert ck.format == "ganeval" and ck.meta["converted_from"] == "nvlabs: nvlabs.pkl"
    assert torch.equal(_images(ck.G_ema), _images(files["G_ema"])) and torch.equal(_images(ck.G), _images(files["G"]))
    assert torch.equal(ck.G_ema.w_avg, files["G_ema"].w_avg)
    img = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(ck.D(img), files["D"](img))


def test_tf_to_native_and_ganeval_to_rosinality(files, tmp_path):
    summary = convert_checkpoint(files["dir"] / "tf2.pkl", tmp_path / "from-tf.pt", to="native")
    assert summary["source_format"] == "tf-stylegan2" and summary["written"] == ["G", "G_ema", "D"]
    assert torch.equal(_images(load_checkpoint(tmp_path / "from-tf.pt").G_ema), _images(files["G_ema"]))

    out = tmp_path / "ros.pt"
    res = CliRunner().invoke(main, ["convert", str(files["dir"] / "native-ros.pt"), str(out), "--to", "rosinality"])
    assert res.exit_code == 0, res.output
    raw = torch.load(out, weights_only=True)
    assert set(raw) == {"g", "g_ema", "d", "latent_avg"}
    ck = load_checkpoint(out)
    assert ck.format == "rosinality" and ck.meta["w_avg"].startswith("from latent_avg")
    assert torch.equal(_images(ck.G_ema), _images(files["RG"]))
    img = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(ck.D(img), files["RD"](img))


def test_rosinality_export_refuses_what_it_cannot_represent(files, tmp_path):
    out = tmp_path / "no.pt"
    res = CliRunner().invoke(main, ["convert", str(files["dir"] / "nvlabs.pkl"), str(out), "--to", "rosinality"])
    assert res.exit_code == 2 and not out.exists()
    assert res.stderr.count("\n") == 1 and "channel_base=256" in res.stderr
    for cfg, why in ((dict(architecture="resnet"), "architecture 'resnet'"), (dict(conv_clamp=256), "conv_clamp"),
                     (dict(z_dim=32), "style_dim")):
        G = ganeval.build_generator("stylegan2", 8, **{**dict(z_dim=16, w_dim=16, mapping_depth=1), **cfg})
        save_checkpoint(tmp_path / "in.pt", G_ema=G)
        with pytest.raises(CheckpointError, match=why):
            convert_checkpoint(tmp_path / "in.pt", out, to="rosinality")
        assert not out.exists()
    with pytest.raises(CheckpointError, match="pggan"):
        convert_checkpoint(files["dir"] / "pggan.pkl", out, to="rosinality")


@pytest.mark.parametrize("name,fmt", [("nvlabs.pkl", "nvlabs"), ("tf2.pkl", "tf-stylegan2"), ("tf1.pkl", "tf-stylegan"),
                                      ("pggan.pkl", "tf-pggan"), ("native-ros.pt", "ganeval")])
def test_info_shows_the_detected_format(files, name, fmt):
    res = CliRunner().invoke(main, ["info", str(files["dir"] / name)])
    assert res.exit_code == 0, res.output
    lines = dict(line.split(None, 1) for line in res.stdout.splitlines() if line.strip() and "  " in line)
    assert lines["format"].strip() == fmt
    if fmt == "tf-stylegan":
        assert "psi=0.7" in res.stdout   # the TF default truncation is reported


def test_info_on_rosinality_and_cli_errors(files, tmp_path):
    convert_checkpoint(files["dir"] / "native-ros.pt", tmp_path / "r.pt", to="rosinality")
    res = CliRunner().invoke(main, ["info", str(tmp_path / "r.pt")])
    assert res.exit_code == 0 and "rosinality" in res.stdout and "inferred_config" in res.stdout
    (tmp_path / "junk.pt").write_bytes(np.random.RandomState(0).bytes(300))
    for args in (["info", str(tmp_path / "junk.pt")], ["info", str(tmp_path / "missing.pkl")],
                 ["convert", str(tmp_path / "junk.pt"), str(tmp_path / "o.pt")],
                 ["convert", str(tmp_path / "r.pt"), str(tmp_path / "r.pt")]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2, (args, res.output)
        assert res.stderr.startswith("ganeval: error:") and res.stderr.count("\n") == 1
