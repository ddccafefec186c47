"""The LS SVM stage: the batched Newton solver against liblinear as ganeval runs it, as CSV rows.

    .venv/bin/python benchmarks/ls_svm.py [--parts timing,agreement,models] [--reps 3] [--out FILE]

Parts (each prints tidy rows: part, data, space, attr, solver, quantity, value, note):

* timing: synthetic data at protocol size (200,000 samples, 512-d, 40 attributes; per attribute the
  100,000 most confident are kept, as separability prunes), labels from a noisy linear rule with
  offsets (unbalanced attributes). Per repetition, side by side: the batched solver on all 40 attributes
  (separability._fit_space_batched: solve + predictions, one call) and --liblinear-fits of the 40
  liblinear fits as separability runs them (_fit_all: LinearSVC with the 2019 defaults, seeded as in a
  run, in --jobs worker processes). One liblinear fit takes minutes here, so a full 40-fit repetition
  would take hours: its 40-fit time is extrapolated as wall time × 40 / fits (every 2019 fit at this
  size runs its 1000 epochs, so fits cost alike), and the rows say so.
  For context, liblinear's own primal Newton solver (LinearSVC(dual=False), tol 1e-8: converged, not
  the protocol's solver) is timed on all 40 attributes in the same repetitions.
* agreement: predictions on the kept samples of the batched solver against (a) converged liblinear
  (those primal fits) and (b) the 2019 fits of the timing part plus --reference-fits more; per
  attribute, and pooled over attributes.
* models: LS of the bundled models (ganeval.metrics.separability, --ls-samples samples, all 40
  attributes, bundled classifiers) under both solvers.
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
import platform
import statistics
import sys
import time
import warnings

import numpy as np
import sklearn
import torch
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

import ganeval
from ganeval.metrics import sampling as streams
from ganeval.metrics.separability import (
    _fit_all,
    _fit_space_batched,
    conditional_entropy,
    confidence_and_labels,
    joint_table,
    separability,
)

FIELDS = ["part", "data", "space", "attr", "solver", "quantity", "value", "note"]
MODELS = ["synthfaces-stylegan-map0", "synthfaces-stylegan-map1", "synthfaces-stylegan-map2",
          "synthfaces-stylegan-map8", "synthfaces-pggan"]


def synthetic(n: int, d: int, num_attrs: int, keep: int, seed: int = 0):
    """z-like latents and per-attribute kept sets and labels from logits = standardised projection + offset + noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float32)
    U = rng.standard_normal((d, num_attrs)).astype(np.float32)
    proj = X @ (U / np.linalg.norm(U, axis=0))
    logits = proj / proj.std(0) + rng.uniform(-1.5, 1.5, num_attrs).astype(np.float32) \
        + rng.standard_normal((n, num_attrs), dtype=np.float32)
    kept, labels = [], []
    for a in range(num_attrs):
        conf, lab = confidence_and_labels(logits[:, a])
        idx = np.argsort(-conf, kind="stable")[:keep]
        kept.append(idx)
        labels.append(lab[idx])
    return X, kept, labels


