"""CPU throughput of every metric stage at 64x64, as CSV rows on stdout (and --out FILE).

    .venv/bin/python benchmarks/metrics_cpu.py [--threads 2] [--out benchmarks/results/metrics_cpu.csv]

Stand-in (random) weight files are written to a temporary folder: the speed of a network does not
depend on its weights. Columns: stage, unit, rate (units per second), seconds (per call), n (units per call), threads,
cpus, loadavg (1-minute load when the stage finished: other work on the machine slows every stage), note.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import time

import numpy as np
import torch


def timed(fn, repeat=3):
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tmp = tempfile.mkdtemp(prefix="ganeval-bench-")
    os.environ["GANEVAL_WEIGHTS"] = tmp
    os.environ["GANEVAL_CACHE"] = os.path.join(tmp, "cache")

    import warnings

    import ganeval
    from ganeval.features.inception import load_inception, write_standin_weights
    from ganeval.features.lpips import load_lpips_vgg16
    from ganeval.images import to_uint8
    from ganeval.metrics import FeatureStats, frechet, frechet_distance, kernel_distance
    from ganeval.metrics import sampling as streams
    from ganeval.metrics.ppl import ppl_distances
    from ganeval.metrics.separability import fit_svm

    warnings.simplefilter("ignore")  # sklearn's ConvergenceWarning, torchvision's deprecations
    rows = []
    n = args.batch

    def row(stage, unit, count, seconds, note=""):
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        rows.append(dict(stage=stage, unit=unit, rate=round(count / seconds, 3), seconds=round(seconds, 4), n=count,
                         threads=args.threads, cpus=os.cpu_count(), loadavg=round(load, 2), note=note))
        print(f"# {stage}: {count / seconds:.2f} {unit}/s", file=sys.stderr)

    torch.manual_seed(0)
    G = ganeval.build_generator("stylegan2", 64, channel_base=8192, channel_max=256, z_dim=512, w_dim=512,
                                mapping_depth=8).eval()
    desc = "stylegan2 64px channel_base=8192 channel_max=256 (%.1fM params)" % (G.num_params() / 1e6)

    # Generator: one block of samples, per-sample random noise (FID, LS).
    z = streams.normal(0, "gen/z", 0, n, G.z_dim)
    with torch.no_grad():
        def gen():
            with streams.seeded_global_rng(0, "gen/noise", 0):
                return G.synthesis(G.mapping(z), noise_mode="random")
        row("generator (synthesis, random noise)", "img", n, timed(gen), desc)
        img = gen()

    # PPL pairs with a pixel distance: generator cost of PPL (2 images per pair).
    t = torch.zeros(n)
    z0, z1 = streams.normal(0, "ppl/z0", 0, n, G.z_dim), streams.normal(0, "ppl/z1", 0, n, G.z_dim)
    row("ppl pairs, mse distance (w, no crop)", "pair", n,
        timed(lambda: ppl_distances(G, z0, z1, t, space="w", distance="mse")), desc)

    # LPIPS-VGG16 at 64 px.
    from torchvision.models.vgg import cfgs, make_layers

    torch.save({f"features.{k}": v for k, v in make_layers(cfgs["D"]).state_dict().items()},
               os.path.join(tmp, "vgg16-397923af.pth"))
    lp = load_lpips_vgg16("cpu")
    a, b = img, img + 0.01 * torch.randn_like(img)
    row("lpips-vgg16 at 64px", "pair", n, timed(lambda: lp(a, b)))
    row("ppl pairs, lpips-vgg16 (w, no crop)", "pair", n,
        timed(lambda: ppl_distances(G, z0, z1, t, space="w", distance=lp), repeat=2), desc)

    # Inception features from 64 px uint8 (resized to 299 inside).
    write_standin_weights(os.path.join(tmp, "weights-inception-2015-12-05-6726825d.pth"))
    inc = load_inception("cpu")
    u8 = to_uint8(img)
    row("inception-v3-compat features (64px uint8 -> 299)", "img", n, timed(lambda: inc(u8), repeat=2))

    # Streaming statistics, 2048-d, with and without 10 Poisson-bootstrap replicates.
    f64 = np.random.default_rng(0).normal(size=(64, 2048))
    for reps in (0, 10):
        fs = FeatureStats(num_replicates=reps)
        bw = np.ones((reps, 64)) if reps else None
        sec = timed(lambda fs=fs, bw=bw: fs.append(f64, bw))
        row(f"FeatureStats.append 2048-d, {reps} bootstrap replicates", "img", 64, sec)

    # Fréchet distance (scipy sqrtm) and KID at full size.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4096, 2048))
    s1 = np.cov(x[:2048], rowvar=False)
    s2 = np.cov(x[2048:] + 0.1, rowvar=False)
    sec = timed(lambda: frechet_distance(np.zeros(2048), s1, np.zeros(2048), s2), repeat=1)
    row("frechet_distance 2048-d (scipy sqrtm)", "call", 1, sec)
    root = frechet._sqrt_psd(s2)
    row("bootstrap replicate distance 2048-d (eigvalsh)", "call", 1,
        timed(lambda: frechet.frechet_with_root(np.zeros(2048), s1, np.zeros(2048), s2, root), repeat=1))
    g = rng.normal(size=(2000, 2048)).astype(np.float32)
    r = rng.normal(size=(2000, 2048)).astype(np.float32)
    row("kid 100 subsets x 1000 (2048-d)", "call", 1,
        timed(lambda: kernel_distance(g, r, num_subsets=100, max_subset_size=1000), repeat=1))

    # Attribute classifiers at 64 px (LS) and one SVM fit (scaled down: 10k x 512).
    try:
        from ganeval.features.attributes import AttributeClassifiers

        clf = AttributeClassifiers(resolution=64).eval()
        with torch.no_grad():
            row("attribute classifiers (40) at 64px", "img", n, timed(lambda: clf(img)))
    except ImportError:
        pass
    X = rng.normal(size=(10_000, 512))
    y = (X[:, :3].sum(1) + rng.normal(size=10_000) > 0).astype(int)
    sec = timed(lambda: fit_svm(X, y, 0), repeat=1)
    row("LinearSVC fit dual=True, 10k x 512 (LS: 80 fits of 100k x 512)", "fit", 1, sec)

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    print(buf.getvalue(), end="")
    if args.out:
        from ganeval.utils import atomic_write

        with atomic_write(args.out, suffix=".csv") as tmpf:
            open(tmpf, "w").write(buf.getvalue())


if __name__ == "__main__":
    main()
