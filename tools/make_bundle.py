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
projection quality, sha256), then, without --only, `pretrained/README.md` with one table over all models. Their
wording is in tools/bundle_cards/ (texts.md says how); this script measures and fills it in.

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
from ganeval.features.attributes import load_classifiers
from ganeval.images import save_image_grid
from ganeval.models.generate import generate_images, z_from_seeds
from ganeval.train.options import run_snapshots, runs_by_name

# The repository's pretrained/ folder (installed as the package data ganeval.pretrained): bundles are written here.
PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"

# The prose of the cards and of pretrained/README.md is data: Markdown in tools/bundle_cards/ (card.md, control.md
# and readme.md: the documents with {fields} for str.format; texts.md: the named texts that fill them). Markdown
# because that is what the texts become, so they read and diff as they will appear; and the standard library reads
# it on every Python the project supports (requires-python >= 3.10 in pyproject.toml; tomllib is 3.11+).
CARDS_DIR = Path(__file__).with_name("bundle_cards")
MISSING = "—"   # an empty table cell


def read_template(name: str) -> str:
    """A document of tools/bundle_cards/ as written, without its leading <!-- comment --> (what its fields are)."""
    return re.sub(r"\A<!--.*?-->\n", "", (CARDS_DIR / name).read_text(encoding="utf-8"), flags=re.S)


def read_texts(path: Path) -> dict[str, str]:
    """The `## key` sections of texts.md: each text's lines as written, without the blank lines around them, the
    fence of a code block or whole-line <!-- comments --> (notes for the reader)."""
    sections: dict[str, list[str]] = {}
    key = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if m := re.fullmatch(r"## ([a-z0-9][a-z0-9.-]*)", line):
            key = m.group(1)
            if key in sections:
                raise SystemExit(f"{path}: text {key} given twice")
            sections[key] = []
        elif key is not None and not re.fullmatch(r"<!--.*-->", line):
            sections[key].append(line)
    texts = {}
    for key, lines in sections.items():
        body = "\n".join(lines).strip("\n")
        if body.startswith("```\n") and body.endswith("\n```"):
            body = body[4:-4]
        texts[key] = body
    return texts


def fill(document: str) -> str:
    """A filled document with the blank lines an empty section leaves behind written as one."""
    return re.sub(r"\n{3,}", "\n\n", document)


TEXT = read_texts(CARDS_DIR / "texts.md")


def texts_under(prefix: str) -> dict[str, str]:
    """The texts whose keys start with `prefix`, keyed by the rest."""
    return {key.removeprefix(prefix): text for key, text in TEXT.items() if key.startswith(prefix)}


