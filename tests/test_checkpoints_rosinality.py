"""rosinality/stylegan2-pytorch checkpoints: the layout of its model.py, files fabricated here."""

import argparse

import pytest
import torch

import ganeval
from ganeval.checkpoints import detect, load_checkpoint, save_rosinality
from ganeval.checkpoints.rosinality import (
    discriminator_to_rosinality,
    generator_to_rosinality,
    infer_generator_config,
)
from ganeval.errors import CheckpointError


@pytest.fixture(scope="module")
def nets(perturbed):
    # rosinality's channel table has 512 channels up to 32 px: an 8 px model is the cheapest faithful one.
    torch.manual_seed(0)
    cfg = dict(z_dim=32, w_dim=32, mapping_depth=2, channel_base=16384, channel_max=512)
    G = perturbed(ganeval.build_generator("stylegan2", 8, **cfg), 1).eval()
    G_ema = perturbed(ganeval.build_generator("stylegan2", 8, **cfg), 2).eval()
    D = perturbed(ganeval.build_discriminator("stylegan2", 8, channel_base=16384, channel_max=512), 3).eval()
    with torch.no_grad():
        G_ema.mapping.w_avg.normal_()
    return G, G_ema, D


def _images(G, seed=0, psi=1.0):
    z = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return G(z, truncation_psi=psi, noise_mode="const")


