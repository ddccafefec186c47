"""Copy what make_bundle.py needs out of a training directory: G_ema-only snapshots, options, stats, logs, grids.

    python tools/export_runs.py RUNS OUT

Runs are grouped (the mapping-depth study; StyleGAN2 with and without GAN-Control); for each group the
snapshot taken is the newest kimg that every run of the group has reached, so that the models of a group
are compared at equal training length. Full training snapshots (G, D, optimiser states) are ~24 MB each;
the copies keep G_ema and the snapshot's metadata, with the original file time (make_bundle reads the wall
time from it). One tar per group of at most ~12 MB, so that each fits the device tool's 16 MiB file limit.
"""

from __future__ import annotations

import os
import shutil
import sys
import tarfile
from pathlib import Path

import ganeval
from ganeval.train.options import run_snapshots, runs_by_name

GROUPS = {"study-a": ["stylegan-map0", "stylegan-map1", "stylegan-map2"],
          "study-b": ["stylegan-map8", "pggan"],
          "control": ["stylegan2", "stylegan2-control", "stylegan2-control-prob", "stylegan2-control-w2",
                       "stylegan2-control-v3"]}
COMMON_KIMG = [GROUPS["study-a"] + GROUPS["study-b"], GROUPS["control"]]


def main(runs: Path, out: Path) -> None:
    dirs = runs_by_name(runs)
    snaps = {n: run_snapshots(d) for n, d in dirs.items()}
    pick = {}
    for names in COMMON_KIMG:
        have = [n for n in names if snaps.get(n)]
        if not have:
            continue
        common = set.intersection(*(set(snaps[n]) for n in have))
        for n in have:
            pick[n] = max(common) if common else max(snaps[n])
    stage = out / "stage"
    for name, kimg in pick.items():
        run, dst = dirs[name], stage / dirs[name].name
        dst.mkdir(parents=True, exist_ok=True)
        snap = snaps[name][kimg]
        ckpt = ganeval.load_checkpoint(snap)
        ganeval.save_checkpoint(dst / snap.name, G_ema=ckpt.G_ema, meta=dict(ckpt.meta))
        st = snap.stat()
        os.utime(dst / snap.name, (st.st_atime, st.st_mtime))
        for f in ["training_options.json", "stats.jsonl", "reals.png", f"fakes{snap.name[17:-3]}.png"]:
            if (run / f).is_file():
                shutil.copy2(run / f, dst / f)
        if (runs / f"{name}.log").is_file():
            shutil.copy2(runs / f"{name}.log", dst / "log.txt")
        print(f"{name}: {snap.name} (newest {max(snaps[name]):g} kimg)", flush=True)
    for group, names in GROUPS.items():
        members = [dirs[n].name for n in names if n in pick]
        if members:
            with tarfile.open(out / f"{group}.tar", "w") as tar:
                for m in members:
                    tar.add(stage / m, arcname=m)
    shutil.rmtree(stage)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
