"""Linear separability (LS), Karras et al., "A Style-Based Generator Architecture for GANs", CVPR 2019, §4.2.

Matches NVlabs/stylegan `metrics/linear_separability.py` (TF; never ported to the PyTorch
StyleGAN repositories). Protocol (docs/metrics.md, "Linear separability"):

* 200,000 samples z ~ N(0, I), no truncation, per-sample random noise; images box-downsampled to
  the classifiers' resolution (256 for NVIDIA's), float, neither clipped nor quantised;
* per attribute: p = softmax([l, -l]) of the classifier logit l; keep the 100,000 samples with the
  largest max(p) (stable sort); label = argmax(p) (0 when l >= 0);
* sklearn LinearSVC with its 2019 defaults (``dual=True`` given explicitly: newer sklearn defaults to
  'auto', another solver), fitted and evaluated on the same kept set, once on the raw z and once on
  w (last layer of ws); if the fit raises (e.g. one class only), predictions = labels, exactly as the
  reference's bare ``except`` ("assume perfect prediction"), and the row says so;
* or, with ``svm='batched'``, the same objective minimised to convergence for all attributes of a space
  in one call (svm.py, a primal Newton method); the 2019 fits usually stop at max_iter, so the two
  differ by what that early stop leaves. liblinear stays the default: it is the reference's solver;
* 2x2 joint table (rows: SVM output X, columns: label Y) -> H(Y|X) = H(Y) - I(X;Y) in bits, clipped at 0;
* score = 2^(sum of H over attributes), for z and for w (equals the paper's exp(sum H_nat)).

Determinism: liblinear's coordinate order is seeded per (seed, attribute, space); the reference
left it to the global RNG. The 2 x 40 fits run in parallel worker processes (never threads: see
`_fit_all`) and, under torchrun, are shared out over the processes of the job; every fit's row
reports its time (`svm_time_s`), iterations (`svm_iter`) and whether it converged: a fit that stops at
max_iter (sklearn's ConvergenceWarning) has `svm_converged=False` and a note. The batched solver
runs once per space (the spaces are shared out over torchrun processes) and `svm_solver` names the
solver in every row.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from .. import dist
from ..data.attributes import resolve_attrs
from ..errors import ConfigError, MetricError, NonFiniteError
from ..features.attributes import load_classifiers
from ..images import box_downsample, to_rgb
from ..models.generate import check_finite
from . import sampling as streams
from .common import Timer, prepare_generator
from .options import RunOptions
from .runner import run_chunks
from .stats import percentile_interval
from .svm import MAX_ITER as NEWTON_MAX_ITER
from .svm import fit_linear_svms, labels_and_mask
from .tables import make_table

SVM_MAX_ITER = 1000  # sklearn's default, then and now
# `svm=` option -> the `svm_solver` column.
SVM_SOLVERS = {"liblinear": "liblinear-dual-2019", "batched": "batched-newton"}


# ---------------------------------------------------------------------------------------------------------
# Information theory on a 2x2 table (the reference's prob_normalize / mutual_information / entropy).

def _entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def conditional_entropy(table) -> float:
    """H(Y|X) in bits of a joint table (axis 0: X = SVM output, axis 1: Y = label), as H(Y) - I(X;Y), >= 0."""
    p = np.asarray(table, dtype=np.float64)
    p = p / p.sum()
    px, py = p.sum(axis=1, keepdims=True), p.sum(axis=0, keepdims=True)
    nz = p > 0
    mutual_info = float((p[nz] * np.log2(p[nz] / (px * py)[nz])).sum())
    return max(0.0, _entropy_bits(py.ravel()) - mutual_info)  # can slip just below 0 in floating point


def joint_table(predictions, labels) -> np.ndarray:
    """p[r][c] = mean((prediction == r) & (label == c)) for r, c in {0, 1}."""
    pred, lab = np.asarray(predictions).astype(np.int64), np.asarray(labels).astype(np.int64)
    return np.bincount(2 * pred + lab, minlength=4).reshape(2, 2) / len(lab)


def confidence_and_labels(logits) -> tuple[np.ndarray, np.ndarray]:
    """max(softmax([l, -l])) and argmax, in float32 as the reference (ties at 1.0 keep index order)."""
    l = np.asarray(logits, dtype=np.float32)
    conf = (np.float32(1) / (np.float32(1) + np.exp(np.float32(-2) * np.abs(l)))).astype(np.float32)
    return conf, (l < 0).astype(np.int64)


# ---------------------------------------------------------------------------------------------------------
# SVM fits.

def fit_svm(X: np.ndarray, y: np.ndarray, random_state: int | None = None) -> dict:
    """LinearSVC (2019 defaults, dual=True) fitted and evaluated on (X, y); reference fallback on failure."""
    t0 = time.perf_counter()
    try:
        svm = LinearSVC(penalty="l2", loss="squared_hinge", dual=True, tol=1e-4, C=1.0, multi_class="ovr",
                        fit_intercept=True, intercept_scaling=1, class_weight=None, max_iter=SVM_MAX_ITER,
                        random_state=random_state)
        with warnings.catch_warnings():
            # Convergence is read from n_iter_ and reported in the rows instead (here, also in pool workers).
            warnings.simplefilter("ignore", ConvergenceWarning)
            svm.fit(X, y)
        pred = svm.predict(X).astype(np.int8)
        n_iter = int(np.max(svm.n_iter_))
        converged = n_iter < SVM_MAX_ITER
        return dict(pred=pred, time_s=time.perf_counter() - t0, converged=converged, failed=False, n_iter=n_iter,
                    note=None if converged else f"ConvergenceWarning: liblinear stopped at max_iter={SVM_MAX_ITER}")
    except Exception as e:  # noqa: BLE001 - the reference's bare `except:`, kept on purpose
        return dict(pred=np.asarray(y).astype(np.int8), time_s=time.perf_counter() - t0, converged=None,
                    failed=True, n_iter=None,
                    note=f"SVM fit failed ({type(e).__name__}: {str(e).splitlines()[0][:120]}); "
                         f"predictions = labels as in the reference")


def _fit_rows(X: np.ndarray, rows: np.ndarray, y: np.ndarray, random_state: int) -> dict:
    return fit_svm(X[rows], y, random_state)  # index inside the worker: one kept copy per running fit


def default_n_jobs() -> int:
    """At most 8 concurrent fits per process: each needs ~1.5 GB at protocol size (100k x 512, liblinear's
    copy); under torchrun the machine's cores are split between its processes."""
    return max(1, min(8, (os.cpu_count() or 1) // dist.local_world_size()))


# Below this many kept-sample x dimension entries per process, pool start-up costs more than the fits.
SERIAL_WORK = 2_000_000


def _fit_all(tasks: list[tuple], n_jobs: int | None) -> list[dict]:
    """Run the fits: shared out over the processes of a torchrun job, each in a pool of worker processes.

    Worker processes, not threads: sklearn's liblinear draws its coordinate order from one global
    Mersenne twister (sklearn/svm/src/newrand/newrand.h), which concurrent fits in threads of one
    process would share and interleave, so results would change from run to run. In a process, fits run
    one after another and each reseeds it: the same predictions as a serial loop. Large latent arrays are
    memory-mapped into the workers by joblib, not copied.
    """
    def fit_mine(mine: list[tuple]) -> list[dict]:
        jobs = n_jobs or default_n_jobs()
        work = sum(len(rows) * X.shape[1] for X, rows, _, _ in mine)
        if jobs == 1 or len(mine) <= 1 or work < SERIAL_WORK:
            return [_fit_rows(*t) for t in mine]

        return Parallel(n_jobs=jobs, prefer="processes")(delayed(_fit_rows)(*t) for t in mine)

    return dist.map_sharded(fit_mine, tasks)


def _fit_space_batched(X: np.ndarray, kept: list[np.ndarray], labels: list[np.ndarray], device) -> list[dict]:
    """All attributes of one space in one call of the batched Newton solver; one result per attribute as fit_svm's.

    An attribute liblinear would refuse keeps the reference's fallback, so both solvers fail on the same
    attributes: one class among its kept labels ("needs samples of at least 2 classes"), or a non-finite
    kept latent (sklearn's input check). Those attributes are left out of the solve and predict their
    labels. The solve's wall time (prediction included) is split evenly over the attributes it fitted,
    so a space's total is its wall time.
    """
    t0 = time.perf_counter()
    finite = np.isfinite(X).all(axis=1)
    results: list[dict | None] = [None] * len(kept)
    fitted = []
    for a, (idx, lab) in enumerate(zip(kept, labels)):
        if len(np.unique(lab)) < 2:
            reason = "one class only among the kept samples"
        elif not finite[idx].all():
            reason = "non-finite latents among the kept samples"
        else:
            fitted.append(a)
            continue
        results[a] = dict(pred=np.asarray(lab).astype(np.int8), time_s=0.0, converged=None, failed=True,
                          n_iter=None, note=f"SVM fit failed ({reason}, which liblinear refuses); "
                                        f"predictions = labels as in the reference")
    if fitted:
        Xf = X if finite.all() else np.where(finite[:, None], X, 0)  # rows only failed attributes keep
        y, mask = labels_and_mask(len(X), [kept[a] for a in fitted], [labels[a] for a in fitted])
        fit = fit_linear_svms(Xf, y, mask, device=device)
        decision = fit.decision_function(Xf).numpy()
        share = (time.perf_counter() - t0) / len(fitted)
        for j, a in enumerate(fitted):
            converged = bool(fit.converged[j])
            note = None if converged else (f"batched Newton stopped at max_iter={NEWTON_MAX_ITER}: "
                                           f"|grad f| = {float(fit.grad_norm[j]):.1e} |grad f(0)| > tol {fit.tol:g}")
            results[a] = dict(pred=(decision[kept[a], j] > 0).astype(np.int8), time_s=share, converged=converged,
                              failed=False, n_iter=int(fit.n_iter[j]), note=note)
    return results


def _fit_batched(spaces: dict[str, np.ndarray], kept, labels, device) -> dict[str, list[dict]]:
    """The batched solver for every space: the spaces are shared out over torchrun processes (one solve each)
    and every process receives all results, so 1 and N processes give the same table."""
    names = list(spaces)
    results = dist.map_sharded(lambda mine: [_fit_space_batched(spaces[s], kept, labels, device) for s in mine],
                               names)
    return dict(zip(names, results))


# ---------------------------------------------------------------------------------------------------------
# The pure core.

def check_svm(svm: str) -> str:
    """The `svm_solver` name of an `svm=` option; a ConfigError for any other value."""
    if svm not in SVM_SOLVERS:
        raise ConfigError(f"unknown svm '{svm}' (choose from: {', '.join(SVM_SOLVERS)})")
    return SVM_SOLVERS[svm]


def separability_from_predictions(z, w, logits, attr_names: list[str], num_keep: int, seed: int = 0,
                                  n_jobs: int | None = 1, bootstrap: int = 200, name: str = "ls",
                                  svm: str = "liblinear", device=None) -> pd.DataFrame:
    """LS rows from explicit latents z [N, z_dim], w [N, w_dim] (or None) and logits [N, A].

    One row per attribute and space (metric f'{name}_entropy', value = H(Y|X) in bits) and one total
    row per space (metric `name`, attr 'ALL', value = 2^sum H). Intervals: percentile bootstrap over
    the N samples (each replicate reweights the kept samples by their multiplicity in a resample of
    all N; the SVMs are not refitted). `svm`: 'liblinear' (the reference's LinearSVC, `n_jobs` worker
    processes) or 'batched' (all attributes of a space in one call of svm.fit_linear_svms on `device`,
    None: this process's CUDA device when present, else the CPU).
    """
    solver = check_svm(svm)
    logits = np.asarray(logits.detach().cpu() if torch.is_tensor(logits) else logits, dtype=np.float32)
    if logits.ndim == 1:
        logits = logits[:, None]
    n, num_attrs = logits.shape
    if len(attr_names) != num_attrs:
        raise ConfigError(f"{len(attr_names)} attribute names for {num_attrs} logit columns")
    if not 0 < num_keep <= n:
        raise ConfigError(f"num_keep must be in 1..{n}, got {num_keep}")
    spaces = {"z": z}
    if w is not None:
        spaces["w"] = w
    spaces = {k: np.ascontiguousarray(v.detach().cpu() if torch.is_tensor(v) else v, dtype=np.float32)
              for k, v in spaces.items()}

    # Prune the least confident samples, per attribute.
    kept, labels = [], []
    for a in range(num_attrs):
        conf, lab = confidence_and_labels(logits[:, a])
        idx = np.argsort(-conf, kind="stable")[:num_keep]
        kept.append(idx)
        labels.append(lab[idx])

    keys = [(space, a) for space in spaces for a in range(num_attrs)]
    if svm == "batched":
        by_space = _fit_batched(spaces, kept, labels, dist.device(device))
        fits = {(space, a): by_space[space][a] for space, a in keys}
    else:
        tasks = [(spaces[space], kept[a], labels[a], streams.block_seed(seed, f"ls/svm/{si}", a) % (2**31))
                 for si, space in enumerate(spaces) for a in range(num_attrs)]
        fits = dict(zip(keys, _fit_all(tasks, n_jobs)))
    max_iter = NEWTON_MAX_ITER if svm == "batched" else SVM_MAX_ITER

    # Bootstrap: multiplicities of a resample of all N samples, applied to every kept set.
    rng = np.random.default_rng(streams.block_seed(seed, "ls/bootstrap", 0))
    cells = {k: 2 * fits[k]["pred"].astype(np.int64) + labels[k[1]] for k in keys}
    boot_h = {k: np.empty(bootstrap) for k in keys}
    for r in range(bootstrap):
        mult = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        for k in keys:
            table = np.bincount(cells[k], weights=mult[kept[k[1]]], minlength=4).reshape(2, 2)
            boot_h[k][r] = conditional_entropy(table) if table.sum() > 0 else np.nan

    rows = []
    for space in spaces:
        hs = []
        for a in range(num_attrs):
            f = fits[(space, a)]
            h = conditional_entropy(joint_table(f["pred"], labels[a]))
            hs.append(h)
            lo, hi = percentile_interval(boot_h[(space, a)]) if bootstrap > 0 else (np.nan, np.nan)
            rows.append(dict(metric=f"{name}_entropy", value=h, ci_low=lo, ci_high=hi, space=space,
                             attr=attr_names[a], cond_entropy_bits=h,
                             svm_accuracy=float(np.mean(f["pred"] == labels[a])), num_kept=num_keep,
                             label_balance=float(np.mean(labels[a])), svm_time_s=f["time_s"],
                             svm_iter=f["n_iter"], svm_converged=f["converged"], svm_failed=f["failed"],
                             svm_note=f["note"], svm_solver=solver))
        total = float(np.sum(hs))
        if bootstrap > 0:
            reps = 2.0 ** np.sum([boot_h[(space, a)] for a in range(num_attrs)], axis=0)
            lo, hi = percentile_interval(reps)
        else:
            lo = hi = np.nan
        space_fits = [fits[(space, a)] for a in range(num_attrs)]
        failed = sum(f["failed"] for f in space_fits)
        unconverged = sum(f["converged"] is False for f in space_fits)
        notes = []
        if failed:
            notes.append(f"{failed} SVM fit(s) failed: predictions = labels as in the reference")
        if unconverged:
            notes.append(f"{unconverged} SVM fit(s) stopped at max_iter={max_iter}")
        rows.append(dict(metric=name, value=2.0 ** total, ci_low=lo, ci_high=hi, space=space, attr="ALL",
                         cond_entropy_bits=total,
                         svm_accuracy=float(np.mean([np.mean(f["pred"] == labels[a])
                                                     for a, f in enumerate(space_fits)])),
                         num_kept=num_keep, label_balance=None, svm_time_s=float(sum(f["time_s"] for f in space_fits)),
                         svm_iter=max((f["n_iter"] or 0) for f in space_fits), svm_converged=unconverged == 0,
                         svm_failed=failed > 0,
                         svm_note="; ".join(notes) or None, svm_solver=solver))
    ci_method = f"percentile-bootstrap({bootstrap}) over samples, SVMs not refitted" if bootstrap > 0 else None
    df = pd.DataFrame(rows)
    df["ci_method"] = ci_method
    return df


# ---------------------------------------------------------------------------------------------------------
# The metric on a generator.

# Images per classifier call when no batch size is given. The generator runs per block of 16 and pending
# blocks are classified once this many images have collected, so the classifier batch is free of the
# blocks; it changes no logit of batch-independent classifiers (NVIDIA's keep their groups of 4, as every
# batch is whole blocks). The bundled 64-px classifiers give bit-identical logits at 16 to 1024 images per
# call, and 16 ran fastest on a 2-core CPU: 728 images/s against 363 at 256 (benchmarks/ls_classifier_batch.py,
# benchmarks/results/2026-12-03-ls-svm.md; larger batches won only with spinning OpenMP threads on a loaded
# machine).
CLASSIFIER_BATCH = 16


def load_judge(classifiers, device) -> torch.nn.Module:
    """Attribute classifiers as a module on `device` (eval, no gradients): a module as given, or a bundled
    name, a file or 'nvidia-celebahq[:DIR]' (ganeval.features.attributes.load_classifiers)."""
    clf = classifiers if isinstance(classifiers, torch.nn.Module) else load_classifiers(classifiers)
    for attr in ("attr_names", "resolution"):
        if not hasattr(clf, attr):
            raise ConfigError(f"attribute classifiers must have `.{attr}`")
    return clf.eval().requires_grad_(False).to(device)


def separability(G, classifiers="synthfaces-classifiers", attrs="all", num_samples: int = 200_000,
                 num_keep: int | None = None, spaces=None, n_jobs: int | None = None, svm: str = "liblinear", *,
                 name: str | None = None, opts: RunOptions | None = None, **run) -> pd.DataFrame:
    """Linear separability of G's Z and W spaces (rows: see `separability_from_predictions`).

    `classifiers`: an nn.Module mapping float images in [-1, 1] at `.resolution` to logits [N, A]
    (NVIDIA order) with `.attr_names`, or a name/path for `ganeval.features.attributes.load_classifiers`.
    `num_keep` defaults to half of `num_samples` (100k of 200k). `n_jobs`: concurrent SVM fits per process
    (joblib worker processes; default min(8, cores), -1 = all cores) with `svm='liblinear'` (the reference's
    LinearSVC, the default); `svm='batched'` fits all attributes of a space at once on the run's device
    (svm.py; converged, where the 2019 fits stop at max_iter). The generator runs per block of 16
    samples with noise seeded by (seed, block), so neither the batch size (images per classifier call,
    default CLASSIFIER_BATCH = 16) nor the number of torchrun processes (blocks and SVM fits are shared out,
    results gathered in order) changes the result.
    `opts` / `run`: the run settings (RunOptions; bootstrap defaults to 200; `state_dir` keeps finished
    blocks (latents + logits) and a rerun resumes from them). A generator without W
    (PGGAN, mapping depth 0) gets Z rows only.
    """
    o = RunOptions.make(opts, **run)
    check_svm(svm)
    seed, batch_size, bootstrap = o.seed, o.batch(CLASSIFIER_BATCH), o.replicates(200)
    truncation_psi, truncation_cutoff = o.truncation_psi, o.truncation_cutoff
    name = name or "ls"
    num_keep = num_samples // 2 if num_keep is None else int(num_keep)
    if spaces is None:
        spaces = ("z", "w") if G.has_w else ("z",)
    spaces = tuple(spaces)
    if "w" in spaces and not G.has_w:
        raise MetricError(f"linear separability in W needs a mapping network; this {G.arch} generator has none")
    if num_samples < 2:
        raise ConfigError("linear separability needs at least 2 samples")
    G, device = prepare_generator(G, o.device)
    clf = load_judge(classifiers, device)
    attr_idx = resolve_attrs(attrs, list(clf.attr_names))
    attr_names = [clf.attr_names[i] for i in attr_idx]
    res = int(clf.resolution)
    # NVIDIA box-downsamples by an integer factor; anything else is outside the protocol and says so.
    if G.img_resolution >= res and G.img_resolution % res == 0:
        resize = "box" if G.img_resolution > res else "none"
    else:
        resize = "bilinear (not the NVIDIA protocol)"

    def compute(blocks, tick) -> dict:
        zs, ws, logits, pending = [], [], [], []

        def classify():
            if pending:
                logits.append(clf(torch.cat(pending)).float()[:, attr_idx].cpu())
                pending.clear()

        for b, start, stop in blocks:
            z = streams.normal(seed, "gen/z", start, stop, G.z_dim)
            w = G.mapping(z.to(device), truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
            with streams.seeded_global_rng(seed, "gen/noise", b, device):
                img = G.synthesis(w, noise_mode="random").float()
            # NaN images would be classified into plausible-looking labels and a plausible LS.
            check_finite(img, G, range(start, stop))
            img = to_rgb(img)
            if resize == "box":
                img = box_downsample(img, res)
            elif resize != "none":
                img = torch.nn.functional.interpolate(img, size=(res, res), mode="bilinear", align_corners=False,
                                                      antialias=True)
            pending.append(img)
            zs.append(z)
            ws.append(w[:, -1].float().cpu())
            if sum(p.shape[0] for p in pending) >= batch_size:
                classify()
            tick(stop - start)
        classify()
        # Only latents and logits leave the chunk: images never accumulate.
        return dict(z=torch.cat(zs).numpy(), w=torch.cat(ws).numpy(), logits=torch.cat(logits).numpy())

    # The chunks hold latents and logits only, which the solver does not touch: a state folder finished with one
    # `svm` is refitted with the other without generating anything again.
    settings = dict(attrs=attr_names, num_keep=num_keep, spaces=list(spaces), seed=seed, bootstrap=bootstrap,
                    truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff, device=device.type)
    with Timer() as timer, torch.no_grad():
        zs, ws, logits = [], [], []
        for _, payload in run_chunks("ls", num_samples, compute, settings=settings,
                                     modules=dict(generator=G, classifiers=clf), state_dir=o.state_dir,
                                     progress=o.progress, desc="ls"):
            zs.append(payload["z"])
            ws.append(payload["w"])
            logits.append(payload["logits"])
        z_all, w_all, logit_all = np.concatenate(zs), np.concatenate(ws), np.concatenate(logits)
        if not np.isfinite(logit_all).all():
            raise NonFiniteError(f"the attribute classifiers output NaN or Inf for sample "
                                 f"{int(np.nonzero(~np.isfinite(logit_all).all(axis=1))[0][0])} (damaged weights)")
        df = separability_from_predictions(z_all, w_all if "w" in spaces else None, logit_all, attr_names,
                                           num_keep, seed=seed, n_jobs=n_jobs, bootstrap=bootstrap, name=name,
                                           svm=svm, device=device)
        if "z" not in spaces:
            df = df[df["space"] != "z"]
    warning = "; ".join(w for w in (_few_samples(num_keep, z_all.shape[1], w_all.shape[1] if "w" in spaces else 0),
                                    _foreign_judge(G, classifiers)) if w) or None
    common = dict(num_samples=num_samples, seed=seed, psi=truncation_psi, truncation_cutoff=truncation_cutoff,
                  feature_net=str(classifiers) if isinstance(classifiers, (str, os.PathLike))
                  else getattr(clf, "name", type(clf).__name__), time_s=timer.elapsed,
                  classifier_resolution=res, classifier_resize=resize, warning=warning)
    return make_table(G, df.to_dict("records"), **common)


def _few_samples(num_keep: int, *dims: int) -> str | None:
    """A warning when the kept samples do not outnumber the latent dimensions (plus the intercept): a linear SVM
    then separates any labelling, every entropy is 0 and LS = 1 says nothing about the space."""
    dim = max(dims)
    if num_keep > dim + 1:
        return None
    return (f"only {num_keep} kept samples for {dim}-dimensional latents: a hyperplane separates any labelling, "
            f"so LS = 1 means nothing here (the protocol keeps 100,000 of 200,000)")


def _foreign_judge(G, classifiers) -> str | None:
    """A warning when the bundled synthetic-face classifiers judge a generator not trained on synthfaces (or one
    whose checkpoint does not say what it was trained on): their attributes are the benchmark's, whose images
    they have seen; on other faces their labels, and the LS built on them, are not the paper's."""
    if not (isinstance(classifiers, str) and classifiers.startswith("synthfaces-classifiers")):
        return None
    data = getattr(G, "training_data", None)
    if data and str(data).startswith("synthfaces"):
        return None
    origin = f"was trained on {data}" if data else "does not record its training data"
    return (f"the bundled {classifiers} know only the synthetic-face benchmark, and this checkpoint {origin}: "
            f"for CelebA/FFHQ faces use --classifiers nvidia-celebahq (NVIDIA's 40 CelebA-HQ networks)")
