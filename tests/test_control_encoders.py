"""GAN-Control encoders E_k: y^k -> w^k (ganeval/control/encoders.py) and controlled generation."""

import pytest
import torch

from ganeval.control.encoders import ControlEncoders, controlled_ws, fit_encoders, parse_set
from ganeval.errors import ConfigError


def test_encoders_fit_and_controlled_ws(tiny_G):
    G = tiny_G("stylegan2-control", width=16).eval()
    torch.manual_seed(0)
    # w^1 = a linear function of y^1 (plus noise): E_1 must recover it.
    y = torch.rand(256, 2)
    w_parts = [y[:, :1] * torch.tensor([[2.0, -1.0, 0.5, 1.0]]) + 0.01 * torch.randn(256, 4),
               torch.randn(256, 4), torch.randn(256, 8)]
    enc = fit_encoders(w_parts, y, ["smiling", "eyeglasses"], steps=300, batch=64, lr=1e-2)
    assert enc.meta["r2"]["smiling"] > 0.9 and enc.meta["r2"]["eyeglasses"] < 0.2
    pred = enc(0, torch.tensor([1.0]))
    assert torch.allclose(pred, torch.tensor([[2.0, -1.0, 0.5, 1.0]]), atol=0.15)
    enc2 = ControlEncoders.from_payload(enc.to_payload())
    assert torch.equal(enc2(0, torch.tensor([0.3])), enc(0, torch.tensor([0.3])))
    # w^k = E_k(y) for the set attribute, the other parts from z.
    z = torch.randn(3, 16)
    ws = controlled_ws(G, enc, z, {1: 1.0})
    parts = G.mapping.parts(z)
    assert torch.allclose(ws[:, 0, 4:8], enc(1, torch.ones(3)))
    assert torch.equal(ws[:, 0, :4], parts[0]) and torch.equal(ws[:, 0, 8:], parts[2])
    assert parse_set("Smiling=1,eyeglasses=0.25", G) == {0: 1.0, 1: 0.25}
    for bad in ("Smilng=1", "Young=1", "Smiling", "Smiling=2", "Smiling=yes"):
        with pytest.raises(ConfigError):
            parse_set(bad, G)
