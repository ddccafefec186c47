"""Package training runs as bundled generators: G_ema file, sample grid, model card, README.

The current bundle, from the runs of `train_gpu.sh` brought back by `export_runs.py` into /tmp/gpu_runs (the
study in one session, the GAN-Control pair in a later one):

    python tools/make_bundle.py --kimg 380 --only stylegan-map0,stylegan-map1,stylegan-map2,stylegan-map8,pggan
    python tools/make_bundle.py --kimg 240 --only stylegan2,stylegan2-control-w2 \
        --rename stylegan2-control-w2=stylegan2-control
    # then the controlled model again, from its CPU fine-tuning (FINETUNES; the last stage's run directory
    # copied into <runs> as NNNNN-stylegan2-control-ft):
    python tools/make_bundle.py --kimg 230.016 --only stylegan2-control-ft \
        --rename stylegan2-control-ft=stylegan2-control
    ganeval control evaluate synthfaces-stylegan2-control --baseline synthfaces-stylegan2 --samples 500 \
        --ls-samples 0 --steer-match synthfaces-judge --out /tmp/gpu_runs/control-eval.csv
    python tools/make_bundle.py --cards-only          # cards (with the control table) + README.md

--rename RUN=NAME bundles run RUN as synthfaces-NAME (its card still gives the exact command, --name RUN).

For every selected run directory `<runs>/NNNNN-<name>/` it takes the snapshot at --kimg (auto: the
largest kimg every selected run has a snapshot for), writes `pretrained/synthfaces-<name>.pt` (G_ema
only, ganeval native format; a GAN-Control model also gets its encoders E_k, fitted on the bundled
weights), `synthfaces-<name>.png` (8 x 4 uncurated samples, seeds 0-31, psi 1, const noise), and
`synthfaces-<name>.md` (command, kimg, wall time, hardware, synthfaces-FD, attribute frequencies,
projection quality, sha256), then, without --only, `pretrained/README.md` with one table over all models.

Same protocol for every model: fd_synth with --fd-samples generated (seed 0) against all of
--fd-reference; attribute frequencies from --attr-samples generated images (seeds 0..N-1, psi 1,
const noise) and as many real training images (indices 0..N-1), both classified by the bundled
synthfaces classifiers (logit > 0), plus the data's true label frequencies over the whole training set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import ganeval
from ganeval.checkpoints import PRETRAINED_DIR
from ganeval.features.attributes import load_classifiers
from ganeval.generate import generate_images, z_from_seeds
from ganeval.images import save_image_grid
from ganeval.train.options import run_snapshots, runs_by_name

# Where each group was trained (stored in bundle-*.json; cards of older JSONs without it are the study's).
HARDWARE = {
    "study": "one NVIDIA H100 80GB HBM3 (lent for one session), PyTorch 2.11 + CUDA 13, fp32 with TF32 off; all seven "
             "runs (the five of the mapping-depth study and the first GAN-Control pair) at once on the one GPU, 2 "
             "data-loading workers each on its 16-core host",
    "control": "one NVIDIA H100 80GB HBM3 (lent for one session, a later one than the study's), fp32 with TF32 off; "
               "three runs at once on the one GPU (this pair and a λ = 1 variant), 2 data-loading workers each on its "
               "16-core host",
}
# How each group's runs were started and stopped (the comment under the card's command).
LAUNCHED = {
    "study": "# all seven started together by `bash pretrained/train_gpu.sh launch`; stopped by the time box (26 min), "
             "the snapshot taken is the newest kimg every model of its group reached",
    "control": "# started together with a lambda = 1 variant (stylegan2-control) by `bash pretrained/train_gpu.sh "
               "launch stylegan2 stylegan2-control stylegan2-control-w2`; stopped by the time box (25 min) once all "
               "three had their 240-kimg snapshot (the uncontrolled twin, faster per kimg, first)",
}
# What the samples look like at the bundled kimg (written from the grids when the bundle was rebuilt).
QUALITY_NOTES = {
    "pggan": "the samples are recognisable cartoon faces (skin, hair, eyes, mouth, clothes) with some smeared "
             "features and colour-noise backgrounds",
    "stylegan-map8": "the samples are recognisable cartoon faces (hair styles and colours, glasses, lipstick, "
                     "clothes); some have distorted eyes or mouths and speckled hair",
    "stylegan-map2": "the samples are recognisable cartoon faces; more of them than at depth 8 have distorted "
                     "features or speckled texture",
    "stylegan-map1": "the samples are recognisable cartoon faces, several with distorted or doubled features",
    "stylegan-map0": "the samples are recognisable cartoon faces, several with distorted features and noisy texture",
    "stylegan2": "the samples are recognisable cartoon faces (skin tones, hair styles and colours, lipstick, "
                 "clothes), many with garbled or doubled eyes and speckled hair",
    "stylegan2-control": "the samples are heads with hair, skin and shoulders whose faces are still covered by a "
                         "speckle texture, densest in a band where the eyes would be (no clean eyes or mouths); its "
                         "uncontrolled twin draws faces at 240 kimg",
}
QUALITY_TAIL = ("Their numbers describe these small, briefly trained models, not StyleGAN at convergence.")
# Runs that continue a bundled GPU run elsewhere (experiments/2026-11-gan-control/gan_control_finetune.sh): the base
# run in <runs>, the new-discriminator stage that preceded them, where they ran and the exact commands (as run, with
# the scripts' paths of the time: pretrained/train_gpu.sh, benchmarks/...; each bundled file stores its command).
FINETUNES = {
    "stylegan2-control-ft": dict(
        # new_d_s: its log had step 90 of 93 at 189 s
        base="stylegan2-control-w2", base_kimg=240.0, new_d_kimg=6, new_d_s=190,
        hardware="then a 2-core CPU: a new discriminator trained 6 kimg against the frozen 240-kimg G_ema (two "
                 "threads), then generator and discriminator trained on (one thread to 75 kimg, sharing the CPU with "
                 "other fine-tuning arms and evaluations most of the time; then two threads, mostly alone), from 170 "
                 "kimg on against two classifier sets (two threads, sharing the CPU with the judge's evaluations)",
        commands="OMP_NUM_THREADS=2 python benchmarks/new_discriminator.py "
                 "/tmp/gpu_runs/00009-stylegan2-control-w2/network-snapshot-000240.000.pt /tmp/s7/ft/w2-warmD.pt 6\n"
                 "OMP_NUM_THREADS=1 ganeval train --resume /tmp/s7/ft/w2-warmD.pt {args} "
                 "--control-tau 0.2,0.6 --tick 2 --snap 5 --name tau06\n"
                 "OMP_NUM_THREADS=2 ganeval train --resume /tmp/s7/ft/00001-tau06 --workers 1 --device cpu "
                 "--out /tmp/s7/ft --name tau06-cont2\n"
                 "OMP_NUM_THREADS=2 ganeval train --resume /tmp/s7/ft/00005-tau06-cont2/network-snapshot-000170.048.pt "
                 "--control-net synthfaces-classifiers,synthfaces-classifiers-b --workers 1 --device cpu "
                 "--out /tmp/s9/ft --tick 2 --snap 5 --name ens\n"
                 "OMP_NUM_THREADS=2 ganeval train --resume /tmp/s9/ft/00000-ens --workers 1 --device cpu "
                 "--out /tmp/s9/ft --name ens-cont\n"
                 "OMP_NUM_THREADS=2 ganeval train --resume /tmp/s9/ft/00001-ens-cont --workers 1 --device cpu "
                 "--out /tmp/s9/ft --name ens-cont2\n"
                 "# the fine-tuning arm tau06 of benchmarks/gan_control_finetune.sh (run with an equivalent script "
                 "for the new_discriminator.py line, RUNS=/tmp/s7/ft), ended after its 75-kimg snapshot; tau06-cont2 "
                 "continues it exactly from there (G, D, optimiser states, random streams); ens goes on from "
                 "tau06-cont2's 170-kimg snapshot with the mean contrastive loss of two classifier sets (the second, "
                 "pretrained/synthfaces-classifiers-b.pt, was given by the path of the byte-identical file before it "
                 "was bundled); ens-cont and ens-cont2 continue it exactly (each stopped at a session's end); the "
                 "last stopped at its {kimg:g}-kimg snapshot",
        options="with the same options, from the fine-tuning's 170th kimg on against two classifier sets at once "
                "(the bundled `synthfaces-classifiers` and `synthfaces-classifiers-b`: the mean of their contrastive "
                "losses)",
        # Why this snapshot (the card's sentence; README, GAN-Control, has the per-snapshot table). The stored
        # command says where the file's weights stop.
        chosen="Chosen by the independent judge among the two-set stage's snapshots (every 5 kimg from 180 on; "
               "`bash benchmarks/gan_control_finetune.sh judge RUN_DIR ..`, 300 samples): the first where it "
               "confirms all seven attributes at >= 90 % (the run went on afterwards as a check; README, "
               "GAN-Control)"),
}
CONTROL_EVAL = "control-eval.csv"   # `ganeval control evaluate` rows for the controlled model, in <runs>
HALF_TOLERANCE = 1e-3
GRID_SEEDS = list(range(32))
LAUNCH = Path(__file__).with_name("train_gpu.sh")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def bundled_net_names(spec: str) -> str:
    """--control-net 'a,b' with each file that is byte-identical to a bundled classifier set replaced by that set's
    name: a run trained against a set before it was bundled then names classifiers every checkout has."""
    from ganeval.features.attributes import BUNDLED

    by_sha = {sha256(PRETRAINED_DIR / f): name for name, f in BUNDLED.items() if (PRETRAINED_DIR / f).is_file()}
    return ",".join(by_sha.get(sha256(Path(n)), n) if Path(n).is_file() else n for n in spec.split(","))


def wall_time(run: Path, snap: Path) -> float:
    """Seconds from the run's training start (its first stats line) to the snapshot file's time."""
    first = json.loads((run / "stats.jsonl").read_text().splitlines()[0])
    return snap.stat().st_mtime - (first["timestamp"] - first["total_sec"])


def stats_at(run: Path, kimg: float) -> dict:
    """The stats.jsonl line of the tick nearest to `kimg` (ticks and snapshots fall on different steps)."""
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines() if line.strip()]
    return min(rows, key=lambda r: abs(r["kimg"] - kimg)) if rows else {}


@torch.no_grad()
def images(G, seeds, batch_size=64) -> torch.Tensor:
    return generate_images(G, seeds, psi=1.0, noise_mode="const", batch_size=batch_size)


def max_abs_image_diff(G1, G2, seeds=range(16)) -> float:
    z = z_from_seeds(list(seeds), G1.z_dim)
    with torch.no_grad():
        a = G1(z, noise_mode="const")
        b = G2(z, noise_mode="const")
    return float((a - b).abs().max())


@torch.no_grad()
def detect(classifiers, img_uint8: torch.Tensor, batch_size=250) -> np.ndarray:
    out = []
    for i in range(0, len(img_uint8), batch_size):
        out.append((classifiers(img_uint8[i:i + batch_size].float() / 127.5 - 1) > 0).numpy())
    return np.concatenate(out).astype(np.float64)


PROJECTION_DATA = "synthfaces:{n}?res=64&seed=1"   # seed 1: faces the models never saw (training used seed 0)


def projection_quality(G, model: str, out: Path, num_images: int, steps: int) -> dict:
    """Project held-out synthfaces into W and W+ (StyleGAN2 projector, synth-lpips); distances, PSNRs, a grid."""
    from ganeval.data import open_dataset
    from ganeval.projection import project

    ds = open_dataset(PROJECTION_DATA.format(n=num_images))
    targets = torch.stack([torch.as_tensor(ds[i][0]) for i in range(num_images)])
    res, rows = {"data": PROJECTION_DATA.format(n=num_images), "steps": steps}, [targets]
    for space in ("w", "w+"):
        r = project(G, targets, steps=steps, space=space, distance="synth-lpips", progress=False)
        res[space] = dict(distance=r.table["distance"].tolist(), psnr=r.table["psnr"].tolist(),
                          time_s=float(r.table["time_s"].sum()))
        rows.append(r.images)
    save_image_grid(torch.cat(rows), out / f"{model}-projection.png", nrow=num_images)
    return res


def group_of(run: str) -> str:
    return "control" if run.startswith("stylegan2") else "study"


def finetune_command(name: str, kimg: float) -> str:
    """The base run's command, then the fine-tuning stage's (the base's options on the CPU, one data worker)."""
    ft = FINETUNES[name]
    base = training_command(ft["base"])
    first = base.splitlines()[0]
    args = first.split("ganeval train ", 1)[1].split(" --name ")[0]
    args = args.replace("--workers 2 --device cuda --out /tmp/gpu_runs", "--workers 1 --device cpu --out /tmp/s7/ft")
    return base + "\n" + ft["commands"].format(args=args, kimg=kimg)


def training_command(name: str) -> str:
    """The exact `ganeval train` line that train_gpu.sh runs for the run `name` (its `run` line, variables
    expanded; the study's loop variable $d from the name)."""
    text = Path(LAUNCH).read_text().replace("\\\n", " ")
    var = {k: " ".join(v.split()) for k, v in re.findall(r'^(\w+)="([^"]*)"', text, re.M)}
    var["COMMON"] = (var["COMMON"].replace("synthfaces:70000?res=64", "'synthfaces:70000?res=64'")
                     .replace("${KIMG:-5000}", "5000").replace("${DEVICE:-cuda}", "cuda")
                     .replace("$RUNS", "/tmp/gpu_runs"))
    for line in text.splitlines():
        m = re.match(r"\s*run (\S+) (.*)$", line)
        d = m and re.fullmatch(re.escape(m.group(1)).replace(r"\$d", r"(\d+)"), name)
        if d:
            args = m.group(2).replace("$d", d.group(1)) if d.groups() else m.group(2)
            args = " ".join(re.sub(r"\$(\w+)", lambda v: var[v.group(1)], args).split())
            return (f"OMP_NUM_THREADS=1 ganeval train {args} {var['COMMON']} --name {name}\n"
                    + LAUNCHED[group_of(name)])
    raise SystemExit(f"no `run {name}` line in {LAUNCH}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default="/tmp/gpu_runs")
    ap.add_argument("--kimg", default="auto")
    ap.add_argument("--out", default=str(PRETRAINED_DIR))
    ap.add_argument("--fd-samples", type=int, default=2000)
    ap.add_argument("--fd-reference", default="synthfaces:5000?res=64")
    ap.add_argument("--attr-samples", type=int, default=2000)
    ap.add_argument("--no-fd", action="store_true")
    ap.add_argument("--projection", type=int, default=8, help="held-out faces projected per model (0: skip)")
    ap.add_argument("--projection-steps", type=int, default=200)
    ap.add_argument("--prepare", action="store_true")
    ap.add_argument("--readme-only", action="store_true", help="rebuild README.md from <runs>/bundle-*.json")
    ap.add_argument("--only", default=None, help="comma-separated run names")
    ap.add_argument("--rename", default="", help="RUN=NAME[,..]: bundle run RUN as synthfaces-NAME")
    ap.add_argument("--cards-only", action="store_true", help="rewrite cards + README from <runs>/bundle-*.json")
    args = ap.parse_args()
    torch.set_num_threads(2)
    out = Path(args.out)
    if args.cards_only:   # rewrite cards and README from <runs>/bundle-*.json (no recomputation)
        from ganeval.attributes import NVIDIA_ATTRS

        runs = runs_by_name(args.runs)
        for f in sorted(Path(args.runs).glob("bundle-*.json")):
            res = json.loads(f.read_text())
            run = res.get("run", res["model"].removeprefix("synthfaces-"))
            write_card(out, res, stats_at(runs[run], res.get("run_kimg", res["kimg"])), attr_names=list(NVIDIA_ATTRS),
                       args=args)
        args.readme_only = True
    if args.readme_only:
        results = {}
        for f in sorted(Path(args.runs).glob("bundle-*.json")):
            res = json.loads(f.read_text())
            results[res["model"]] = res
        write_readme(out, results, args)
        return
    runs = runs_by_name(args.runs)
    snaps = {name: run_snapshots(run) for name, run in runs.items()}
    runs = {name: run for name, run in runs.items() if snaps[name] and (not args.only or name in args.only.split(","))}
    if not runs:
        raise SystemExit(f"no runs with snapshots under {args.runs}" + (f" named {args.only}" if args.only else ""))
    if args.kimg == "auto":
        common = set.intersection(*(set(snaps[name]) for name in runs))
        if not common:
            raise SystemExit("the runs share no snapshot kimg: pick a group with --only, or give --kimg")
        kimg = max(common)
    else:
        kimg = round(float(args.kimg), 3)
    print(f"runs: {', '.join(runs)}; common kimg {kimg}", flush=True)

    classifiers = None
    try:
        classifiers = load_classifiers("synthfaces-classifiers")
    except Exception as e:  # noqa: BLE001 - reported in the cards
        print(f"no classifiers: {e}", flush=True)

    from ganeval.attributes import NVIDIA_ATTRS
    from ganeval.data import open_dataset, sample_labels

    spec = "synthfaces:70000?res=64"
    data_true = sample_labels(np.arange(70000), 0).numpy().astype(np.float64).mean(axis=0)
    data_detected = None
    cached = Path(args.runs) / f"data_detected_{args.attr_samples}.npy"
    if classifiers is not None and cached.is_file():
        data_detected = np.load(cached)
    elif classifiers is not None:
        ds = open_dataset(spec)
        reals = torch.stack([img for img, _ in ds.__getitems__(list(range(args.attr_samples)))])
        data_detected = detect(classifiers, reals).mean(axis=0)
        np.save(cached, data_detected)
    if args.prepare:   # only the data side (classifier frequencies, FD reference statistics), then exit
        from ganeval.metrics.fid import reference_stats

        reference_stats(args.fd_reference, 64, "synth-fd", None, False, cache=True, progress=False)
        print("prepared", flush=True)
        return

    renamed = dict(pair.split("=", 1) for pair in args.rename.split(",") if pair)
    results = {}
    for run_name, run in runs.items():
        t0 = time.time()
        name = renamed.get(run_name, run_name)
        model = f"synthfaces-{name}"
        snap = snaps[run_name][kimg]
        ckpt = ganeval.load_checkpoint(snap)
        G = ckpt.G_ema.eval()
        stats = stats_at(run, kimg)
        options = json.loads((run / "training_options.json").read_text())
        if options.get("control_net"):
            options["control_net"] = bundled_net_names(options["control_net"])
        params = sum(p.numel() for p in G.parameters())
        wall = wall_time(run, snap)
        total_kimg, hardware, command, finetune = kimg, HARDWARE[group_of(run_name)], None, None
        if run_name in FINETUNES:   # kimg and wall time in all: the base run's, the new D's, this run's
            ft = FINETUNES[run_name]
            base_run = runs_by_name(args.runs)[ft["base"]]
            base_wall = wall_time(base_run, run_snapshots(base_run)[ft["base_kimg"]])
            finetune = dict(base=ft["base"], base_kimg=ft["base_kimg"], base_wall_s=round(base_wall, 1),
                            new_d_kimg=ft["new_d_kimg"], new_d_s=ft["new_d_s"], kimg=kimg, wall_s=round(wall, 1))
            total_kimg = ft["base_kimg"] + kimg
            wall = base_wall + ft["new_d_s"] + wall
            hardware = HARDWARE[group_of(run_name)] + "; " + ft["hardware"]
            command = finetune_command(run_name, kimg)
        meta = {"name": model, "kimg": total_kimg, "lod": float(ckpt.meta.get("lod", 0.0)),
                "wall_time_s": round(wall, 1), "hardware": hardware,
                "command": command or training_command(run_name),
                "data": options.get("data"),
                "source_snapshot": snap.name, "training_options": json.dumps(options, sort_keys=True)}
        # fp16 only if it leaves the images within HALF_TOLERANCE.
        with tempfile.TemporaryDirectory() as tmp:
            ganeval.save_checkpoint(Path(tmp) / "half.pt", G_ema=G, meta=meta, half=True)
            G_half = ganeval.load_generator(Path(tmp) / "half.pt")
            half_diff = max_abs_image_diff(G, G_half)
        half = half_diff <= HALF_TOLERANCE
        meta["dtype"] = "float16" if half else "float32"
        path = out / f"{model}.pt"
        ganeval.save_checkpoint(path, G_ema=G, meta=meta, half=half)
        if G.arch == "stylegan2-control":   # fit the encoders E_k on the bundled weights, store them in the file
            from ganeval.control.encoders import load_control, save_with_encoders, train_encoders

            G_file, _ = load_control(path, need_encoders=False)
            enc = train_encoders(G_file, "synthfaces-classifiers", num_samples=2000, steps=500, seed=0, device="cpu")
            save_with_encoders(path, path, enc)
            meta["encoder_r2"] = enc.meta["r2"]
        digest = sha256(path)
        Gl = ganeval.load_generator(model if out.resolve() == PRETRAINED_DIR.resolve() else path)
        grid = images(Gl, GRID_SEEDS)
        save_image_grid(grid, out / f"{model}.png", nrow=8)

        res = dict(model=model, run=run_name, hardware=meta["hardware"], kimg=total_kimg, run_kimg=kimg,
                   finetune=finetune, params=params,
                   wall_time_s=meta["wall_time_s"], sha256=digest,
                   size=path.stat().st_size, half=half, half_diff=half_diff, command=meta["command"],
                   arch=G.arch, mapping_depth=G.mapping_depth, lod=meta["lod"], fd=None, fd_ci=None, freq=None,
                   encoder_r2=meta.get("encoder_r2"))
        if classifiers is not None:
            gen = images(Gl, list(range(args.attr_samples)))
            gen_detected = detect(classifiers, gen).mean(axis=0)
            res["freq"] = dict(gen=gen_detected.tolist(), data_detected=data_detected.tolist(),
                               data_true=data_true.tolist())
            res["mad_detected"] = float(np.abs(gen_detected - data_detected).mean())
            res["mad_true"] = float(np.abs(gen_detected - data_true).mean())
            if not args.no_fd:
                df = ganeval.evaluate(Gl, ["fd_synth"], reference=args.fd_reference, num_samples=args.fd_samples,
                                      seed=0, progress=False)
                row = df.iloc[0]
                res["fd"] = float(row["value"])
                res["fd_ci"] = [float(row["ci_low"]), float(row["ci_high"])]
                res["fd_num_real"] = int(row["num_real"])
        res["projection"] = None
        if args.projection and Gl.has_w:
            res["projection"] = projection_quality(Gl, model, out, args.projection, args.projection_steps)
        results[name] = res
        (Path(args.runs) / f"bundle-{name}.json").write_text(json.dumps(res, indent=1))
        write_card(out, res, stats, attr_names=list(NVIDIA_ATTRS), args=args)
        print(f"{model}: kimg {kimg} params {params:,} half={half} ({half_diff:.2e}) fd={res['fd']} "
              f"mad={res.get('mad_detected')} ({time.time() - t0:.0f}s)", flush=True)
    if not args.only:
        write_readme(out, results, args)


def lod_text(lod: float) -> str:
    if lod <= 0:
        return "fully grown, 64×64"
    k = int(np.floor(lod))
    res = 64 >> k
    if lod == k:
        return f"{res}×{res} stable, nearest-upsampled to 64×64"
    return f"{res}×{res} fading in, alpha {1 - (lod - k):.2f}"


def fd_text(res) -> str:
    if res["fd"] is None:
        return "not measured (bundled classifiers missing when the card was written)"
    lo, hi = res["fd_ci"]
    return f"{res['fd']:.2f} (95% interval {lo:.2f} – {hi:.2f})"


def protocol(args) -> str:
    return (f"preset `fd_synth` (feature net `synth-fd` = the bundled synthfaces classifiers' last block), "
            f"{args.fd_samples} generated samples (seed 0, psi 1, random noise) against all "
            f"{args.fd_reference.split(':')[1].split('?')[0]} faces of `{args.fd_reference}`")


def _spread(values, digits: int) -> str:
    v = np.asarray(values, dtype=np.float64)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return f"{med:.{digits}f} [{q1:.{digits}f}, {q3:.{digits}f}] (min {v.min():.{digits}f}, max {v.max():.{digits}f})"


def projection_lines(res: dict) -> list[str]:
    pr = res.get("projection")
    if pr is None:
        why = "it has no W space (the projector optimises w)" if res["arch"] == "pggan" or not res["mapping_depth"] \
            else "not measured"
        return [f"Not applicable: {why}." if "W space" in why else "Not measured.", ""]
    n = len(pr["w"]["distance"])
    return [
        f"The StyleGAN2 projector (`ganeval.project`, {pr['steps']} steps, distance `synth-lpips`, paper schedule and "
        f"noise regularisation) on {n} held-out faces (`{pr['data']}`: seed 1, never seen in training). "
        "Median [quartiles] (min, max) per image:", "",
        "| space | synth-lpips distance | PSNR (dB) | CPU time |", "|---|---|---|---|",
        *[f"| {sp.upper()} | {_spread(pr[sp]['distance'], 2)} | {_spread(pr[sp]['psnr'], 1)} "
          f"| {pr[sp]['time_s']:.0f} s |"
          for sp in ("w", "w+")], "",
        f"![projection]({res['model']}-projection.png)", "",
        "Rows: targets, projection in W, projection in W+.", "",
    ]


KINDS = {"pggan": "PGGAN (no mapping network, no W)", "stylegan": "StyleGAN",
         "stylegan2": "StyleGAN2 (uncontrolled baseline of the GAN-Control pair)",
         "stylegan2-control": "GAN-Control StyleGAN2 (explicitly disentangled, 7 controlled attributes)"}
GROUP_TEXT = {
    False: "One of the five generators of the mapping-depth study (StyleGAN Table 4 at toy scale): all five were "
           "trained together with identical settings except the architecture / mapping depth, and are bundled at the "
           "same kimg.",
    True: "One of the GAN-Control pair: StyleGAN2 with and without `--control` (seven attributes with 8-dim z^k / "
          "w^k sub-vectors, 72 dims for the rest, contrastive loss of weight λ = 2 on the bundled classifiers' "
          "embeddings), otherwise identical settings (minibatch 64, lr 0.0025), trained side by side to 240 kimg.",
}


def control_lines(res: dict, runs: Path) -> list[str]:
    """The controllability table of `ganeval control evaluate` (controlled model vs SVM-steered baseline)."""
    if res["arch"] != "stylegan2-control":
        return []
    lines = ["## Control", ""]
    if res.get("encoder_r2"):
        lines += ["The file carries control encoders E_k (`ganeval control train`, 2000 samples, 500 steps, seed 0); "
                  "R² of w^k from y^k: " + ", ".join(f"{a} {v:.2f}" for a, v in res["encoder_r2"].items()) + ".", ""]
    path = runs / CONTROL_EVAL
    if not path.is_file():
        return lines + ["Controllability not measured yet.", ""]
    import pandas as pd

    df = pd.read_csv(path)
    n = int(df[df.metric == "control_accuracy"].num_samples.iloc[0])
    steer = df[(df.control_method == "svm-steering") & (df.attr != "ALL")]
    match = steer.steer_target_effect.notna().any() if "steer_target_effect" in df else False
    match_net = steer.feature_net.iloc[-1] if match else None
    get = {(r.feature_net, r.metric, r.control_method, r.attr): r.value for r in df.itertuples()}
    strength = (f"with each attribute's edit strength chosen so that `{match_net}` sees the same effect (mean change "
                "of the attribute's probability) as for GAN-Control: leakage compared at equal effect" if match else
                "to the 0.9-quantile of the positives' SVM distance")
    lines += [
        f"`ganeval control evaluate {res['model']} --baseline synthfaces-stylegan2 --samples {n} --ls-samples 0"
        + (f" --steer-match {match_net}" if match else "") + "`: "
        f"for each attribute, {n} samples set to 1 and {n} set to 0 through the encoders (the other sub-vectors "
        "sampled); the baseline is the uncontrolled StyleGAN2 moved along the attribute's SVM normal in W (SVMs "
        f"fitted to the training classifiers' labels), {strength}. Accuracy = the judge sees the requested value; "
        "effect = mean change of its probability; leakage = mean |Δp| of the other 39 attributes. Two judges see the "
        "same images: the classifier set whose embeddings M_k the controlled model was trained against "
        "(`synthfaces-classifiers`), and the independent `synthfaces-judge` (other faces, other initialisation, wider "
        "networks), which the generator never saw.", ""]
    attrs = [*res["encoder_r2"], "ALL"] if res.get("encoder_r2") else ["ALL"]
    cells = [("control_accuracy", "encoders"), ("control_accuracy", "svm-steering"), ("control_effect", "encoders"),
             ("control_effect", "svm-steering"), ("control_leakage", "encoders"), ("control_leakage", "svm-steering")]
    for net in dict.fromkeys(df.feature_net):
        who = "training classifiers" if net == "synthfaces-classifiers" else "independent judge"
        lines += [f"Judged by `{net}` ({who}):", "",
                  "| attribute | accuracy (GAN-Control) | accuracy (SVM steering) | effect (GAN-Control) "
                  "| effect (SVM steering) | leakage (GAN-Control) | leakage (SVM steering) |",
                  "|---|---|---|---|---|---|---|"]
        for a in attrs:
            vals = [get.get((net, m, meth, a)) for m, meth in cells]
            lines.append(f"| {'mean' if a == 'ALL' else a} | "
                         + " | ".join("—" if v is None else f"{v:.3f}" for v in vals) + " |")
        lines.append("")
    if match:
        scale = dict(zip(steer.attr, steer.steer_scale))
        reached = dict(zip(steer.attr, steer.steer_reached))
        lines += ["Steering strength c (1 = the 0.9-quantile edit; searched up to 8): " + ", ".join(
            f"{a} {scale[a]:.2f}" + ("" if str(reached[a]) == "True" else " (GAN-Control's effect out of reach)")
            for a in attrs if a in scale) + ".", ""]
    return lines


def finetune_how(run) -> str:
    """How a fine-tuning run's options relate to its base run's (FINETUNES `options`)."""
    return FINETUNES.get(run, {}).get("options", "with the same options")


def finetune_text(res: dict) -> str:
    ft = res.get("finetune")
    if not ft:
        return ""
    how = finetune_how(res.get("run"))
    return (f" Unlike its twin, it was then trained on: from the G_ema of its {ft['base_kimg']:g}-kimg snapshot, "
            f"with a new discriminator (the GPU run kept no D), {ft['kimg']:g} kimg more on the CPU {how} (see the "
            "training command).")


def where_text(res: dict) -> str:
    ft = res.get("finetune")
    if not ft:
        return " on one GPU (time-boxed, see the hardware row)"
    return (f" in all ({ft['base_kimg']:g} kimg in {ft['base_wall_s'] / 60:.0f} min on one GPU, a new discriminator "
            f"trained {ft['new_d_kimg']:g} kimg in {ft['new_d_s'] / 60:.0f} min, then {ft['kimg']:g} kimg in "
            f"{ft['wall_s'] / 60:.0f} min on the CPU; see the hardware row)")


def write_card(out: Path, res: dict, stats: dict, attr_names, args) -> None:
    model = res["model"]
    name = model.removeprefix("synthfaces-")
    lines = [f"# {model}", "", f"{KINDS.get(res['arch'], res['arch'])}" + (
        f", mapping depth {res['mapping_depth']}" + (" (W = normalised Z)" if res["mapping_depth"] == 0 else "")
        if res["arch"] == "stylegan" else "") + ", 64×64, trained on the synthfaces benchmark "
        "(`synthfaces:70000?res=64`) with `ganeval train`.",
        GROUP_TEXT[res["arch"] in ("stylegan2", "stylegan2-control")] + finetune_text(res),
        f"{res['kimg']:g} kimg in {res['wall_time_s'] / 60:.0f} min{where_text(res)}: "
        f"**{QUALITY_NOTES.get(name, 'see the samples below')}.** " + QUALITY_TAIL, "",
        "| | |", "|---|---|",
        f"| file | `{model}.pt` (G_ema only, ganeval native format, {res['size'] / 1e6:.2f} MB, "
        f"{'float16' if res['half'] else 'float32'}) |",
        f"| sha256 | `{res['sha256']}` |",
        f"| kimg | {res['kimg']:g} |",
        f"| level of detail at the snapshot | {res['lod']:.2f} ({lod_text(res['lod'])}) |",
        f"| wall time | {res['wall_time_s'] / 60:.1f} min ({res['wall_time_s']:.0f} s) |",
        f"| hardware | {res.get('hardware', HARDWARE['study'])} |",
        f"| generator parameters | {res['params']:,} |",
        f"| losses at the last tick | D {stats.get('Loss/D/loss', float('nan')):.3f}, "
        f"G {stats.get('Loss/G/loss', float('nan')):.3f} |",
        f"| synthfaces-FD | {fd_text(res)} |",
        "", "## Training command", "", "```", res["command"], "```", "",
        FINETUNES.get(res.get("run"), {}).get("chosen", "Stopped by the time box")
        + f"; this file is the G_ema of the snapshot at {res['kimg']:g} kimg"
        + (f" ({ft['base_kimg']:g} + the fine-tuning run's {ft['kimg']:g})." if (ft := res.get("finetune")) else "."),
        "fp16 storage is used only if it changes images by at most 1e-3 (max abs, 16 seeds, const noise): "
        f"measured {res['half_diff']:.1e} → {'float16' if res['half'] else 'float32'}.", "",
        "## Samples", "",
        f"![samples]({model}.png)", "",
        f"`ganeval generate {model} --seeds 0-31 --nrow 8 --out {model}.png` (psi 1, const noise, uncurated).", "",
        "## Synthfaces-FD", "", f"{protocol(args)}: **{fd_text(res)}**.", "",
        "## Projection of held-out faces", "",
    ] + projection_lines(res) + control_lines(res, Path(args.runs)) + [
        "## Attribute frequencies", "",
    ]
    if res["freq"] is None:
        lines += ["Not measured: the bundled classifiers (`pretrained/synthfaces-classifiers.pt`) were missing.", ""]
    else:
        f = res["freq"]
        lines += [
            f"Positive rate per attribute. *data (labels)*: true labels of all 70,000 training faces; "
            f"*data (detected)*: {args.attr_samples} training images (indices 0..{args.attr_samples - 1}) "
            f"classified by the bundled classifiers (logit > 0); *generated*: {args.attr_samples} samples "
            f"(seeds 0..{args.attr_samples - 1}, psi 1, const noise) classified the same way.", "",
            f"Mean absolute difference generated vs data (detected): **{res['mad_detected']:.3f}**; "
            f"vs data (labels): **{res['mad_true']:.3f}**.", "",
            "| attribute | data (labels) | data (detected) | generated | difference |", "|---|---|---|---|---|",
        ]
        for k, a in enumerate(attr_names):
            d = f["gen"][k] - f["data_detected"][k]
            lines.append(f"| {a} | {f['data_true'][k]:.3f} | {f['data_detected'][k]:.3f} | {f['gen'][k]:.3f} | "
                         f"{d:+.3f} |")
        lines.append("")
    (out / f"{model}.md").write_text("\n".join(lines), encoding="utf-8")


# Table order: the study by mapping depth, its PGGAN baseline, then the GAN-Control pair (baseline first).
README_ORDER = [*(f"synthfaces-stylegan-map{d}" for d in range(9)), "synthfaces-pggan", "synthfaces-stylegan2",
                "synthfaces-stylegan2-control"]


def write_readme(out: Path, results: dict, args) -> None:
    results = dict(sorted(results.items(), key=lambda kv: README_ORDER.index(kv[0]) if kv[0] in README_ORDER
                          else len(README_ORDER)))
    lines = [
        "# Bundled models", "",
        "Small generators trained with `ganeval train` on the synthfaces benchmark (64×64): the five of the",
        "mapping-depth study (StyleGAN paper Table 4 at toy scale; identical settings except the architecture /",
        "mapping depth) and the GAN-Control pair (StyleGAN2 with and without seven controlled attributes). Each",
        "group was trained on one lent H100 GPU (`tools/train_gpu.sh`), in different sessions, and is bundled at the",
        "newest kimg all its members reached: 380 kimg for the study (26 min, all five beside the first GAN-Control",
        "pair), 240 kimg for the GAN-Control pair (25 min, beside a λ = 1 variant; the controlled model is about",
        "1.5x slower per kimg than its twin)." + "".join(
            f" The controlled model was then trained on for {ft['kimg']:g} kimg on the CPU (a new discriminator, "
            f"the GPU run kept none), {finetune_how(r.get('run'))}: "
            f"{r['kimg']:g} kimg in all."
            for r in results.values() if (ft := r.get("finetune"))),
        "The study models and the uncontrolled StyleGAN2 draw recognisable",
        "cartoon faces with some distorted features; the controlled model's faces are speckled (see the cards). Load",
        "one by name: `ganeval.load_generator('synthfaces-stylegan-map8')`, `ganeval info synthfaces-stylegan-map8`",
        "(prints the card).", "",
        f"synthfaces-FD: {protocol(args)}. Lower is better; the interval is a Poisson bootstrap over the",
        "generated samples. Attribute MAD: mean over the 40 attributes of |generated − data| positive rate,",
        f"both detected by the bundled classifiers on {args.attr_samples} images.", "",
        "| model | arch | mapping depth | kimg | lod | wall time | G params | synthfaces-FD | attribute MAD "
        "| projection PSNR W / W+ (dB, median) | card | samples |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results.values():
        m = res["model"]
        fd = "—" if res["fd"] is None else f"{res['fd']:.2f} [{res['fd_ci'][0]:.2f}, {res['fd_ci'][1]:.2f}]"
        mad = "—" if res.get("mad_detected") is None else f"{res['mad_detected']:.3f}"
        depth = "—" if res["arch"] == "pggan" else str(res["mapping_depth"])
        pr = res.get("projection")
        proj = "n/a (no W)" if pr is None else \
            f"{np.median(pr['w']['psnr']):.1f} / {np.median(pr['w+']['psnr']):.1f}"
        lines.append(f"| `{m}` | {res['arch']} | {depth} | {res['kimg']:g} | {res['lod']:.2f} | "
                     f"{res['wall_time_s'] / 60:.0f} min | "
                     f"{res['params']:,} | {fd} | {mad} | {proj} | [card]({m}.md) | [grid]({m}.png) |")
    lines += ["", "`synthfaces-classifiers.pt`: the 40 bundled attribute classifiers (features for synth-fd, "
              "synth-lpips and separability; [card](synthfaces-classifiers.md)); `synthfaces-judge.pt`: a second, "
              "independent set that judges the GAN-Control model ([card](synthfaces-judge.md)); "
              "`synthfaces-classifiers-b.pt`: a third set, which the GAN-Control model was trained against beside "
              "the first and the judge never was ([card](synthfaces-classifiers-b.md)).", "",
              "`tools/make_bundle.py` rebuilds the files, cards and this table from the training runs.", ""]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
