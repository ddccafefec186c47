"""The training loop end to end on tiny models: three architectures, run directories, exact resume, CLI."""

import json
import math

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from ganeval import load_checkpoint
from ganeval.errors import ConfigError
from ganeval.train import find_latest_checkpoint, resolve_options, train
from ganeval.train.data import XFlipDataset

# The runs of this module (tiny_options: conftest.py): 4 images a step, progressive growing from 4 px.
SCHEDULE = dict(batch=4, tick_kimg=0.02, lod_initial_resolution=4, lod_kimg=0.016, fade_kimg=0.016, ema_kimg=0.01)


def read_stats(run_dir):
    return [json.loads(line) for line in open(run_dir / "stats.jsonl")]


@pytest.mark.parametrize("arch", ["stylegan2", "stylegan", "pggan"])
def test_tiny_models_train(tmp_path, arch, tiny_options):
    extra = dict(r1_interval=4, pl_interval=2, xflip=True) if arch == "stylegan2" else {}
    # 24 steps of 4 images
    opts = tiny_options(tmp_path, arch, schedule=SCHEDULE, kimg=0.096, snap=0.032, keep=2, **extra)
    run_dir = train(opts)
    assert run_dir.parent == tmp_path and run_dir.name == f"00000-tiny-{arch}-16"
    names = sorted(p.name for p in run_dir.iterdir())
    assert {"training_options.json", "stats.jsonl", "reals.png", "fakes_init.png", "fakes000000.004.png",
            "fakes000000.032.png", "fakes000000.096.png"} <= set(names)
    snaps = [n for n in names if n.startswith("network-snapshot-")]
    assert snaps == ["network-snapshot-000000.064.pt", "network-snapshot-000000.096.pt"]  # keep=2 of 3

    stats = read_stats(run_dir)
    assert [r["kimg"] for r in stats] == pytest.approx([0.004, 0.024, 0.044, 0.064, 0.084, 0.096])
    for r in stats:
        assert r["sec_per_kimg"] > 0 and r["cpu_mem_gb"] > 0
        losses = {k: v for k, v in r.items() if k.startswith("Loss/")}
        assert {"Loss/G/loss", "Loss/D/loss"} <= set(losses) and all(math.isfinite(v) for v in losses.values())
    if arch == "stylegan2":
        assert "Loss/pl_penalty" in stats[0] and "Loss/r1_penalty" in stats[0]
    if arch == "pggan":
        assert "Loss/gp" in stats[0] and "Loss/drift" in stats[0]
    if arch != "stylegan2":
        assert stats[0]["lod"] > 0 and stats[-1]["lod"] == 0

    ckpt = load_checkpoint(run_dir / "network-snapshot-000000.096.pt")
    assert ckpt.arch == arch and ckpt.meta["kimg"] == pytest.approx(0.096)
    state = ckpt.training_state
    assert state["cur_nimg"] == 96 and state["batch_idx"] == 24 and state["options"]["arch"] == arch
    G_sd, ema_sd = ckpt.G.state_dict(), ckpt.G_ema.state_dict()
    assert any(not torch.equal(G_sd[k], ema_sd[k]) for k in G_sd if k.endswith("weight"))
    assert torch.equal(G_sd["mapping.w_avg"], ema_sd["mapping.w_avg"])   # buffers follow G
    assert G_sd["mapping.w_avg"].abs().sum() > 0                          # w_avg is tracked
    with torch.no_grad():
        img = ckpt.G_ema(torch.randn(2, ckpt.G_ema.z_dim))
    assert img.shape == (2, 3, 16, 16) and torch.isfinite(img).all()
    opts_json = json.loads((run_dir / "training_options.json").read_text())
    assert opts_json["arch"] == arch and opts_json["resolution"] == 16


def test_xflip_doubles_an_in_memory_dataset(tiny_dataset):
    ds = tiny_dataset(n=3)
    flipped = XFlipDataset(ds)
    assert len(flipped) == 6 and flipped.name == "tiny" and flipped.resolution == 16
    assert torch.equal(flipped[1][0], ds[1][0]) and torch.equal(flipped[4][0], ds[1][0].flip(-1))


def _assert_same_state(a, b):
    for net in ("G", "G_ema", "D"):
        sa, sb = getattr(a, net).state_dict(), getattr(b, net).state_dict()
        assert sa.keys() == sb.keys()
        for k in sa:
            assert torch.equal(sa[k], sb[k]), f"{net}.{k} differs"
    ta, tb = a.training_state, b.training_state
    for key in ("cur_nimg", "batch_idx", "prev_lod"):
        assert ta[key] == tb[key]
    assert torch.equal(ta["loss"]["pl_mean"], tb["loss"]["pl_mean"])
    for opt in ("G_opt", "D_opt"):
        sa, sb = ta[opt]["state"], tb[opt]["state"]
        assert sa.keys() == sb.keys()
        for i in sa:
            for k in sa[i]:
                assert torch.equal(sa[i][k], sb[i][k]), f"{opt} state {i}.{k} differs"


