"""Native checkpoint round trips, error handling and the info/generate CLI."""

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import ganeval
from ganeval.cli import main
from ganeval.errors import CheckpointError


@pytest.fixture
def nets(tiny_G, tiny_D):
    """Factory: nets(arch="stylegan2") -> (G, D) of width 16 at 16 px, D built right after G."""
    def make(arch="stylegan2"):
        G = tiny_G(arch, width=16)
        return G, tiny_D(arch, seed=None, width=16)
    return make


@pytest.fixture
def ckpt(tmp_path, nets):
    G, D = nets()
    G_ema = G.copy()
    with torch.no_grad():
        for p in G_ema.parameters():
            p.add_(0.01 * torch.randn_like(p))
        G_ema.mapping.w_avg.normal_()
    path = tmp_path / "net.pt"
    ganeval.save_checkpoint(path, G=G, G_ema=G_ema, D=D, meta={"kimg": 12})
    return path, G, G_ema, D


@pytest.mark.parametrize("arch", ["pggan", "stylegan", "stylegan2"])
def test_round_trip_identical_outputs(tmp_path, arch, nets):
    G, D = nets(arch)
    G.redraw_noise_(torch.Generator().manual_seed(3))
    path = tmp_path / "x.pt"
    ganeval.save_checkpoint(path, G=G, D=D)
    c = ganeval.load_checkpoint(path)
    assert c.format == "ganeval" and c.arch == arch and c.G_ema is None
    z = torch.randn(4, 16)
    with torch.no_grad():
        torch.testing.assert_close(c.G(z, noise_mode="const"), G.eval()(z, noise_mode="const"), rtol=0, atol=0)
        torch.testing.assert_close(c.D(torch.ones(4, 3, 16, 16)), D.eval()(torch.ones(4, 3, 16, 16)), rtol=0, atol=0)
    # The file needs no code: plain torch.load with weights_only=True reads it.
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "ganeval" and raw["arch"] == arch


def test_load_generator_prefers_ema(ckpt):
    path, G, G_ema, _ = ckpt
    loaded = ganeval.load_generator(path)
    assert not loaded.training
    torch.testing.assert_close(loaded.w_avg, G_ema.w_avg)
    assert ganeval.load_checkpoint(path).meta["kimg"] == 12
    assert ganeval.detect(path) == "ganeval"


def test_half_storage_restores_fp32(tmp_path, nets):
    G, _ = nets()
    ganeval.save_checkpoint(tmp_path / "h.pt", G_ema=G, half=True)
    H = ganeval.load_generator(tmp_path / "h.pt")
    assert all(p.dtype == torch.float32 for p in H.parameters())
    z = torch.randn(2, 16)
    with torch.no_grad():
        assert (H(z, noise_mode="const") - G.eval()(z, noise_mode="const")).abs().max() < 2e-2


def test_truncated_and_foreign_files_fail_with_one_clear_error(ckpt, tmp_path):
    path = ckpt[0]
    data = path.read_bytes()
    for n in (0, 10, len(data) // 2, len(data) - 10):
        bad = tmp_path / f"cut{n}.pt"
        bad.write_bytes(data[:n])
        with pytest.raises(CheckpointError) as e:
            ganeval.load_checkpoint(bad)
        assert "\n" not in str(e.value) and str(bad) in str(e.value)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="unknown checkpoint format"):
        ganeval.load_checkpoint(text)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        ganeval.load_checkpoint(tmp_path / "missing.pt")
    # A plain torch file that is not a checkpoint.
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="unknown checkpoint format"):
        ganeval.load_checkpoint(tmp_path / "other.pt")


def test_save_is_atomic(tmp_path, monkeypatch, nets):
    G, _ = nets()
    path = tmp_path / "a.pt"

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        ganeval.save_checkpoint(path, G=G)
    assert list(tmp_path.iterdir()) == []


def test_cli_errors_are_one_line_exit_2(tmp_path, ckpt):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(ckpt[0].read_bytes()[:500])
    runner = CliRunner()
    for args in (["info", str(bad)], ["info", str(tmp_path / "nope.pt")],
                 ["generate", str(bad), "--out", str(tmp_path / "x.png")],
                 ["generate", str(ckpt[0]), "--seeds", "a-b", "--out", str(tmp_path / "x.png")]):
        r = runner.invoke(main, args)
        assert r.exit_code == 2, (args, r.output)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("ganeval: error:"), r.stderr
        assert "Traceback" not in r.output
    assert not (tmp_path / "x.png").exists()


def test_cli_info_and_generate(ckpt, tmp_path):
    path = ckpt[0]
    runner = CliRunner()
    r = runner.invoke(main, ["info", str(path)])
    assert r.exit_code == 0, r.output
    assert "stylegan2" in r.output and "format" in r.output and "mapping depth" in r.output
    out = tmp_path / "grid.png"
    r = runner.invoke(main, ["generate", str(path), "--seeds", "0-5", "--psi", "0.7", "--nrow", "3",
                             "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert Image.open(out).size == (3 * 16, 2 * 16)
    out2 = tmp_path / "mix.png"
    r = runner.invoke(main, ["generate", str(path), "--seeds", "0-1", "--mix", "5-7", "--crossover", "2",
                             "--out", str(out2)])
    assert r.exit_code == 0, r.output
    assert Image.open(out2).size == (4 * 16, 3 * 16)  # header row/column + 2x3 mixes
    r = runner.invoke(main, ["--version"])
    assert ganeval.__version__ in r.output


def test_generate_is_seed_deterministic(ckpt):
    from ganeval.models.generate import generate_images

    G = ganeval.load_generator(ckpt[0])
    a = generate_images(G, [3, 4, 5], batch_size=2)
    b = generate_images(G, [5, 4, 3], batch_size=3)
    assert torch.equal(a, b.flip(0))
