"""One synthesis pass of StyleGAN3-T (and -R) next to StyleGAN2 on the CPU, as CSV rows on stdout (and --out FILE).

    .venv/bin/python benchmarks/stylegan3_speed.py [--resolution 256] [--batch 2] [--repeat 3] [--threads 2]
                                                  [--reduced] [--out benchmarks/results/stylegan3_speed.csv]

Random weights (speed does not depend on them), eval mode, no autograd; ws are computed once, so only
G.synthesis is timed: one warm-up pass, then --repeat timed passes. Channel configs are the papers' (StyleGAN2
config F: channel_base 32768, channel_max 512; StyleGAN3-T: the same; StyleGAN3-R: 65536 and 1024), or with
--reduced a quarter of channel_base and channel_max for all three. Columns: arch, cfg, resolution, batch,
params, channel_base, channel_max, threads, repeat, min_s and median_s (seconds per pass), img_per_s (batch /
median), loadavg (1-minute load when the row finished: other work on the machine slows every row).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import statistics
import sys
import time

import torch

import ganeval

NETWORKS = [  # (label, arch, options)
    ("stylegan2", "stylegan2", dict(channel_base=32768, channel_max=512)),
    ("stylegan3-t", "stylegan3", dict(cfg="t", channel_base=32768, channel_max=512)),
    ("stylegan3-r", "stylegan3", dict(cfg="r", channel_base=65536, channel_max=1024)),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reduced", action="store_true", help="a quarter of the papers' channel_base and channel_max")
    ap.add_argument("--only", default=None, help="comma-separated labels (stylegan2, stylegan3-t, stylegan3-r)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for label, arch, options in NETWORKS:
        if args.only and label not in args.only.split(","):
            continue
        if args.reduced:
            options = {**options, "channel_base": options["channel_base"] // 4,
                       "channel_max": options["channel_max"] // 4}
        torch.manual_seed(0)
        G = ganeval.build_generator(arch, args.resolution, **options).eval().requires_grad_(False)
        ws = G.mapping(torch.randn(args.batch, G.z_dim))
        times = []
        with torch.no_grad():
            G.synthesis(ws, noise_mode="const")   # warm-up
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                G.synthesis(ws, noise_mode="const")
                times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        rows.append(dict(arch=arch, cfg=label, resolution=args.resolution, batch=args.batch, params=G.num_params(),
                         channel_base=options["channel_base"], channel_max=options["channel_max"],
                         threads=args.threads, repeat=args.repeat, min_s=round(min(times), 3),
                         median_s=round(median, 3), img_per_s=round(args.batch / median, 4), loadavg=round(load, 2)))
        print(f"{label}: min {min(times):.2f} s, median {median:.2f} s per pass of {args.batch}", file=sys.stderr)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    sys.stdout.write(buf.getvalue())
    if args.out:
        with open(args.out, "w", newline="") as f:
            f.write(buf.getvalue())


if __name__ == "__main__":
    main()
