"""PPL as a derivative (method='jvp') against the finite difference (method='fd', the reference): agreement, thread
and precision sensitivity, speed. CSV rows on stdout (and --out FILE, appended to with --append).

    .venv/bin/python benchmarks/ppl_jvp.py --model synthfaces-stylegan2 --reps 5 --out benchmarks/results/ppl_jvp.csv
    .venv/bin/python benchmarks/ppl_jvp.py --model random-stylegan2-128 --thread-pairs 256 --bf16-pairs 16 \\
        --same-pixel-pairs 4 --no-speed-bf16 --out benchmarks/results/ppl_jvp.csv --append

Models (and the PPL protocol each is measured with):
  synthfaces-stylegan2   the bundled 64 px StyleGAN2, distance synth-lpips; ppl2_wend_synth (W, t = 0, no crop)
  random-stylegan2-128   a 128 px StyleGAN2 with random weights (torch.manual_seed(0); 1.8 M parameters),
                         LPIPS-VGG16 v0.1 (the lpips package's heads) on a random VGG16 trunk; ppl_zfull's
                         protocol (Z, t ~ U(0, 1), face crop, LPIPS sees 64 px)

Parts (all on the pairs of ppl(), seed 0: the same z0, z1, t and noise for every method):
  a  --pairs pairs with fp32 FD (eps = 1e-4) and fp32 JVP through ppl(): the two values, the means, the per-pair
     relative difference (jvp - fd) / fd (p1, median, p99), each run's wall time;
  b  the first --thread-pairs pairs again with torch.set_num_threads(1), against part a's (--threads): relative
     change of their mean, and the per-pair changes (median, p99, largest), for JVP and FD;
  c  the first --bf16-pairs pairs under bf16 autocast, JVP (precision='bf16') and FD (the library refuses bf16
     with FD, so the FD runs here inside torch.autocast), against fp32 JVP, with fp32 FD for contrast; how many
     pixels the two images of a pair share exactly in bf16 (first --same-pixel-pairs pairs); the four methods
     timed block by block (one run);
  d  seconds per pair of fp32 FD, fp32 JVP and (--speed-bf16) bf16 JVP on the first --speed-pairs pairs,
     interleaved, --reps repetitions (all ran in parts a-c already): min and median, ratios to fp32 FD.

Columns: model, distance, protocol, part, quantity, value, pairs, threads, cpus, loadavg (1-minute load when the
row was written: other work on the machine slows every stage), note.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import statistics
import sys
import time
import warnings

import lpips
import numpy as np
import torch

import ganeval
from ganeval.features.lpips import LPIPSDistance
from ganeval.features.synth import synth_lpips
from ganeval.metrics import sampling as streams
from ganeval.metrics.ppl import distance_input, lerp, ppl, ppl_distances, ppl_jvp_distances, slerp
from ganeval.utils import atomic_write

MODELS = ("synthfaces-stylegan2", "random-stylegan2-128")
SEED = 0
FIELDS = ("model", "distance", "protocol", "part", "quantity", "value", "pairs", "threads", "cpus", "loadavg", "note")


def build(model: str):
    """(G, distance, protocol name, protocol settings) of one benchmark model."""
    if model == "synthfaces-stylegan2":
        G = ganeval.load_generator(model)
        return G, synth_lpips("cpu"), "ppl2_wend_synth", dict(space="w", sampling="end", crop=False)
    torch.manual_seed(0)
    G = ganeval.build_generator("stylegan2", 128, channel_base=8192, channel_max=128, z_dim=128, w_dim=128,
                                mapping_depth=8)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        net = lpips.LPIPS(net="vgg", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    return G, LPIPSDistance(net), "ppl_zfull", dict(space="z", sampling="full", crop=True)


def block_pairs(G, n: int, sampling: str):
    """The first n pairs of ppl(seed=0), block by block: (z0, z1, t) after G's noise is drawn as ppl() draws it."""
    for b, start, stop in streams.blocks(n):
        G.redraw_noise_(streams.block_generator(SEED, "ppl/noise", b))
        z0 = streams.normal(SEED, "ppl/z0", start, stop, G.z_dim)
        z1 = streams.normal(SEED, "ppl/z1", start, stop, G.z_dim)
        t = streams.uniform(SEED, "ppl/t", start, stop) * (1.0 if sampling == "full" else 0.0)
        yield z0, z1, t


def fd_bf16(G, z0, z1, t, kw: dict) -> torch.Tensor:
    """The finite difference under bf16 autocast, which ppl() refuses: here only to show why."""
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return ppl_distances(G, z0, z1, t, **proto_kw(kw))


