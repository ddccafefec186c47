"""NVIDIA's 40 CelebA-HQ attribute classifiers evaluated as one stacked network vs one classifier at a time.

ganeval holds the 40 D_basic networks side by side (grouped convolutions, ganeval/features/nvidia_classifiers.py);
the reference (NVlabs/stylegan metrics/linear_separability.py) runs 40 separate networks one after another. Both
are timed here on the same images with random weights of NVIDIA's architecture (D_basic, fmap_base 8192,
fmap_max 512, minibatch-stddev groups of 4) and the outputs compared. Prints CSV rows:

    python benchmarks/nvidia_classifiers.py --resolution 64 --batch 64 --repeat 3 --threads 2

The classifiers take 256 px images; on a 2-core CPU one stacked pass over 64 images at 256 px takes minutes, so
the default measures at 64 px (the same networks with fewer blocks; the ratio is what is compared).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time

import torch

from ganeval.data.attributes import NVIDIA_ATTRS
from ganeval.features.nvidia_classifiers import NvidiaAttributeClassifiers


def build(resolution: int, seed: int = 0) -> NvidiaAttributeClassifiers:
    cfg = dict(resolution=resolution, num_channels=3, fmap_base=8192, fmap_max=512, mbstd_group_size=4,
               mbstd_num_features=1, fused_scale="auto", blur_filter=[])
    clf = NvidiaAttributeClassifiers(cfg, list(NVIDIA_ATTRS)).eval().requires_grad_(False)
    g = torch.Generator().manual_seed(seed)
    for p in clf.parameters():
        p.copy_(torch.randn(p.shape, generator=g) * (2 / max(1, p[0].numel())) ** 0.5)
    return clf


@torch.no_grad()
def run(clf: NvidiaAttributeClassifiers, x: torch.Tensor, images_per_pass: int, attrs_per_pass: int):
    clf.images_per_pass, clf.attrs_per_pass = images_per_pass, attrs_per_pass
    t0 = time.perf_counter()
    y = clf(x)
    return y, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    clf = build(args.resolution)
    x = torch.randn(args.batch, 3, args.resolution, args.resolution, generator=torch.Generator().manual_seed(1))
    # Images go through in blocks of 8 (two minibatch-stddev groups) in every arm: 40 networks' activations of a
    # whole batch at once would not fit in memory. The arms differ in how many networks run per pass.
    arms = {"stacked, 40 networks per pass": (8, 40), "stacked, 8 networks per pass (the default)": (8, 8),
            "one by one (the reference's loop)": (8, 1)}
    run(clf, x[:4], 4, 40)   # warm-up
    times, outputs = {}, {}
    for _ in range(args.repeat):   # interleaved, so drifts of the machine hit every arm alike
        for name, (ipp, app) in arms.items():
            y, dt = run(clf, x, ipp, app)
            times.setdefault(name, []).append(dt)
            outputs[name] = y
    ref = outputs["one by one (the reference's loop)"]
    loop_median = statistics.median(times["one by one (the reference's loop)"])
    w = csv.writer(sys.stdout)
    w.writerow(["arm", "resolution", "batch", "threads", "min_s", "median_s", "images_per_s", "speedup_vs_loop",
                "max_abs_diff_vs_loop"])
    for name, ts in times.items():
        med = statistics.median(ts)
        w.writerow([name, args.resolution, args.batch, args.threads, f"{min(ts):.3f}", f"{med:.3f}",
                    f"{args.batch / med:.2f}", f"{loop_median / med:.2f}",
                    f"{(outputs[name] - ref).abs().max().item():.2e}"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