@pytest.mark.parametrize("arch", ["stylegan2", "pggan"])
def test_resume_continues_exactly(tmp_path, arch, tiny_options, tiny_dataset):
    # stylegan2: lazy R1 / path length intervals that straddle the resume point;
    # pggan: the resume point (step 5 = 20 images) lies inside the 8 -> 16 fade-in (12..28 images).
    extra = dict(r1_interval=3, pl_interval=2, ema_rampup=0.5) if arch == "stylegan2" else \
        dict(lod_initial_resolution=8, lod_kimg=0.012, fade_kimg=0.016)
    straight = train(tiny_options(tmp_path / "a", arch, schedule=SCHEDULE, kimg=0.040, snap=0, **extra))
    first = train(tiny_options(tmp_path / "b", arch, schedule=SCHEDULE, kimg=0.020, snap=0, **extra))
    # Everything but the data and the new length comes from the checkpoint.
    resumed_opts = resolve_options(resume="latest", out=str(tmp_path / "b"), data=tiny_dataset(), kimg=0.040,
                                   workers=0, quiet=True)
    assert resumed_opts.resume == str(first / "network-snapshot-000000.020.pt")
    assert resumed_opts.arch == arch
    assert resumed_opts.G_kwargs == tiny_options(tmp_path, arch, schedule=SCHEDULE).G_kwargs
    second = train(resumed_opts)
    assert second.name.startswith("00001-")
    assert find_latest_checkpoint(tmp_path / "b") == second / "network-snapshot-000000.040.pt"
    _assert_same_state(load_checkpoint(straight / "network-snapshot-000000.040.pt"),
                       load_checkpoint(second / "network-snapshot-000000.040.pt"))


def test_metrics_hook_runs_the_api_at_each_snapshot(tmp_path, monkeypatch, tiny_options):
    calls = []

    def evaluate(G_or_path, presets, **kwargs):
        calls.append((str(G_or_path), list(presets)))
        assert kwargs["num_samples"] == 100 and kwargs["reference"].name == "tiny"
        return pd.DataFrame([{"metric": presets[0], "value": 1.5, "checkpoint": str(G_or_path)}])

    monkeypatch.setattr("ganeval.train.loop.evaluate", evaluate)
    run_dir = train(tiny_options(tmp_path, "stylegan2", schedule=SCHEDULE, kimg=0.016, snap=0.008,
                                 metrics=["ppl2_wend"], metrics_samples=100))
    assert [c[1] for c in calls] == [["ppl2_wend"]] * 3     # after the first step, at 0.008 and 0.016 kimg
    assert calls[-1][0].endswith("network-snapshot-000000.016.pt")
    rows = [json.loads(line) for line in open(run_dir / "metrics.jsonl")]
    assert [(r["metric"], r["value"], r["kimg"]) for r in rows] == [("ppl2_wend", 1.5, k)
                                                                     for k in (0.004, 0.008, 0.016)]

    # A misspelt preset fails when the options resolve, before any training.
    with pytest.raises(ConfigError, match="fake10"):
        tiny_options(tmp_path, "stylegan2", schedule=SCHEDULE, kimg=0.008, metrics=["fake10"])


# ----------------------------------------------------------------------------------------------------
# CLI.

def _cli(args):
    from ganeval.cli import main

    return CliRunner().invoke(main, ["train", *args])


def test_cli_dry_run_prints_the_paper_defaults(tmp_path):
    r = _cli(["--arch", "stylegan2", "--data", str(tmp_path), "--resolution", "64", "--dry-run"])
    assert r.exit_code == 0, r.output
    o = json.loads(r.stdout)
    assert (o["lr"], o["r1_gamma"], o["r1_interval"], o["pl_weight"], o["style_mixing"], o["batch"]) == \
        (0.002, 10.0, 16, 2.0, 0.9, 32)
    r = _cli(["--arch", "pggan", "--data", "synthfaces:100", "--dry-run", "--batch", "8", "--z-dim", "64"])
    o = json.loads(r.stdout)
    assert (o["loss"], o["lr"], o["style_mixing"], o["batch"], o["batch_dict"]) == ("wgangp", 0.001, 0.0, 8, {})
    assert o["G_kwargs"] == {"z_dim": 64}
    r = _cli(["--arch", "stylegan", "--data", "synthfaces:100", "--mapping-depth", "2", "--channel-base", "1024",
              "--dry-run"])
    o = json.loads(r.stdout)
    assert o["lr_dict"] == {"128": 0.0015, "256": 0.002, "512": 0.003, "1024": 0.003}
    assert o["G_kwargs"] == {"mapping_depth": 2, "channel_base": 1024} and o["D_kwargs"] == {"channel_base": 1024}