def test_exported_file_has_rosinality_layout_and_loads_back_identically(nets, tmp_path):
    G, G_ema, D = nets
    path = tmp_path / "ckpt.pt"
    assert save_rosinality(path, G=G, G_ema=G_ema, D=D) == ["g", "g_ema", "d", "latent_avg"]
    raw = torch.load(path, weights_only=True)
    g = raw["g_ema"]
    assert g["input.input"].shape == (1, 512, 4, 4)
    assert g["conv1.conv.weight"].shape == (1, 512, 512, 3, 3)
    assert g["to_rgb1.bias"].shape == (1, 3, 1, 1) and g["conv1.noise.weight"].shape == (1,)
    assert g["noises.noise_0"].shape == (1, 1, 4, 4) and g["noises.noise_2"].shape == (1, 1, 8, 8)
    assert torch.equal(g["convs.0.conv.modulation.bias"], G_ema.synthesis.b8.conv0.affine.bias.detach())
    assert torch.equal(g["noises.noise_1"][0, 0], G_ema.synthesis.b8.conv0.noise_const)
    assert torch.equal(g["to_rgbs.0.bias"][0, :, 0, 0], G_ema.synthesis.b8.torgb.bias.detach())
    assert torch.equal(raw["latent_avg"], G_ema.mapping.w_avg)
    assert set(raw["d"]) >= {"convs.0.0.weight", "convs.1.conv2.1.weight", "final_linear.1.bias"}

    assert detect(path) == "rosinality"
    ck = load_checkpoint(path)
    for ours, theirs in ((ck.G_ema, G_ema), (ck.G, G)):
        assert torch.equal(_images(ours), _images(theirs))
    assert torch.equal(_images(ck.G_ema, psi=0.5), _images(G_ema, psi=0.5))  # latent_avg became w_avg
    img = torch.randn(4, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(ck.D(img), D(img))
    assert ck.meta["w_avg"].startswith("from latent_avg")
    assert "n_mlp=2" in ck.meta["inferred_config"]


def test_training_checkpoint_with_args_namespace(nets, tmp_path):
    G, G_ema, D = nets
    args = argparse.Namespace(size=8, channel_multiplier=2, n_mlp=2, latent=32, arch="stylegan2", r1=10.0,
                              path="lmdb/ffhq", iter=800000, batch=16)
    data = {"g": generator_to_rosinality(G), "d": discriminator_to_rosinality(D),
            "g_ema": generator_to_rosinality(G_ema), "g_optim": {"state": {}, "param_groups": [{"lr": 0.002}]},
            "d_optim": {"state": {}, "param_groups": []}, "args": args, "ada_aug_p": 0.25}
    path = tmp_path / "000100.pt"
    torch.save(data, path)
    ck = load_checkpoint(path)
    assert ck.format == "rosinality" and ck.meta["network"] == "G_ema"
    assert ck.meta["ada_aug_p"] == 0.25 and "g_optim" in ck.meta["not_converted"]
    assert "size=8" in ck.meta["rosinality_args"]
    # A training checkpoint stores no W average: it is estimated, and meta says so.
    assert ck.meta["w_avg"].startswith("estimated from 10,000 samples")
    assert torch.equal(_images(ck.G_ema), _images(G_ema))
    z = torch.randn(10_000, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = G_ema.mapping(z, update_w_avg=False)[:, 0].double().mean(0).float()
    torch.testing.assert_close(ck.G_ema.w_avg, expected, rtol=0, atol=1e-5)


def test_converted_file_bare_and_legacy_serialization(nets, tmp_path):
    _, G_ema, _ = nets
    sd = generator_to_rosinality(G_ema)
    bare = tmp_path / "bare.pt"
    torch.save(sd, bare)  # a bare g_ema state dict
    assert load_checkpoint(bare).meta["w_avg"].startswith("estimated")
    old = tmp_path / "old.pt"  # torch < 1.6 wrote the legacy (non-zip) format; released files often are
    torch.save({"g_ema": sd, "latent_avg": G_ema.mapping.w_avg.clone()}, old, _use_new_zipfile_serialization=False)
    ck = load_checkpoint(old)
    assert ck.G is None and ck.D is None
    assert torch.equal(_images(ck.G_ema, psi=0.7), _images(G_ema, psi=0.7))


def test_missing_noise_buffers_and_unexpected_keys(nets, tmp_path):
    _, G_ema, _ = nets
    sd = {k: v for k, v in generator_to_rosinality(G_ema).items() if not k.startswith("noises.")}
    torch.save({"g_ema": sd, "latent_avg": G_ema.mapping.w_avg}, tmp_path / "nonoise.pt")
    assert "no noise buffers" in load_checkpoint(tmp_path / "nonoise.pt").meta["noise_const"]
    sd = generator_to_rosinality(G_ema)
    sd["extra.weight"] = torch.zeros(3)
    torch.save({"g_ema": sd}, tmp_path / "extra.pt")
    with pytest.raises(CheckpointError, match="unexpected tensor extra.weight"):
        load_checkpoint(tmp_path / "extra.pt")


@pytest.mark.parametrize("size", [256, 512, 1024])
@pytest.mark.parametrize("cm", [1, 2])
@pytest.mark.parametrize("n_mlp", [2, 8])
def test_config_inference_from_shapes(size, cm, n_mlp, ckpt_fakes):
    sd = ckpt_fakes.rosinality_generator_shapes(size, 512, n_mlp, cm)  # meta tensors: shapes only, no memory
    cfg = infer_generator_config(sd)
    assert (cfg["size"], cfg["channel_multiplier"], cfg["n_mlp"], cfg["style_dim"]) == (size, cm, n_mlp, 512)
    # ...and the inferred ganeval model has exactly those tensors (built on the meta device).
    from ganeval.checkpoints.rosinality import ganeval_config, generator_to_ganeval

    with torch.device("meta"):
        G = ganeval.build_generator("stylegan2", size, **ganeval_config(cfg))
    mapped, _ = generator_to_ganeval(sd, cfg)
    own = G.state_dict()
    assert {k: tuple(v.shape) for k, v in mapped.items()} == {k: tuple(own[k].shape) for k in mapped}
    assert set(own) - set(mapped) == {k for k in own if k.endswith("resample_filter") or k == "mapping.w_avg"}


def test_swagan_and_odd_channel_tables_are_refused(tmp_path, ckpt_fakes):
    sd = ckpt_fakes.rosinality_generator_shapes(256, 512, 8, 2)
    sd["to_rgbs.0.iwt.ll"] = torch.empty(1, 1, 2, 2, device="meta")
    with pytest.raises(CheckpointError, match="SWAGAN"):
        infer_generator_config(sd)
    with pytest.raises(CheckpointError, match="SWAGAN"):
        infer_generator_config(ckpt_fakes.rosinality_generator_shapes(256, 512, 8, 2), {"arch": "swagan"})
    with pytest.raises(CheckpointError, match="channel_multiplier=4"):
        infer_generator_config(ckpt_fakes.rosinality_generator_shapes(256, 512, 8, 4))
    torch.save({"g_ema": {"input.input": torch.zeros(1, 512, 4, 4), "conv1.conv.weight": torch.zeros(1)},
                "args": argparse.Namespace(arch="swagan")}, tmp_path / "swagan.pt")
    with pytest.raises(CheckpointError, match="SWAGAN"):
        load_checkpoint(tmp_path / "swagan.pt")
