"""The StyleGAN2 projector: recovery of generated images, schedule, noise regulariser, bad targets."""

import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import ganeval
from ganeval.cli import main
from ganeval.errors import DataError
from ganeval.images import to_uint8
from ganeval.projection import learning_rate, load_target_image, noise_regularization, project


def test_learning_rate_schedule():
    lrs = [learning_rate(s, 1000, 0.1) for s in range(1000)]
    assert lrs[0] == 0.0                                   # ramp-up from 0
    assert lrs[50] == pytest.approx(0.1)                   # full rate after 5%
    assert lrs[500] == pytest.approx(0.1)
    assert lrs[875] == pytest.approx(0.1 * (0.5 - 0.5 * math.cos(0.5 * math.pi)))  # cosine ramp-down, last 25%
    assert lrs[999] < 1e-4


def test_noise_regularization_zero_for_uncorrelated_and_large_for_smooth():
    g = torch.Generator().manual_seed(0)
    white = torch.randn(64, 64, generator=g)
    smooth = torch.nn.functional.avg_pool2d(white[None, None], 5, stride=1, padding=2)[0, 0]
    smooth = (smooth - smooth.mean()) / smooth.std()
    assert noise_regularization([white]) < 1e-3
    assert noise_regularization([smooth]) > 100 * noise_regularization([white])


def test_projection_recovers_generated_images(tiny_G):
    G = tiny_G().eval()
    # A random net overshoots [-1, 1]; scale its output like a trained one's so targets are not clipped.
    with torch.no_grad():
        for n, p in G.named_parameters():
            if "torgb.weight" in n:
                p.mul_(0.3)
    z = torch.randn(2, 32, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        ws = G.mapping(z)
        targets = to_uint8(G.synthesis(ws, noise_mode="const"))
    start = project(G, targets, steps=1, distance="mse", w_avg_samples=2000, optimize_noise=False, progress=False)
    # The paper's schedule (lr 0.1, w noise 0.05 sigma_w) and pixel MSE as the distance.
    r = project(G, targets, steps=400, distance="mse", w_avg_samples=2000, optimize_noise=False, progress=False)
    assert r.ws.shape == (2, G.num_ws, 32) and r.images.shape == targets.shape
    # Measured on this model: PSNR 35.6 and 60.5 dB after 400 steps (15.2 and 19.7 dB at w_avg);
    # |w - w_true| from 4.77 / 3.08 down to 1.46 / 0.02.
    assert (r.table.psnr > 30).all(), r.table
    assert (r.table.psnr > start.table.psnr + 10).all()
    err = (r.ws[:, 0] - ws[:, 0]).norm(dim=1)
    err0 = (start.ws[:, 0] - ws[:, 0]).norm(dim=1)
    assert (err < 0.5 * err0).all(), (err, err0)
    assert set(r.table.columns) >= {"image", "distance", "psnr", "steps", "time_s", "space"}


def test_projection_w_plus_and_noise_maps_renormalised(tiny_G):
    G = tiny_G().eval()
    with torch.no_grad():
        for n, p in G.named_parameters():
            if n.endswith("noise_strength"):
                p.fill_(0.3)
        targets = to_uint8(G(torch.randn(1, 32), noise_mode="const"))
    r = project(G, targets, steps=20, space="w+", distance="mse", w_avg_samples=500, progress=False)
    assert r.ws.shape == (1, G.num_ws, 32)
    assert not torch.allclose(r.ws[0, 0], r.ws[0, -1])  # one w per layer
    for buf in r.noise[0].values():
        assert abs(buf.mean().item()) < 1e-5 and buf.square().mean().item() == pytest.approx(1, abs=1e-4)
    assert len(r.snapshots[0]) >= 2


def _write(path, arr):
    Image.fromarray(arr).save(path)


def test_target_loading_and_bad_targets(tmp_path):
    rgb = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    _write(tmp_path / "a.png", rgb)
    img, how = load_target_image(tmp_path / "a.png", 16)
    assert img.shape == (3, 16, 16) and img.dtype == torch.uint8 and how == "box"
    # Box filter: each output pixel is the mean of a 2x2 block.
    assert abs(int(img[0, 0, 0]) - rgb[:2, :2, 0].mean()) <= 1
    _write(tmp_path / "b.png", rgb[:24, :24])
    assert load_target_image(tmp_path / "b.png", 16)[1] == "lanczos"
    _write(tmp_path / "gray.png", rgb[..., 0])
    with pytest.raises(DataError, match="1 channel"):
        load_target_image(tmp_path / "gray.png", 16)
    Image.fromarray(np.dstack([rgb, rgb[..., :1]])).save(tmp_path / "rgba.png")
    with pytest.raises(DataError, match="4 channel"):
        load_target_image(tmp_path / "rgba.png", 16)
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="cannot read image"):
        load_target_image(tmp_path / "junk.png", 16)


def test_cli_project(tmp_path, tiny_G):
    G = tiny_G().eval()
    ganeval.save_checkpoint(tmp_path / "g.pt", G_ema=G)
    tdir = tmp_path / "targets"
    tdir.mkdir()
    for i in range(2):
        _write(tdir / f"t{i}.png", to_uint8(G(torch.randn(1, 32), noise_mode="const"))[0].permute(1, 2, 0).numpy())
    out = tmp_path / "proj"
    r = CliRunner().invoke(main, ["project", str(tmp_path / "g.pt"), "--target", str(tdir), "--steps", "5",
                                  "--distance", "mse", "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    data = np.load(out / "projected_w.npz")
    assert data["ws"].shape == (2, G.num_ws, 32) and list(data["names"]) == ["t0", "t1"]
    assert Image.open(out / "t0.png").size == (32, 16)
    assert (out / "t1-progress.png").exists() and (out / "results.csv").exists()
    (tdir / "bad.png").write_bytes(b"xx")
    r = CliRunner().invoke(main, ["project", str(tmp_path / "g.pt"), "--target", str(tdir / "bad.png"),
                                  "--distance", "mse", "--out", str(tmp_path / "p2")])
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output