@pytest.mark.parametrize("args, message", [
    (["--arch", "biggan", "--data", "synthfaces:10"], "unknown architecture 'biggan'"),
    (["--arch", "stylegan", "--data", "synthfaces:10", "--resolution", "48"], "power of two"),
    (["--arch", "stylegan2", "--data", "/no/such/dir"], "no such dataset"),
    (["--arch", "stylegan2"], "--data is required"),
    (["--data", "synthfaces:10", "--loss", "hinge"], "--loss must be one of"),
    (["--data", "synthfaces:10", "--arch", "pggan", "--style-mixing", "0.5"], "style mixing"),
    (["--data", "synthfaces:10", "--arch", "pggan", "--mapping-depth", "4"], "no mapping network"),
    (["--data", "synthfaces:10", "--resume", "/no/such.pt"], "no such checkpoint"),
    (["--data", "synthfaces:10", "--batch-dict", "4-128"], "cannot parse batch_dict"),
    (["--data", "synthfaces:10", "--device", "tpu7"], "unknown device"),
])
def test_cli_bad_options_fail_in_one_line(args, message):
    r = _cli([*args, "--dry-run"])
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganeval: error:") and message in lines[0], r.stderr
    assert "Traceback" not in r.output


def test_cli_trains_from_an_image_folder(tmp_path, tiny_dataset):
    data = pytest.importorskip("ganeval.data")
    if not hasattr(data, "open_dataset"):
        pytest.skip("ganeval.data.open_dataset is not available yet")
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, img in enumerate(tiny_dataset(n=8).images):
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(folder / f"{i:03d}.png")
    r = _cli(["--arch", "stylegan2", "--data", str(folder), "--kimg", "0.008", "--batch", "4", "--z-dim", "16",
              "--w-dim", "16", "--mapping-depth", "1", "--channel-base", "128", "--channel-max", "16",
              "--workers", "0", "--out", str(tmp_path / "runs"), "--quiet"])
    assert r.exit_code == 0, r.output
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name == "00000-imgs-stylegan2-16"
    assert (run_dir / "network-snapshot-000000.008.pt").is_file()


@pytest.mark.slow
def test_synthfaces_fd_falls_over_training(tmp_path):
    """StyleGAN2 on synthfaces 32x32 for 6 kimg on the CPU (about 10 minutes): the synth-FD of G_ema at the
    last snapshot is well below the one after the first step (metrics hook = `ganeval evaluate`)."""
    from ganeval.errors import WeightsNotFoundError

    try:
        from ganeval.features.synth import synth_fd

        synth_fd()
    except (ImportError, WeightsNotFoundError) as e:
        pytest.skip(f"synth-fd is not available: {e}")
    opts = resolve_options(arch="stylegan2", data="synthfaces:5000?res=32", resolution=32, z_dim=64, w_dim=64,
                           mapping_depth=2, channel_base=4096, channel_max=64, batch=16, kimg=6, snap=2, keep=0,
                           r1_gamma=0.1, ema_kimg=2, ema_rampup=0.05, workers=1, metrics=["fd_synth"],
                           metrics_samples=1000, out=str(tmp_path), quiet=True)
    run_dir = train(opts)
    rows = [json.loads(line) for line in open(run_dir / "metrics.jsonl")]
    fd = {r["kimg"]: r["value"] for r in rows}
    assert list(fd) == [0.016, 2.0, 4.0, 6.0]
    assert fd[6.0] < 0.5 * fd[0.016], fd


def test_a_full_disk_stops_training_in_one_line_and_leaves_no_empty_run(tmp_path, monkeypatch, tiny_options):
    def no_space(path, **kw):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr("ganeval.train.loop.save_checkpoint", no_space)
    with pytest.raises(ConfigError) as e:
        train(tiny_options(tmp_path, "stylegan2", schedule=SCHEDULE, kimg=0.008, snap=0.004))
    assert "No space left on device" in str(e.value) and "\n" not in str(e.value)
    assert not [p for p in tmp_path.iterdir() if p.name[:5].isdigit()]   # no run folder without a snapshot