@torch.no_grad()
def same_pixels_bf16(G, z0, z1, t, space: str, crop: bool, epsilon: float = 1e-4) -> float:
    """Share of pixels equal between the two images of each pair under bf16 autocast (ppl_distances' images)."""
    with torch.autocast("cpu", dtype=torch.bfloat16):
        if space == "w":
            w0, w1 = G.mapping(torch.cat([z0, z1])).chunk(2)
            wa, wb = lerp(w0, w1, t), lerp(w0, w1, t + epsilon)
        else:
            wa, wb = G.mapping(torch.cat([slerp(z0, z1, t), slerp(z0, z1, t + epsilon)])).chunk(2)
        img = distance_input(G.synthesis(torch.cat([wa, wb]), noise_mode="const").float(), crop, "tf",
                             G.img_resolution)
    ia, ib = img.chunk(2)
    return float((ia == ib).float().mean())


def quantiles(x: np.ndarray) -> dict:
    return dict(p1=float(np.quantile(x, 0.01)), median=float(np.median(x)), p99=float(np.quantile(x, 0.99)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=MODELS, default=MODELS[0])
    ap.add_argument("--pairs", type=int, default=1000)
    ap.add_argument("--thread-pairs", type=int, default=1000)
    ap.add_argument("--bf16-pairs", type=int, default=256)
    ap.add_argument("--same-pixel-pairs", type=int, default=64)
    ap.add_argument("--speed-pairs", type=int, default=16)
    ap.add_argument("--speed-bf16", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    ap.add_argument("--append", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    G, dist, protocol, proto = build(args.model)
    G = G.eval().requires_grad_(False)
    space, sampling, crop = proto["space"], proto["sampling"], proto["crop"]
    kw = dict(distance=dist, **proto)
    rows: list[dict] = []

    def row(part, quantity, value, pairs, note="", threads=None):
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        rows.append(dict(model=args.model, distance=dist.name, protocol=protocol, part=part, quantity=quantity,
                         value=value, pairs=pairs, threads=threads or args.threads, cpus=os.cpu_count(),
                         loadavg=round(load, 2), note=note))
        print(f"# {part} {quantity}: {value:.6g}", file=sys.stderr)

    # (a) Agreement over --pairs pairs, through the metric itself.
    print(f"# {args.model}: part a", file=sys.stderr)
    run = dict(num_samples=args.pairs, seed=SEED, bootstrap=0, return_distances=True, **kw)
    fd, d_fd = ppl(G, method="fd", **run)
    jvp, d_jvp = ppl(G, method="jvp", **run)
    rel = d_jvp / d_fd - 1
    n = args.pairs
    row("a", "ppl value (P1-P99 filtered mean), fd fp32", fd["value"][0], n, "epsilon 1e-4")
    row("a", "ppl value (P1-P99 filtered mean), jvp fp32", jvp["value"][0], n)
    row("a", "value jvp / fd - 1", jvp["value"][0] / fd["value"][0] - 1, n)
    row("a", "mean of all distances jvp / fd - 1", d_jvp.mean() / d_fd.mean() - 1, n)
    for k, v in quantiles(rel).items():
        row("a", f"per-pair jvp / fd - 1, {k}", v, n)
    row("a", "per-pair |jvp / fd - 1|, median", float(np.median(np.abs(rel))), n)
    row("a", "wall time fd fp32, s per pair", fd["time_s"][0] / n, n, "one run")
    row("a", "wall time jvp fp32, s per pair", jvp["time_s"][0] / n, n, "one run")

    # (b) One thread against --threads, on the first --thread-pairs pairs.
    nb = min(args.thread_pairs, n)
    print(f"# {args.model}: part b", file=sys.stderr)
    torch.set_num_threads(1)
    for method, base in (("jvp", d_jvp), ("fd", d_fd)):
        _, d1 = ppl(G, method=method, **{**run, "num_samples": nb})
        row("b", f"{method}: mean of distances, 1 thread / {args.threads} threads - 1",
            d1.mean() / base[:nb].mean() - 1, nb, threads=1)
        change = np.abs(d1 / base[:nb] - 1)
        for k, v in (("median", np.median(change)), ("p99", np.quantile(change, 0.99)), ("largest", change.max())):
            row("b", f"{method}: per-pair |1 thread / {args.threads} threads - 1|, {k}", float(v), nb, threads=1)
    torch.set_num_threads(args.threads)

    # (c) bf16 autocast on the first --bf16-pairs pairs, against fp32 JVP (part a's), timed side by side.
    nc = min(args.bf16_pairs, n)
    print(f"# {args.model}: part c", file=sys.stderr)
    methods = {
        "fd fp32": lambda z0, z1, t: ppl_distances(G, z0, z1, t, **proto_kw(kw)),
        "jvp fp32": lambda z0, z1, t: ppl_jvp_distances(G, z0, z1, t, **proto_kw(kw)),
        "jvp bf16": lambda z0, z1, t: ppl_jvp_distances(G, z0, z1, t, precision="bf16", **proto_kw(kw)),
        "fd bf16": lambda z0, z1, t: fd_bf16(G, z0, z1, t, kw),
    }
    out = {m: [] for m in methods}
    secs = dict.fromkeys(methods, 0.0)
    same, n_same = 0.0, 0
    for z0, z1, t in block_pairs(G, nc, sampling):
        for m, fn in methods.items():
            t0 = time.perf_counter()
            out[m].append(fn(z0, z1, t))
            secs[m] += time.perf_counter() - t0
        if n_same < args.same_pixel_pairs:
            same += same_pixels_bf16(G, z0, z1, t, space, crop) * len(t)
            n_same += len(t)
    d = {m: torch.cat(v).double().numpy() for m, v in out.items()}
    ref = d_jvp[:nc]
    row("c", "check: largest |fp32 jvp of these inputs / part a's - 1|", float(np.abs(d["jvp fp32"] / ref - 1).max()),
        nc, "the same samples as ppl()")
    for m in ("jvp bf16", "fd bf16", "fd fp32"):
        note = "eps 1e-4" if m.startswith("fd") else ""
        row("c", f"mean of distances, {m} / jvp fp32 - 1", d[m].mean() / ref.mean() - 1, nc, note)
        for k, v in quantiles(d[m] / ref - 1).items():
            row("c", f"per-pair {m} / jvp fp32 - 1, {k}", v, nc, note)
    row("c", "pairs with fd bf16 distance exactly 0", float((d["fd bf16"] == 0).mean()), nc, "share of pairs")
    row("c", "pixels equal in the two images of a pair, bf16", same / n_same, n_same, "share of pixels")
    for m, sec in secs.items():
        row("c", f"{m}: s per pair", sec / nc, nc, "one run, the four methods block by block")
        if m != "fd fp32":
            row("c", f"{m} / fd fp32 time", sec / secs["fd fp32"], nc, "one run")

    # (d) Speed on the first --speed-pairs pairs, the methods interleaved, --reps times. Every method has run in
    # parts a-c already, so no warm-up is needed (the bf16 ones are slow on a CPU without bf16 instructions).
    nd = min(args.speed_pairs, n)
    print(f"# {args.model}: part d", file=sys.stderr)
    inputs = list(block_pairs(G, nd, sampling))   # noise of the last block stays drawn; the timings need no more
    methods = {m: fn for m, fn in methods.items() if m in ("fd fp32", "jvp fp32") or (m == "jvp bf16"
                                                                                       and args.speed_bf16)}
    times: dict[str, list[float]] = {m: [] for m in methods}
    for _ in range(args.reps):
        for m, fn in methods.items():
            t0 = time.perf_counter()
            for z0, z1, t in inputs:
                fn(z0, z1, t)
            times[m].append((time.perf_counter() - t0) / nd)
    base_min, base_med = min(times["fd fp32"]), statistics.median(times["fd fp32"])
    for m, ts in times.items():
        note = f"{args.reps} repetitions: " + " ".join(f"{x:.4g}" for x in ts)
        row("d", f"{m}: s per pair, min", min(ts), nd, note)
        row("d", f"{m}: s per pair, median", statistics.median(ts), nd, note)
        if m != "fd fp32":
            row("d", f"{m} / fd fp32 time, min", min(ts) / base_min, nd)
            row("d", f"{m} / fd fp32 time, median", statistics.median(ts) / base_med, nd)

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS)
    if not (args.append and args.out and os.path.exists(args.out)):
        w.writeheader()
    w.writerows(rows)
    print(buf.getvalue(), end="")
    if args.out:
        old = open(args.out).read() if args.append and os.path.exists(args.out) else ""
        with atomic_write(args.out, suffix=".csv") as tmp:
            with open(tmp, "w") as f:
                f.write(old + buf.getvalue())


def proto_kw(kw: dict) -> dict:
    """The settings of ppl_distances / ppl_jvp_distances out of ppl()'s (no sampling: t is given)."""
    return {k: v for k, v in kw.items() if k != "sampling"}


if __name__ == "__main__":
    main()