# Where each group was trained (stored in bundle-*.json; cards of older JSONs without it are the study's).
HARDWARE = texts_under("hardware.")
# How each group's runs were started and stopped (the comment under the card's command).
LAUNCHED = texts_under("launched.")
# What the samples look like at the bundled kimg, by bundled name (synthfaces-<name>).
QUALITY_NOTES = texts_under("quality.")
KINDS = texts_under("kind.")
# Runs that continue a bundled GPU run elsewhere (experiments/2026-11-gan-control/gan_control_finetune.sh): the base
# run in <runs>, the new-discriminator stage that preceded them; where they ran, the exact commands (as run, with the
# scripts' paths of the time; each bundled file stores its command), how their options differ and why the snapshot
# (hardware, commands, options, chosen: texts.md).
FINETUNES = {
    "stylegan2-control-ft": dict(
        # new_d_s: its log had step 90 of 93 at 189 s
        base="stylegan2-control-w2", base_kimg=240.0, new_d_kimg=6, new_d_s=190,
        **texts_under("finetunes.stylegan2-control-ft.")),
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
        from ganeval.data.attributes import NVIDIA_ATTRS

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

    from ganeval.data import open_dataset, sample_labels
    from ganeval.data.attributes import NVIDIA_ATTRS

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
        from ganeval.metrics.reference import reference_stats

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
        return TEXT["lod.full"]
    k = int(np.floor(lod))
    res = 64 >> k
    if lod == k:
        return TEXT["lod.stable"].format(res=res)
    return TEXT["lod.fading"].format(res=res, alpha=1 - (lod - k))


def fd_text(res) -> str:
    if res["fd"] is None:
        return TEXT["fd.missing"]
    low, high = res["fd_ci"]
    return TEXT["fd.value"].format(fd=res["fd"], low=low, high=high)


def protocol(args) -> str:
    return TEXT["protocol"].format(fd_samples=args.fd_samples, reference=args.fd_reference,
                                   num_reference=args.fd_reference.split(":")[1].split("?")[0])


def _spread(values, digits: int) -> str:
    v = np.asarray(values, dtype=np.float64)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return TEXT["spread"].format(**{k: f"{x:.{digits}f}" for k, x in
                                    dict(median=med, q1=q1, q3=q3, min=v.min(), max=v.max()).items()})


def projection_text(res: dict) -> str:
    pr = res.get("projection")
    if pr is None:
        no_w = res["arch"] == "pggan" or not res["mapping_depth"]
        return TEXT["projection.no-w" if no_w else "projection.not-measured"]
    rows = [TEXT["projection.row"].format(space=sp.upper(), distance=_spread(pr[sp]["distance"], 2),
                                          psnr=_spread(pr[sp]["psnr"], 1), time_s=pr[sp]["time_s"])
            for sp in ("w", "w+")]
    return TEXT["projection.table"].format(steps=pr["steps"], num_images=len(pr["w"]["distance"]), data=pr["data"],
                                           rows="\n".join(rows), model=res["model"])


def group_text(res: dict) -> str:
    """Which group the model was trained in, and (FINETUNES) how it was trained on after the GPU run."""
    text = TEXT["group.control" if res["arch"] in ("stylegan2", "stylegan2-control") else "group.study"]
    if ft := res.get("finetune"):
        text += " " + TEXT["finetune.story"].format(base_kimg=ft["base_kimg"], kimg=ft["kimg"],
                                                    how=finetune_how(res.get("run")))
    return text


def kind_text(res: dict) -> str:
    kind = KINDS.get(res["arch"], res["arch"])
    if res["arch"] != "stylegan":
        return kind
    return kind.format(depth=res["mapping_depth"]) + (" " + TEXT["w-is-z"] if res["mapping_depth"] == 0 else "")


def control_text(res: dict, runs: Path) -> str:
    """The controllability tables of `ganeval control evaluate` (controlled model vs SVM-steered baseline)."""
    if res["arch"] != "stylegan2-control":
        return ""
    paragraphs = []
    if res.get("encoder_r2"):
        paragraphs.append(TEXT["control.encoders"].format(
            r2=", ".join(f"{a} {v:.2f}" for a, v in res["encoder_r2"].items())))
    path = runs / CONTROL_EVAL
    if not path.is_file():
        paragraphs.append(TEXT["control.not-measured"])
        return fill(read_template("control.md").format(paragraphs="\n\n".join(paragraphs)))
    import pandas as pd

    df = pd.read_csv(path)
    n = int(df[df.metric == "control_accuracy"].num_samples.iloc[0])
    steer = df[(df.control_method == "svm-steering") & (df.attr != "ALL")]
    match = steer.steer_target_effect.notna().any() if "steer_target_effect" in df else False
    match_net = steer.feature_net.iloc[-1] if match else None
    get = {(r.feature_net, r.metric, r.control_method, r.attr): r.value for r in df.itertuples()}
    strength = (TEXT["control.strength.match"].format(net=match_net) if match
                else TEXT["control.strength.quantile"])
    paragraphs.append(TEXT["control.evaluation"].format(
        model=res["model"], num_samples=n, steer_match=f" --steer-match {match_net}" if match else "",
        strength=strength))
    attrs = [*res["encoder_r2"], "ALL"] if res.get("encoder_r2") else ["ALL"]
    cells = [("control_accuracy", "encoders"), ("control_accuracy", "svm-steering"), ("control_effect", "encoders"),
             ("control_effect", "svm-steering"), ("control_leakage", "encoders"), ("control_leakage", "svm-steering")]
    for net in dict.fromkeys(df.feature_net):
        rows = []
        for a in attrs:
            vals = [get.get((net, m, meth, a)) for m, meth in cells]
            rows.append(f"| {TEXT['control.mean'] if a == 'ALL' else a} | "
                        + " | ".join(MISSING if v is None else f"{v:.3f}" for v in vals) + " |")
        who = TEXT["control.judge.training" if net == "synthfaces-classifiers" else "control.judge.other"]
        paragraphs.append(TEXT["control.table"].format(net=net, who=who, rows="\n".join(rows)))
    if match:
        scale = dict(zip(steer.attr, steer.steer_scale))
        reached = dict(zip(steer.attr, steer.steer_reached))
        paragraphs.append(TEXT["control.steering"].format(scales=", ".join(
            f"{a} {scale[a]:.2f}" + ("" if str(reached[a]) == "True" else " " + TEXT["control.out-of-reach"])
            for a in attrs if a in scale)))
    return fill(read_template("control.md").format(paragraphs="\n\n".join(paragraphs)))


def frequencies_text(res: dict, attr_names, args) -> str:
    f = res["freq"]
    if f is None:
        return TEXT["frequencies.missing"]
    rows = [TEXT["frequencies.row"].format(attr=a, data_true=f["data_true"][k], data_detected=f["data_detected"][k],
                                           generated=f["gen"][k], difference=f["gen"][k] - f["data_detected"][k])
            for k, a in enumerate(attr_names)]
    return TEXT["frequencies.table"].format(num_images=args.attr_samples, last=args.attr_samples - 1,
                                            mad_detected=res["mad_detected"], mad_true=res["mad_true"],
                                            rows="\n".join(rows))


def finetune_how(run) -> str:
    """How a fine-tuning run's options relate to its base run's (FINETUNES `options`)."""
    return FINETUNES.get(run, {}).get("options", TEXT["finetune.same-options"])


def where_text(res: dict) -> str:
    ft = res.get("finetune")
    if not ft:
        return TEXT["where.gpu"]
    return TEXT["where.finetune"].format(base_kimg=ft["base_kimg"], base_minutes=ft["base_wall_s"] / 60,
                                         new_d_kimg=ft["new_d_kimg"], new_d_minutes=ft["new_d_s"] / 60,
                                         kimg=ft["kimg"], minutes=ft["wall_s"] / 60)


def write_card(out: Path, res: dict, stats: dict, attr_names, args) -> None:
    model = res["model"]
    ft = res.get("finetune")
    card = read_template("card.md").format(
        model=model, kind=kind_text(res), group=group_text(res), kimg=res["kimg"],
        wall_minutes=res["wall_time_s"] / 60, wall_s=res["wall_time_s"], where=where_text(res),
        quality=QUALITY_NOTES.get(model.removeprefix("synthfaces-"), TEXT["quality-unknown"]),
        size_mb=res["size"] / 1e6, dtype="float16" if res["half"] else "float32", sha256=res["sha256"],
        lod=res["lod"], lod_text=lod_text(res["lod"]), hardware=res.get("hardware", HARDWARE["study"]),
        params=res["params"], loss_d=stats.get("Loss/D/loss", float("nan")),
        loss_g=stats.get("Loss/G/loss", float("nan")), fd=fd_text(res), command=res["command"],
        chosen=FINETUNES.get(res.get("run"), {}).get("chosen", TEXT["chosen.time-box"]),
        kimg_parts=" " + TEXT["finetune.kimg"].format(base_kimg=ft["base_kimg"], kimg=ft["kimg"]) if ft else "",
        half_diff=res["half_diff"], protocol=protocol(args), projection=projection_text(res),
        control=control_text(res, Path(args.runs)), frequencies=frequencies_text(res, attr_names, args))
    (out / f"{model}.md").write_text(fill(card), encoding="utf-8")


# Table order: the study by mapping depth, its PGGAN baseline, then the GAN-Control pair (baseline first).
README_ORDER = [*(f"synthfaces-stylegan-map{d}" for d in range(9)), "synthfaces-pggan", "synthfaces-stylegan2",
                "synthfaces-stylegan2-control"]


def write_readme(out: Path, results: dict, args) -> None:
    results = dict(sorted(results.items(), key=lambda kv: README_ORDER.index(kv[0]) if kv[0] in README_ORDER
                          else len(README_ORDER)))
    finetunes = "".join(" " + TEXT["readme.finetune"].format(kimg=ft["kimg"], how=finetune_how(r.get("run")),
                                                             total_kimg=r["kimg"])
                        for r in results.values() if (ft := r.get("finetune")))
    rows = []
    for res in results.values():
        fd = MISSING if res["fd"] is None else TEXT["readme.fd"].format(fd=res["fd"], low=res["fd_ci"][0],
                                                                         high=res["fd_ci"][1])
        mad = MISSING if res.get("mad_detected") is None else f"{res['mad_detected']:.3f}"
        depth = MISSING if res["arch"] == "pggan" else str(res["mapping_depth"])
        pr = res.get("projection")
        proj = TEXT["readme.no-w"] if pr is None else \
            TEXT["readme.psnr"].format(w=np.median(pr["w"]["psnr"]), w_plus=np.median(pr["w+"]["psnr"]))
        rows.append(TEXT["readme.row"].format(model=res["model"], arch=res["arch"], depth=depth, kimg=res["kimg"],
                                              lod=res["lod"], wall_minutes=res["wall_time_s"] / 60,
                                              params=res["params"], fd=fd, mad=mad, projection=proj))
    readme = read_template("readme.md").format(finetunes=finetunes, protocol=protocol(args),
                                               attr_samples=args.attr_samples, rows="\n".join(rows))
    (out / "README.md").write_text(fill(readme), encoding="utf-8")


if __name__ == "__main__":
    main()
