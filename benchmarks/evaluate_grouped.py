"""One generation pass for several metrics against one pass each, and the memory of precision/recall at scale.
CSV rows on stdout (and --out FILE).

    .venv/bin/python benchmarks/evaluate_grouped.py [--samples 512] [--reps 3] [--pr-real 200000] [--pr-gen 50000]
                                                    [--out benchmarks/results/evaluate_grouped.csv]

Part 'grouped': `ganeval.evaluate(G, "fid50k_full,kid50k_full,pr50k3_full,is50k")` on the bundled
synthfaces-stylegan2 (64 px) with --samples generated images against a synthfaces reference of the same size,
against the four presets run one by one (`run_preset`), side by side in each repetition (order alternating);
reference statistics are computed once beforehand and cached, so both sides time the generated side only. The
feature nets are the presets' own architectures (Inception-v3, NVIDIA's VGG16) with random stand-in weights
(their speed does not depend on the weights). Rows: wall seconds of each side (min, median), their ratio, and a
check that the values agree bit for bit.

Part 'pr-memory': precision_recall on --pr-gen generated x --pr-real real random features of --pr-dim dimensions
with the default chunks (10,000 x 10,000): peak resident memory above the baseline (ru_maxrss) and wall time. The
working memory does not depend on the dimension beyond the feature arrays themselves, so the 4,096-d figure is
this measurement plus the features' size (knn.py states the formula).

Columns: part, quantity, value, samples, threads, cpus, loadavg (1-minute load when the row was written), note.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import statistics
import sys
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # as the tests: sleeping OpenMP threads on a shared CPU

import numpy as np  # noqa: E402
import torch  # noqa: E402

FIELDS = ["part", "quantity", "value", "samples", "threads", "cpus", "loadavg", "note"]
PRESETS = ["fid50k_full", "kid50k_full", "pr50k3_full", "is50k"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=512)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--parts", default="grouped,pr-memory")
    ap.add_argument("--pr-gen", type=int, default=50_000)
    ap.add_argument("--pr-real", type=int, default=200_000)
    ap.add_argument("--pr-dim", type=int, default=64)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []

    def row(part, quantity, value, samples, note=""):
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        rows.append(dict(part=part, quantity=quantity, value=value, samples=samples, threads=args.threads,
                         cpus=os.cpu_count(), loadavg=round(load, 2), note=note))
        print(f"# {part} {quantity}: {value:.6g} {note}", file=sys.stderr, flush=True)

    parts = args.parts.split(",")
    if "pr-memory" in parts:   # first, while the process is small
        pr_memory(args, row)
    if "grouped" in parts:
        grouped(args, row)

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    sys.stdout.write(buf.getvalue())
    if args.out:
        with open(args.out, "w") as f:
            f.write(buf.getvalue())


def grouped(args, row) -> None:
    tmp = tempfile.mkdtemp(prefix="ganeval-bench-")
    os.environ["GANEVAL_WEIGHTS"] = tmp
    os.environ["GANEVAL_CACHE"] = os.path.join(tmp, "cache")
    os.environ["GANEVAL_ALLOW_UNVERIFIED_WEIGHTS"] = "1"
    import warnings

    import ganeval
    from ganeval.data import open_dataset
    from ganeval.features import inception, vgg16
    from ganeval.metrics import evaluate, run_preset
    from ganeval.metrics.presets import preset_reference_stats

    warnings.simplefilter("ignore")
    inception.write_standin_weights(os.path.join(tmp, "weights-inception-2015-12-05-6726825d.pth"))
    torch.manual_seed(0)
    torch.save(vgg16.VGG16FC7().state_dict(), os.path.join(tmp, "vgg16-397923af.pth"))
    G = ganeval.load_generator("synthfaces-stylegan2")
    n = args.samples
    ref = open_dataset(f"synthfaces:{n}?res=64", resolution=64)
    for p in PRESETS:
        preset_reference_stats(p, ref, G.img_resolution, progress=False)
    kw = dict(num_samples=n, bootstrap=0, seed=0, progress=False)

    def together():
        return evaluate(G, PRESETS, reference=ref, **kw)

    def apart():
        import pandas as pd

        return pd.concat([run_preset(p, G, reference=ref if p != "is50k" else None, **kw) for p in PRESETS],
                         ignore_index=True)

    # Warm-up: build and cache both networks (reading the 528 MB VGG16 file is not part of either side).
    for p in PRESETS:
        run_preset(p, G, reference=ref if p != "is50k" else None, **{**kw, "num_samples": 16})
    times = {"grouped": [], "one by one": []}
    values = {}
    for r in range(args.reps):
        order = [("grouped", together), ("one by one", apart)]
        for label, fn in (order if r % 2 == 0 else order[::-1]):
            t0 = time.perf_counter()
            df = fn()
            times[label].append(time.perf_counter() - t0)
            values[label] = df["value"].to_numpy(float)
            row("grouped", f"wall s, {label}", times[label][-1], n, f"repetition {r + 1}")
    for label, t in times.items():
        row("grouped", f"wall s, {label}, min", min(t), n)
        row("grouped", f"wall s, {label}, median", statistics.median(t), n)
    row("grouped", "one by one / grouped, min", min(times["one by one"]) / min(times["grouped"]), n)
    row("grouped", "one by one / grouped, median",
        statistics.median(times["one by one"]) / statistics.median(times["grouped"]), n)
    same = bool(np.array_equal(values["grouped"], values["one by one"], equal_nan=True))
    row("grouped", "values identical (1 = bit for bit)", float(same), n, ", ".join(PRESETS))


def pr_memory(args, row) -> None:
    from ganeval.metrics.precision_recall import precision_recall

    g = torch.Generator().manual_seed(0)
    real = torch.randn(args.pr_real, args.pr_dim, generator=g).to(torch.float16)
    gen = (torch.randn(args.pr_gen, args.pr_dim, generator=g) * 1.1).to(torch.float16)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2   # GiB (ru_maxrss is in KiB on Linux)
    t0 = time.perf_counter()
    out = precision_recall(real, gen, k=3, device="cpu")
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    size = f"{args.pr_gen} x {args.pr_real} x {args.pr_dim}-d float16"
    row("pr-memory", "peak resident memory above baseline, GiB", peak - base, args.pr_gen, size)
    row("pr-memory", "feature arrays, GiB", (args.pr_real + args.pr_gen) * args.pr_dim * 2 / 1024 ** 3, args.pr_gen,
        "float16 as stored")
    row("pr-memory", "wall s", seconds, args.pr_gen, f"precision {out['precision']:.4f} recall {out['recall']:.4f}")


if __name__ == "__main__":
    main()
