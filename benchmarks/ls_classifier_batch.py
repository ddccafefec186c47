"""LS classifier stage: logits and throughput of the bundled attribute classifiers per batch size, as CSV rows.

    .venv/bin/python benchmarks/ls_classifier_batch.py [--threads 2] [--reps 5] [--out FILE]

Generates --images images once with a bundled generator (64 px, as LS feeds them: float, [-1, 1]), then
classifies all of them in batches of each size, the sizes interleaved within every repetition so they
share the machine's load (side by side). Rows: one per (threads, batch): seconds for all images (min and
median over the repetitions), images/s at the min, the ratio to batch 16 (min to min, median to median),
whether the logits are bit-identical to batch 16 and the largest absolute difference, the 1-minute load.
"""

from __future__ import annotations

import os

# Sleeping rather than spinning OpenMP threads, as the test suite runs (tests/conftest.py): on a shared,
# loaded 2-core machine spinning threads wait for descheduled ones and small torch ops slow down many
# times over. Must be set before torch is imported; an explicit OMP_WAIT_POLICY wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import csv
import io
import statistics
import sys
import time

import torch

import ganeval
from ganeval.features.attributes import load_classifiers
from ganeval.images import to_rgb
from ganeval.metrics import sampling as streams


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="2,1", help="comma list of torch thread counts")
    ap.add_argument("--batches", default="16,64,256,1024")
    ap.add_argument("--images", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--generator", default="synthfaces-stylegan-map8")
    ap.add_argument("--classifiers", default="synthfaces-classifiers")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    G = ganeval.load_generator(args.generator).eval()
    clf = load_classifiers(args.classifiers)
    images = []
    with torch.no_grad():
        for b, start, stop in streams.blocks(args.images):
            z = streams.normal(0, "gen/z", start, stop, G.z_dim)
            with streams.seeded_global_rng(0, "gen/noise", b):
                images.append(to_rgb(G.synthesis(G.mapping(z), noise_mode="random").float()))
    images = torch.cat(images)
    rows = []
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        times = {b: [] for b in batches}
        logits = {}
        with torch.no_grad():
            for b in batches:
                clf(images[:b])  # warm-up: allocator and oneDNN primitive caches
            for _ in range(args.reps):
                for b in batches:
                    t0 = time.perf_counter()
                    logits[b] = torch.cat([clf(images[i:i + b]) for i in range(0, len(images), b)])
                    times[b].append(time.perf_counter() - t0)
        base = times[batches[0]]
        for b in batches:
            t = times[b]
            diff = float((logits[b] - logits[batches[0]]).abs().max())
            rows.append(dict(classifiers=args.classifiers, resolution=clf.resolution, images=len(images),
                             threads=threads, batch=b, reps=args.reps, min_s=round(min(t), 4),
                             median_s=round(statistics.median(t), 4), img_per_s=round(len(images) / min(t), 1),
                             speedup_min=round(min(base) / min(t), 3),
                             speedup_median=round(statistics.median(base) / statistics.median(t), 3),
                             identical=bool(torch.equal(logits[b], logits[batches[0]])), max_abs_diff=diff,
                             loadavg=round(os.getloadavg()[0], 2)))
            print(f"# threads {threads} batch {b}: {len(images) / min(t):.0f} img/s", file=sys.stderr)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    print(buf.getvalue(), end="")
    if args.out:
        with open(args.out, "w") as f:
            f.write(buf.getvalue())


if __name__ == "__main__":
    main()