def converged_fit(X, idx, y):
    """liblinear's primal trust-region Newton solver run to tol 1e-8: the optimum of the LS objective."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        m = LinearSVC(dual=False, tol=1e-8, max_iter=10_000).fit(X[idx], y)
        return m.predict(X[idx]).astype(np.int8), int(np.max(m.n_iter_)), time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="timing,agreement,models")
    ap.add_argument("--samples", type=int, default=200_000)
    ap.add_argument("--keep", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--attrs", type=int, default=40)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--converged-reps", type=int, default=None,
                    help="time the converged liblinear fits (context) in the first N repetitions only (default: all)")
    ap.add_argument("--liblinear-fits", type=int, default=4, help="2019 fits timed per repetition")
    ap.add_argument("--reference-fits", type=int, default=4, help="further 2019 fits, for agreement (b) only")
    ap.add_argument("--jobs", type=int, default=2, help="liblinear worker processes (as n_jobs)")
    ap.add_argument("--ls-samples", type=int, default=20_000)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    rows = []

    def row(part, data, quantity, value, space=None, attr=None, solver=None, note=None):
        rows.append(dict(part=part, data=data, space=space, attr=attr, solver=solver, quantity=quantity,
                         value=value, note=note))
        label = " ".join(str(x) for x in (part, data, space, attr, solver) if x is not None)
        print(f"# {label} {quantity} = {value}", file=sys.stderr, flush=True)

    machine = (f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
               f"torch {torch.__version__} ({torch.get_num_threads()} threads), sklearn {sklearn.__version__}")
    row("machine", machine, "loadavg_1min_start", round(os.getloadavg()[0], 2))
    data = f"synthetic {args.samples // 1000}k x {args.dim}-d, keep {args.keep // 1000}k, {args.attrs} attributes"
    batched_pred, ref2019 = None, {}
    if parts & {"timing", "agreement"}:
        X, kept, labels = synthetic(args.samples, args.dim, args.attrs, args.keep)

    if "timing" in parts:
        k = args.liblinear_fits
        tasks = [(X, kept[a], labels[a], streams.block_seed(0, "ls/svm/0", a) % (2**31)) for a in range(k)]
        times = {"batched-newton": [], "liblinear-dual-2019": [], "liblinear-primal-converged": []}
        conv_reps = args.reps if args.converged_reps is None else max(1, min(args.converged_reps, args.reps))
        for rep in range(args.reps):
            t0 = time.perf_counter()
            res = _fit_space_batched(X, kept, labels, "cpu")
            times["batched-newton"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            lib = _fit_all(tasks, n_jobs=args.jobs)
            times["liblinear-dual-2019"].append((time.perf_counter() - t0) * args.attrs / k)
            if rep < conv_reps:
                t0 = time.perf_counter()
                conv = Parallel(n_jobs=args.jobs)(delayed(converged_fit)(X, kept[a], labels[a])
                                                  for a in range(args.attrs))
                times["liblinear-primal-converged"].append(time.perf_counter() - t0)
            print(f"# repetition {rep + 1}/{args.reps}: " + ", ".join(f"{s} {t[-1]:.1f} s" for s, t in times.items())
                  + f"; load {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
        batched_pred = [r["pred"] for r in res]
        ref2019 = {a: lib[a]["pred"] for a in range(k)}
        notes = {"batched-newton": f"all {args.attrs} attributes in one call (svm='batched'), predictions included",
                 "liblinear-dual-2019": f"{k} of the {args.attrs} fits per repetition in {args.jobs} worker "
                                        f"processes (_fit_all, as svm='liblinear' runs them); 40-fit time = wall x "
                                        f"{args.attrs}/{k}: a full repetition takes hours",
                 "liblinear-primal-converged": f"context, not an LS option: LinearSVC(dual=False, tol=1e-8), "
                                               f"{args.attrs} fits in {args.jobs} worker processes, in the first "
                                               f"{conv_reps} repetition(s)"}
        for solver, t in times.items():
            row("timing", data, "time_min_s", round(min(t), 2), solver=solver, note=notes[solver])
            row("timing", data, "time_median_s", round(statistics.median(t), 2), solver=solver)
            row("timing", data, "reps", len(t), solver=solver)
        for other in ("liblinear-dual-2019", "liblinear-primal-converged"):
            t_b, t_o = times["batched-newton"], times[other]
            row("timing", data, "speedup_min", round(min(t_o) / min(t_b), 1), solver=other,
                note=f"{other} time / batched-newton time, min over repetitions")
            row("timing", data, "speedup_median", round(statistics.median(t_o) / statistics.median(t_b), 1),
                solver=other, note=f"{other} time / batched-newton time, median over repetitions")
        row("timing", data, "newton_iter_max", max(r["n_iter"] for r in res), solver="batched-newton")
        row("timing", data, "converged_fits", sum(bool(r["converged"]) for r in res), solver="batched-newton",
            note=f"of {args.attrs}")
        row("timing", data, "iter_max", max(f["n_iter"] for f in lib), solver="liblinear-dual-2019",
            note="1000 = stopped at max_iter (ConvergenceWarning)")
        row("timing", data, "iter_max", max(c[1] for c in conv), solver="liblinear-primal-converged")
        row("timing", data, "loadavg_1min_end", round(os.getloadavg()[0], 2))

    if "agreement" in parts:
        if batched_pred is None:
            batched_pred = [r["pred"] for r in _fit_space_batched(X, kept, labels, "cpu")]
            conv = Parallel(n_jobs=args.jobs)(delayed(converged_fit)(X, kept[a], labels[a])
                                              for a in range(args.attrs))
        extra = range(len(ref2019), len(ref2019) + args.reference_fits)
        more = _fit_all([(X, kept[a], labels[a], streams.block_seed(0, "ls/svm/0", a) % (2**31)) for a in extra],
                        n_jobs=args.jobs) if args.reference_fits else []
        ref2019.update(zip(extra, (f["pred"] for f in more)))
        same_conv, same_2019, conv_vs_2019 = [], [], []
        for a in range(args.attrs):
            pc, it, seconds = conv[a]
            same_conv.append((batched_pred[a] == pc).sum())
            row("agreement", data, "agree_with_converged", float(np.mean(batched_pred[a] == pc)), attr=a,
                solver="batched-newton", note=f"liblinear primal tol 1e-8: {it} iterations")
            row("agreement", data, "entropy_bits", conditional_entropy(joint_table(batched_pred[a], labels[a])),
                attr=a, solver="batched-newton")
            row("agreement", data, "entropy_bits", conditional_entropy(joint_table(pc, labels[a])), attr=a,
                solver="liblinear-primal-converged")
            if a in ref2019:
                p19 = ref2019[a]
                same_2019.append((batched_pred[a] == p19).sum())
                conv_vs_2019.append((pc == p19).sum())
                row("agreement", data, "agree_with_2019", float(np.mean(batched_pred[a] == p19)), attr=a,
                    solver="batched-newton")
                row("agreement", data, "entropy_bits", conditional_entropy(joint_table(p19, labels[a])), attr=a,
                    solver="liblinear-dual-2019")
        n = args.keep
        row("agreement", data, "agree_with_converged_pooled", float(np.sum(same_conv) / (n * args.attrs)),
            solver="batched-newton", note=f"{args.attrs} attributes x {n} kept samples")
        row("agreement", data, "agree_with_converged_min", float(np.min(same_conv) / n), solver="batched-newton",
            note="the worst attribute")
        if same_2019:
            k2 = len(same_2019)
            row("agreement", data, "agree_with_2019_pooled", float(np.sum(same_2019) / (n * k2)),
                solver="batched-newton", note=f"attributes 0-{k2 - 1} (a 2019 fit takes minutes)")
            row("agreement", data, "agree_with_2019_pooled", float(np.sum(conv_vs_2019) / (n * k2)),
                solver="liblinear-primal-converged", note="the same comparison for converged liblinear: what the "
                                                          "2019 early stop leaves")

    if "models" in parts:
        for model in args.models.split(","):
            G = ganeval.load_generator(model)
            desc = f"{model}, {args.ls_samples} samples"
            tables = {}
            for svm in ("liblinear", "batched"):
                df = separability(G, attrs="all", num_samples=args.ls_samples, svm=svm, n_jobs=args.jobs,
                                  device="cpu", progress=False, bootstrap=0)
                tables[svm] = df
                for _, r in df[df.attr == "ALL"].iterrows():
                    solver, space = r["svm_solver"], r["space"]
                    ents = df[(df.space == space) & (df.attr != "ALL")]
                    row("models", desc, "ls", float(r["value"]), space=space, solver=solver)
                    row("models", desc, "svm_time_s", round(float(r["svm_time_s"]), 2), space=space, solver=solver,
                        note="liblinear: sum of the fits' times (in parallel workers); batched: the solve's wall time")
                    row("models", desc, "unconverged_fits", int((ents["svm_converged"] == False).sum()),  # noqa: E712
                        space=space, solver=solver)
                    row("models", desc, "failed_fits", int(ents["svm_failed"].sum()), space=space, solver=solver)
            a, b = (t[t.attr != "ALL"].set_index(["space", "attr"])["value"] for t in tables.values())
            for space in a.index.get_level_values(0).unique():
                row("models", desc, "max_abs_entropy_diff_bits", float((a[space] - b[space]).abs().max()),
                    space=space, note="over the 40 attributes, batched vs liblinear")

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    print(buf.getvalue(), end="")
    if args.out:
        with open(args.out, "w") as f:
            f.write(buf.getvalue())


if __name__ == "__main__":
    main()
