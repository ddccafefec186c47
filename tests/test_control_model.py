"""The GAN-Control generator (ganeval/control/model.py): Z and W split per attribute, checkpoint round trip."""

import pytest
import torch

from ganeval import build_generator, load_checkpoint
from ganeval.checkpoints import save_checkpoint
from ganeval.control.model import split_like
from ganeval.errors import ConfigError


def test_split_mapping_and_roundtrip(tmp_path, tiny_G):
    G = tiny_G("stylegan2-control", width=16).eval()
    assert (G.arch, G.z_dim, G.w_dim, G.num_controls) == ("stylegan2-control", 16, 16, 2)
    assert G.mapping.z_dims == [4, 4, 8] and G.mapping.w_dims == [4, 4, 8]
    z = torch.randn(3, 16)
    parts = G.mapping.parts(z)
    z2 = z.clone()
    z2[:, 4:8] = torch.randn(3, 4)    # a new z^2 moves w^2 only
    parts2 = G.mapping.parts(z2)
    assert torch.equal(parts[0], parts2[0]) and torch.equal(parts[2], parts2[2]) and not torch.equal(parts[1],
                                                                                                     parts2[1])
    ws = G.mapping(z)
    assert ws.shape == (3, G.num_ws, 16) and torch.equal(ws[:, 0], torch.cat(parts, 1))
    # Native checkpoint round trip (arch + config), identical images.
    save_checkpoint(tmp_path / "g.pt", G=G, G_ema=G)
    raw = torch.load(tmp_path / "g.pt", weights_only=True)
    assert raw["arch"] == "stylegan2-control" and raw["G_config"]["control_dims"] == [4, 4, 8]
    G2 = load_checkpoint(tmp_path / "g.pt").G_ema
    assert torch.equal(G(z, noise_mode="const"), G2(z, noise_mode="const"))
    # Default splits and bad layouts.
    G3 = build_generator("stylegan2-control", 16, control_attrs=["male"], z_dim=10, w_dim=20, mapping_depth=1,
                         channel_base=64, channel_max=8)
    assert G3.mapping.z_dims == [5, 5] and G3.mapping.w_dims == [10, 10]
    assert split_like(7, [1, 1, 2]) == [2, 2, 3] and split_like(64, [16, 16, 32]) == [16, 16, 32]
    with pytest.raises(ConfigError):
        build_generator("stylegan2-control", 16, control_attrs=["male"], control_dims=[4, 4], z_dim=9)
    with pytest.raises(ConfigError):
        build_generator("stylegan2-control", 16, control_attrs=["male", "young"], control_dims=[4, 4])
