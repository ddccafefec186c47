"""Progressive growing: the schedule, fade-in of G and D (both ends), and reals blended alike."""

import json
import math

import pytest
import torch
import torch.nn.functional as F

from ganeval import build_discriminator, build_generator
from ganeval.images import box_downsample
from ganeval.train import GrowthSchedule, InMemoryDataset, fade_reals, resolve_options, train
from ganeval.train.loop import level_changed

TINY = dict(channel_base=64, channel_max=16)



def up(x):
    return F.interpolate(x, scale_factor=2, mode="nearest")


# ----------------------------------------------------------------------------------------------------
# Schedule.

def test_schedule_stabilise_then_fade_in_per_level():
    s = GrowthSchedule(32, True, batch=16, lr=0.001, initial_resolution=4, lod_kimg=10, fade_kimg=20,
                       batch_dict={4: 64, 32: 8}, lr_dict={32: 0.002})
    assert s.levels() == [4, 8, 16, 32]
    st = s(0)
    assert (st.lod, st.resolution, st.alpha, st.batch, st.lr) == (3.0, 4, 1.0, 64, 0.001)
    assert s(9_999).lod == 3.0                      # stable 4x4
    st = s(15_000)                                  # a quarter into the 8x8 fade-in
    assert st.lod == pytest.approx(2.75) and st.resolution == 8 and st.alpha == pytest.approx(0.25)
    assert st.batch == 16
    assert s(30_000).lod == 2.0 and s(30_000).alpha == 1.0       # 8x8 stable
    assert s(50_000).lod == pytest.approx(1.5) and s(50_000).resolution == 16
    st = s(10 ** 6)
    assert (st.lod, st.resolution, st.batch, st.lr) == (0.0, 32, 8, 0.002)
    # lod is float32-exact, as in the networks' buffers.
    assert s(12_345).lod == float(torch.tensor(s(12_345).lod, dtype=torch.float32))
    # Not progressive: one stable level.
    s2 = GrowthSchedule(32, False, batch=16, lr=0.002)
    assert s2(123_456).lod == 0.0 and s2(0).resolution == 32


def test_schedule_batch_split_over_processes():
    s = GrowthSchedule(16, False, batch=32, lr=0.002, batch_gpu=4, world_size=2)
    st = s(0)
    assert (st.batch, st.batch_gpu, st.rounds) == (32, 4, 4)
    with pytest.raises(ValueError):
        GrowthSchedule(16, False, batch=6, lr=0.002, world_size=4)(0)
    with pytest.raises(ValueError):
        GrowthSchedule(16, False, batch=12, lr=0.002, batch_gpu=5)(0)


def test_optimizer_reset_when_a_level_is_added():
    assert level_changed(-1.0, 3.0)
    assert not level_changed(3.0, 3.0)
    assert level_changed(3.0, 2.9)      # the next level starts fading in
    assert not level_changed(2.9, 2.5)  # fade-in continues
    assert level_changed(2.1, 2.0)      # the level becomes stable: the previous one is gone


# ----------------------------------------------------------------------------------------------------
# Fade-in of the networks.

@pytest.mark.parametrize("arch", ["pggan", "stylegan"])
def test_generator_fade_in_endpoints(arch):
    torch.manual_seed(0)
    kw = dict(z_dim=8, mapping_depth=0) if arch == "pggan" else dict(z_dim=8, w_dim=8, mapping_depth=1)
    G = build_generator(arch, 16, **kw, **TINY).eval()
    ws = G.mapping(torch.randn(3, 8))

    def out(lod):
        return G.synthesis(ws, noise_mode="const", lod=lod, native_resolution=True)

    with torch.no_grad():
        lower, upper = out(1.0), out(0.0)          # 8x8 stable, 16x16 stable
        assert lower.shape[-1] == 8 and upper.shape[-1] == 16
        # alpha = 0: the upsampled lower-resolution output; alpha = 1: the new block's.
        assert torch.allclose(out(1.0 - 2 ** -20), up(lower), atol=1e-5)
        for f in (0.25, 0.5, 0.75):
            assert torch.allclose(out(f), torch.lerp(up(lower), upper, 1 - f), atol=1e-5)
        # At alpha = 1 the lower level's toRGB no longer matters.
        G.synthesis.torgb8.weight.add_(1.0)
        assert torch.equal(out(0.0), upper)
        assert not torch.allclose(out(0.5), torch.lerp(up(lower), upper, 0.5))


@pytest.mark.parametrize("arch", ["pggan", "stylegan"])
def test_discriminator_fade_in_endpoints(arch):
    torch.manual_seed(0)
    D = build_discriminator(arch, 16, **TINY).eval()
    img = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        # alpha = 0: D of the fading level is D of the lower level on the box-downsampled image.
        assert torch.allclose(D(img, lod=1.0 - 2 ** -20), D(box_downsample(img, 8), lod=1.0), atol=1e-5)
        new = D(img, lod=0.0)
        half = D(img, lod=0.5)
        # alpha = 1: only the new block's fromRGB path counts.
        D.fromrgb8.weight.add_(1.0)
        assert torch.equal(D(img, lod=0.0), new)
        assert not torch.allclose(D(img, lod=0.5), half)


def test_reals_are_blended_like_the_generator_output():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    lo, hi = box_downsample(x, 8), box_downsample(x, 16)
    assert torch.equal(fade_reals(x, 0.0), x)
    assert torch.allclose(fade_reals(x, 1.0), hi)
    assert torch.allclose(fade_reals(x, 2.0), lo)
    # lod = 1 + f: the 16x16 level fades in with alpha = 1 - f, exactly G's lerp(up(prev), img, alpha).
    for f in (0.25, 0.5, 0.9):
        assert torch.allclose(fade_reals(x, 1 + f), torch.lerp(up(lo), hi, 1 - f), atol=1e-6)
    assert torch.allclose(fade_reals(x, 1 + 2 ** -20), hi, atol=1e-5)


# ----------------------------------------------------------------------------------------------------
# Growing through a short run.

def test_training_grows_through_the_levels(tmp_path):
    g = torch.Generator().manual_seed(0)
    ds = InMemoryDataset((torch.rand([32, 3, 16, 16], generator=g) * 255).to(torch.uint8), name="tiny")
    opts = resolve_options(arch="stylegan", data=ds, z_dim=8, w_dim=8, mapping_depth=1, **TINY, batch=4,
                           kimg=0.064, lod_initial_resolution=4, lod_kimg=0.012, fade_kimg=0.012, tick_kimg=0.004,
                           snap=0, out=str(tmp_path), workers=0, quiet=True)
    run_dir = train(opts)
    stats = [json.loads(line) for line in open(run_dir / "stats.jsonl")]
    lods = [r["lod"] for r in stats]
    assert lods == sorted(lods, reverse=True) and lods[0] == 2.0 and lods[-1] == 0.0
    assert {r["resolution"] for r in stats} == {4, 8, 16}
    assert any(0 < r["alpha"] < 1 for r in stats)
    assert all(math.isfinite(r["Loss/D/loss"]) and math.isfinite(r["Loss/G/loss"]) for r in stats)
