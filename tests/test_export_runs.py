"""tools/export_runs.py: which snapshot of each GPU run comes back, and in what form."""

from __future__ import annotations

import importlib.util
import os
import tarfile
from pathlib import Path

import torch

import ganeval

# The bundling tools live in the repository's tools/, beside tests/.
TOOLS_DIR = Path(__file__).resolve().parents[1] / "tools"

TINY = dict(z_dim=8, channel_base=64, channel_max=8)


def _export_module():
    spec = importlib.util.spec_from_file_location("export_runs", TOOLS_DIR / "export_runs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(root: Path, index: int, name: str, kimgs: list[float], arch: str = "stylegan") -> Path:
    run = root / f"{index:05d}-{name}"
    run.mkdir(parents=True)
    G = ganeval.build_generator(arch, 8, **TINY, **({"w_dim": 8} if arch == "stylegan" else {}))
    D = ganeval.build_discriminator(arch, 8, channel_base=64, channel_max=8)
    for k, kimg in enumerate(kimgs):
        path = run / f"network-snapshot-{kimg:010.3f}.pt"
        ganeval.save_checkpoint(path, G=G, G_ema=G, D=D, meta={"kimg": kimg, "lod": 0.0})
        os.utime(path, (1_000_000 + k, 1_000_000 + k))
        (run / f"fakes{kimg:010.3f}.png").write_bytes(b"png")
    (run / "training_options.json").write_text("{}")
    (run / "stats.jsonl").write_text('{"kimg": 0}\n')
    (root / f"{name}.log").write_text("tick 0\n")
    return run


def test_each_group_comes_back_at_its_common_kimg(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "out"
    out.mkdir()
    # The study stops where its slowest member is (40); the GAN-Control pair at 20, whatever the study reached.
    for i, (name, kimgs) in enumerate([("stylegan-map0", [20, 40, 60]), ("stylegan-map1", [20, 40]),
                                       ("stylegan-map2", [20, 40, 60]), ("stylegan-map8", [20, 40]),
                                       ("pggan", [20, 40, 60, 80]), ("stylegan2", [20, 40]),
                                       ("stylegan2-control", [20])]):
        _run(runs, i, name, kimgs, arch="pggan" if name == "pggan" else "stylegan")
    _export_module().main(runs, out)

    assert sorted(p.name for p in out.iterdir()) == ["control.tar", "study-a.tar", "study-b.tar"]
    got = {}
    for t in out.iterdir():
        with tarfile.open(t) as tar:
            tar.extractall(tmp_path / "x", filter="data")
            got.update({Path(m.name).parent.name: Path(m.name).name for m in tar.getmembers()
                        if "network-snapshot" in m.name})
    assert got == {"00000-stylegan-map0": "network-snapshot-000040.000.pt",
                   "00001-stylegan-map1": "network-snapshot-000040.000.pt",
                   "00002-stylegan-map2": "network-snapshot-000040.000.pt",
                   "00003-stylegan-map8": "network-snapshot-000040.000.pt",
                   "00004-pggan": "network-snapshot-000040.000.pt",
                   "00005-stylegan2": "network-snapshot-000020.000.pt",
                   "00006-stylegan2-control": "network-snapshot-000020.000.pt"}
    # G_ema only, same weights and meta; the snapshot's time kept (make_bundle reads the wall time from it).
    src, dst = runs / "00000-stylegan-map0/network-snapshot-000040.000.pt", \
        tmp_path / "x/00000-stylegan-map0/network-snapshot-000040.000.pt"
    a, b = ganeval.load_checkpoint(src), ganeval.load_checkpoint(dst)
    assert b.G is None and b.D is None and b.meta["kimg"] == 40
    for (ka, va), (kb, vb) in zip(a.G_ema.state_dict().items(), b.G_ema.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    assert dst.stat().st_mtime == src.stat().st_mtime
    assert dst.stat().st_size < src.stat().st_size
    for f in ("training_options.json", "stats.jsonl", "fakes000040.000.png", "log.txt"):
        assert (dst.parent / f).is_file()
