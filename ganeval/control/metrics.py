"""Controllability of a GAN-Control generator, as tidy DataFrames (columns as ganeval.metrics.common.COLUMNS).

* `control_metrics` — for each controlled attribute k, the same latents are rendered twice, with
  w^k = E_k(1) and w^k = E_k(0) (every other sub-vector sampled and shared by the two images):
    control_accuracy  how often the classifier sees the requested value: the mean of
                      P(logit_k > 0 | set 1) and P(logit_k <= 0 | set 0) (balanced over the two values);
    control_effect    mean of p_k(set 1) - p_k(set 0), p = σ(logit): how far setting k moves k itself;
    control_leakage   mean over the other attributes j ≠ k of |p_j(set 1) - p_j(set 0)|: how much setting k
                      moves what it should not (0 = perfect disentanglement). The row names the worst j.
  plus an 'ALL' row per metric (mean over the controlled attributes).
  `classifiers` may list several classifier sets ("judges"): every image is judged by each, and each gives
  its own rows (`feature_net`). A generator trained against classifiers' embeddings can learn to please
  exactly those networks, so the rows of an independent judge (another set, trained on other faces from
  another initialisation, e.g. the bundled `synthfaces-judge`) are the ones to trust.
* `steering_metrics` — the same rows for an uncontrolled generator whose attributes are set by moving w
  along linear-SVM normals (the usual baseline); `control_method` says which. The SVMs are fitted to the
  labels of `fit_classifiers` (by default the first judge): give it the controlled generator's training net,
  so both methods are supervised by the same network and judged by the same judges. With `match_effect`
  the edit strength is chosen per attribute so that the steered effect equals a given one (GAN-Control's):
  leakage is then compared at equal effect, not at an arbitrary edit strength.
* `subspace_separability` — linear separability (ganeval.metrics.separability_from_predictions) of each
  controlled attribute in each subspace z^s / w^s: low conditional entropy in its own subspace and high
  entropy in the others is what GAN-Control's split is for.
* `subspace_ppl` — perceptual path length in W when only w^s moves (ganeval.metrics.ppl_distances on pairs
  that differ in z^s alone), per subspace s.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from ..assets import bundled_file
from ..data.attributes import resolve_attrs
from ..errors import ConfigError
from ..features.registry import resolve_distance
from ..images import to_rgb
from ..metrics import sampling as streams
from ..metrics.common import Timer, prepare_generator
from ..metrics.ppl import ppl_distances
from ..metrics.separability import load_judge, separability_from_predictions
from ..metrics.stats import bootstrap_ci, percentile_filter
from ..metrics.tables import make_table
from ..train.options import recorded_options
from .encoders import ControlEncoders, _check_control_generator, controlled_ws
from .loss import control_nets


def _net_name(classifiers, clf) -> str:
    return str(classifiers) if isinstance(classifiers, (str, os.PathLike)) else getattr(clf, "source",
                                                                                        type(clf).__name__)


def _judges(classifiers, device) -> list[tuple[str, torch.nn.Module]]:
    """(name, loaded classifiers) for one classifier set or a list of them (names, paths or modules)."""
    many = classifiers if isinstance(classifiers, (list, tuple)) else [classifiers]
    if not many:
        raise ConfigError("no attribute classifiers given to judge the images")
    out = []
    for c in many:
        clf = load_judge(c, device)
        out.append((_net_name(c, clf), clf))
    return out


def training_nets(ckpt_path) -> list[str]:
    """The classifier sets a controlled checkpoint was trained against: its recorded --control-net (one or more),
    else the bundled set."""
    return control_nets(recorded_options(ckpt_path).get("control_net") or "synthfaces-classifiers")


def training_net(ckpt_path) -> str:
    """The first of `training_nets`: it gives the encoders' y^k and the baseline SVMs' labels."""
    return training_nets(ckpt_path)[0]


def default_judges(ckpt_path=None, trained_on: str | list[str] | None = None) -> list[str]:
    """The training nets (given, or read from the checkpoint), plus the bundled independent judge when the
    bundled set is among them (and the judge is not)."""
    judges = [str(n) for n in control_nets(trained_on)] if trained_on else training_nets(ckpt_path)
    if ("synthfaces-classifiers" in judges and "synthfaces-judge" not in judges
            and bundled_file("synthfaces-judge") is not None):
        judges.append("synthfaces-judge")
    return judges


def _judge_probs(img: torch.Tensor, clfs) -> list[torch.Tensor]:
    """σ(logits) [N, A] of the same images (grey made RGB) by each classifier set, on the CPU."""
    img = to_rgb(img)
    return [torch.sigmoid(c(img).float()).cpu() for c in clfs]


def _subspace_names(G) -> list[str]:
    return list(G.control_attrs) + ["rest"]


def _mean_ci(x: np.ndarray) -> tuple[float, float]:
    """Normal-approximation 95 % interval of a mean."""
    if len(x) < 2:
        return (math.nan, math.nan)
    half = 1.96 * float(np.std(x, ddof=1)) / math.sqrt(len(x))
    return float(np.mean(x)) - half, float(np.mean(x)) + half


@torch.no_grad()
def control_predictions(G, encoders: ControlEncoders, clf, k: int, num_samples: int, seed: int = 0,
                        truncation_psi: float = 1.0):
    """Classifier probabilities [N, A] of the images with w^k = E_k(0) and with w^k = E_k(1), same other latents.

    `clf` one classifier set -> (p0, p1); a list of them -> [(p0, p1), ...], all from the same images.
    """
    clfs = clf if isinstance(clf, (list, tuple)) else [clf]
    device = next(G.parameters()).device
    out = [{0: [], 1: []} for _ in clfs]
    for b, start, stop in streams.blocks(num_samples):
        z = streams.normal(seed, "control/eval/z", start, stop, G.z_dim).to(device)
        for v in (0, 1):
            ws = controlled_ws(G, encoders, z, {k: float(v)}, truncation_psi)
            # Both values see the same noise: only w^k differs between the two images.
            with streams.seeded_global_rng(seed, "control/eval/noise", b, device):
                img = G.synthesis(ws, noise_mode="random").float()
            for o, p in zip(out, _judge_probs(img, clfs)):
                o[v].append(p)
    pairs = [(torch.cat(o[0]), torch.cat(o[1])) for o in out]
    return pairs if isinstance(clf, (list, tuple)) else pairs[0]


def _set_rows(p0: np.ndarray, p1: np.ndarray, a: int, names: list[str], controlled: list[int], attr: str) -> list:
    """accuracy / effect / leakage rows of attribute column `a` from probabilities with it set to 0 and to 1."""
    hit = np.concatenate([p1[:, a] > 0.5, p0[:, a] <= 0.5]).astype(np.float64)
    lo, hi = _mean_ci(hit)
    rows = [dict(metric="control_accuracy", value=float(hit.mean()), ci_low=lo, ci_high=hi, attr=attr,
                 accuracy_set1=float((p1[:, a] > 0.5).mean()), accuracy_set0=float((p0[:, a] <= 0.5).mean()))]
    effect = p1[:, a] - p0[:, a]
    lo, hi = _mean_ci(effect)
    rows.append(dict(metric="control_effect", value=float(effect.mean()), ci_low=lo, ci_high=hi, attr=attr))
    others = [j for j in range(len(names)) if j != a]
    delta = np.abs(p1[:, others] - p0[:, others])          # [N, A-1]
    per_sample, per_attr = delta.mean(axis=1), delta.mean(axis=0)
    lo, hi = _mean_ci(per_sample)
    worst = int(np.argmax(per_attr))
    leak_ctrl = [per_attr[others.index(j)] for j in controlled if j != a]
    rows.append(dict(metric="control_leakage", value=float(per_sample.mean()), ci_low=lo, ci_high=hi, attr=attr,
                     leak_max_attr=names[others[worst]], leak_max=float(per_attr[worst]),
                     leak_controlled=float(np.mean(leak_ctrl)) if leak_ctrl else math.nan))
    return rows


def _all_rows(rows: list) -> list:
    """'ALL' rows (mean over the controlled attributes) per metric and judge."""
    out = []
    for net in dict.fromkeys(r["feature_net"] for r in rows):
        for metric in ("control_accuracy", "control_effect", "control_leakage"):
            vals = [r["value"] for r in rows if r["metric"] == metric and r["feature_net"] == net]
            out.append(dict(metric=metric, value=float(np.mean(vals)), ci_low=math.nan, ci_high=math.nan, attr="ALL",
                            feature_net=net))
    return out


def _judged_rows(judges, attrs: list[str], probs_of_attr) -> list:
    """Rows of every judge; probs_of_attr(i) -> [(p0, p1) per judge] for attrs[i] set to 0 / 1."""
    idx = [resolve_attrs(attrs, list(clf.attr_names)) for _, clf in judges]
    rows = []
    for i in range(len(attrs)):
        for (net, clf), a, (p0, p1) in zip(judges, idx, probs_of_attr(i)):
            rows += [{**r, "feature_net": net}
                     for r in _set_rows(p0, p1, a[i], list(clf.attr_names), a, clf.attr_names[a[i]])]
    return rows + _all_rows(rows)


def control_metrics(G, encoders: ControlEncoders, classifiers="synthfaces-classifiers", num_samples: int = 1000,
                    seed: int = 0, device=None, truncation_psi: float = 1.0) -> pd.DataFrame:
    """control_accuracy / control_effect / control_leakage rows per controlled attribute and judge (see module
    docstring); `classifiers` is one classifier set or a list of them."""
    _check_control_generator(G)
    G, device = prepare_generator(G, device)
    encoders = encoders.to(device).eval()
    judges = _judges(classifiers, device)
    clfs = [clf for _, clf in judges]

    def probs(k):
        return [(p0.numpy(), p1.numpy())
                for p0, p1 in control_predictions(G, encoders, clfs, k, num_samples, seed, truncation_psi)]

    with Timer() as timer:
        rows = _judged_rows(judges, list(G.control_attrs), probs)
    return make_table(G, rows, num_samples=num_samples, seed=seed, psi=truncation_psi, space="w",
                      time_s=timer.elapsed, control_method="encoders", ci_method="normal approximation over samples",
                      encoder_samples=encoders.meta.get("num_samples"))


@torch.no_grad()
def steering_metrics(G, classifiers="synthfaces-classifiers", attrs="smiling", num_fit: int = 2000,
                     num_samples: int = 1000, quantile: float = 0.9, seed: int = 0, device=None,
                     fit_classifiers=None, match_effect: dict | None = None, match_net=None,
                     match_samples: int = 256, max_scale: float = 8.0, match_tol: float = 0.01) -> pd.DataFrame:
    """The same rows for an uncontrolled generator steered along SVM normals in W (the baseline GAN-Control beats).

    Per attribute: a linear SVM separates w of `num_fit` samples by the label (logit > 0) of `fit_classifiers`
    (default: the first of `classifiers`); n is its unit normal and s(w) the signed distance. "Set to 1" moves w
    along n to s = c·t₁ with t₁ the `quantile` of s among the positives ("set to 0": to c·t₀, t₀ the 1 - quantile
    of s among the negatives), the InterFaceGAN-style edit; c = 1. Every judge in `classifiers` then gives its rows.

    match_effect {attr: effect}: for those attributes c is instead found by bisection in [0, max_scale] so that
    the control_effect judged by `match_net` (a judge's name or classifier set; default the fit net) on the first
    `match_samples` evaluation latents equals the given effect within `match_tol` — GAN-Control's effect, so that
    both methods' leakage is compared at equal effect. Rows carry steer_scale (c), steer_target_effect and
    steer_reached (False when even max_scale falls short: c = max_scale then).
    """
    if not 0 < quantile < 1:
        raise ConfigError(f"steering quantile must lie in (0, 1), got {quantile}")
    match_effect = dict(match_effect or {})
    G, device = prepare_generator(G, device)
    if not G.has_w:
        raise ConfigError("steering along SVM normals needs a W space (mapping depth > 0)")
    judges = _judges(classifiers, device)
    fit_net, fit_clf = _judges(fit_classifiers, device)[0] if fit_classifiers is not None else judges[0]
    fit_names = list(fit_clf.attr_names)
    attr_names = [fit_names[a] for a in resolve_attrs(attrs, fit_names)]
    if match_effect:
        by_name = dict(judges)
        match_clf = by_name[match_net] if isinstance(match_net, str) and match_net in by_name else (
            fit_clf if match_net is None else _judges(match_net, device)[0][1])

    def render(stream: str, n: int) -> torch.Tensor:
        ws = []
        for _, start, stop in streams.blocks(n):
            z = streams.normal(seed, stream, start, stop, G.z_dim).to(device)
            ws.append(G.mapping(z))
        return torch.cat(ws)

    def classify(ws: torch.Tensor, stream: str, clfs) -> list[np.ndarray]:
        out = [[] for _ in clfs]
        for b, i in enumerate(range(0, len(ws), streams.BLOCK_SIZE)):
            with streams.seeded_global_rng(seed, stream, b, device):
                img = G.synthesis(ws[i:i + streams.BLOCK_SIZE], noise_mode="random").float()
            for o, p in zip(out, _judge_probs(img, clfs)):
                o.append(p)
        return [torch.cat(o).numpy() for o in out]

    with Timer() as timer:
        ws_fit = render("control/steer/fit", num_fit)
        p_fit = classify(ws_fit, "control/steer/fit-noise", [fit_clf])[0]
        ws_eval = render("control/eval/z", num_samples)
        w_fit, w_eval = ws_fit[:, 0].cpu().numpy(), ws_eval[:, 0].cpu().numpy()
        converged, matched = {}, {}

        def edited(ws, s, n, t, c):
            """ws moved along n so that every sample's signed distance is c·t."""
            shift = torch.from_numpy(((c * t - s)[:, None] * n[None, :]).astype(np.float32)).to(device)
            return ws + shift[:, None, :]

        def match_scale(attr, s_eval, n, targets):
            """c with effect(c) = the target (bisection; the effect grows with c), on the first match_samples."""
            m = min(match_samples, num_samples)
            col = list(match_clf.attr_names).index(attr)
            target = float(match_effect[attr])

            def effect(c):
                p = {v: classify(edited(ws_eval[:m], s_eval[:m], n, t, c), "control/eval/noise", [match_clf])[0]
                     for v, t in targets.items()}
                return float((p[1][:, col] - p[0][:, col]).mean())

            lo, hi = 0.0, float(max_scale)
            e = effect(hi)
            if abs(e - target) <= match_tol or e < target:    # reached at max_scale, or out of reach
                return hi, abs(e - target) <= match_tol
            for _ in range(30):
                c = (lo + hi) / 2
                e = effect(c)
                if abs(e - target) <= match_tol:
                    return c, True
                lo, hi = (c, hi) if e < target else (lo, c)
            return c, False

        def probs(i):
            a = fit_names.index(attr_names[i])
            label = (p_fit[:, a] > 0.5).astype(np.int64)
            if label.min() == label.max():
                raise ConfigError(f"steering {attr_names[i]}: all {num_fit} samples have the same label; "
                                  "no SVM to fit")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                svm = LinearSVC(dual=True, max_iter=5000, random_state=seed).fit(w_fit, label)
            converged[attr_names[i]] = not any(issubclass(c.category, ConvergenceWarning) for c in caught)
            norm = float(np.linalg.norm(svm.coef_))
            n = svm.coef_.ravel() / norm
            s_fit = svm.decision_function(w_fit) / norm
            targets = {1: float(np.quantile(s_fit[label == 1], quantile)),
                       0: float(np.quantile(s_fit[label == 0], 1 - quantile))}
            s_eval = svm.decision_function(w_eval) / norm
            c, reached = 1.0, None
            if attr_names[i] in match_effect:
                c, reached = match_scale(attr_names[i], s_eval, n, targets)
            matched[attr_names[i]] = dict(steer_scale=c, steer_reached=reached,
                                          steer_target_effect=match_effect.get(attr_names[i], math.nan))
            p = {v: classify(edited(ws_eval, s_eval, n, t, c), "control/eval/noise", [clf for _, clf in judges])
                 for v, t in targets.items()}
            return list(zip(p[0], p[1]))

        rows = _judged_rows(judges, attr_names, probs)
        rows = [{**r, "svm_converged": converged.get(r["attr"]), **matched.get(r["attr"], {})} for r in rows]
    return make_table(G, rows, num_samples=num_samples, seed=seed, psi=1.0, space="w", time_s=timer.elapsed,
                      control_method="svm-steering", ci_method="normal approximation over samples",
                      steer_quantile=quantile, steer_fit=num_fit, steer_fit_net=fit_net)


@torch.no_grad()
def subspace_separability(G, classifiers="synthfaces-classifiers", num_samples: int = 2000, num_keep: int | None = None,
                          seed: int = 0, device=None, bootstrap: int = 50) -> pd.DataFrame:
    """LS entropy of each controlled attribute in each subspace z^s and w^s (rows 'control_ls_entropy').

    `subspace` names the latent part the SVM sees; `attr` the attribute it predicts. 'own' marks s = k.
    Given a list of classifier sets, the first one labels the samples.
    """
    _check_control_generator(G)
    G, device = prepare_generator(G, device)
    net, clf = _judges(classifiers, device)[0]
    attr_idx = resolve_attrs(list(G.control_attrs), list(clf.attr_names))
    num_keep = num_samples // 2 if num_keep is None else num_keep
    with Timer() as timer:
        zs, ws, logits = [], [], []
        for b, start, stop in streams.blocks(num_samples):
            z = streams.normal(seed, "gen/z", start, stop, G.z_dim).to(device)
            w = G.mapping(z)
            with streams.seeded_global_rng(seed, "gen/noise", b, device):
                img = G.synthesis(w, noise_mode="random").float()
            img = to_rgb(img)
            zs.append(z.cpu())
            ws.append(w[:, 0].cpu())
            logits.append(clf(img).float()[:, attr_idx].cpu())
        z, w, logit = torch.cat(zs), torch.cat(ws), torch.cat(logits)
        rows = []
        for sub, zsl, wsl in zip(_subspace_names(G), G.z_slices, G.w_slices):
            df = separability_from_predictions(z[:, zsl], w[:, wsl], logit, list(G.control_attrs), num_keep,
                                               seed=seed, n_jobs=1, bootstrap=bootstrap, name="control_ls")
            df = df[df["attr"] != "ALL"].copy()
            df["subspace"] = sub
            df["own"] = df["attr"] == sub
            rows += df.to_dict("records")
    return make_table(G, rows, num_samples=num_samples, seed=seed, psi=1.0, feature_net=net, time_s=timer.elapsed)


@torch.no_grad()
def subspace_ppl(G, num_samples: int = 1000, distance="synth-lpips", epsilon: float = 1e-4, sampling: str = "full",
                 seed: int = 0, device=None) -> pd.DataFrame:
    """PPL in W moving w^s only: pairs z0, z1 differ in z^s alone; lerp in W (ganeval.metrics.ppl_distances).

    Protocol as ppl_w{full,end} otherwise: keep P1-P99 of the distances, mean; no crop; noise shared by a pair.
    """
    _check_control_generator(G)
    G, device = prepare_generator(G, device)
    dist_fn, dist_name = resolve_distance(distance, device)   # built once, reused for every block
    rows = []
    with Timer() as timer:
        for s, (sub, zsl) in enumerate(zip(_subspace_names(G), G.z_slices)):
            d = []
            for b, start, stop in streams.blocks(num_samples):
                z0 = streams.normal(seed, "control/ppl/z0", start, stop, G.z_dim)
                z1 = z0.clone()
                z1[:, zsl] = streams.normal(seed, f"control/ppl/z1/{s}", start, stop, G.z_dim)[:, zsl]
                t = streams.uniform(seed, "control/ppl/t", start, stop) if sampling == "full" \
                    else torch.zeros(stop - start)
                G.redraw_noise_(streams.block_generator(seed, "control/ppl/noise", b))
                d.append(ppl_distances(G, z0, z1, t, space="w", epsilon=epsilon, distance=dist_fn).cpu())
            kept = percentile_filter(torch.cat(d).numpy())
            lo, hi = bootstrap_ci(kept, num_replicates=200, seed=seed) if len(kept) > 1 else (math.nan, math.nan)
            rows.append(dict(metric="control_ppl", value=float(np.mean(kept)), ci_low=lo, ci_high=hi, subspace=sub,
                             sampling=sampling, epsilon=epsilon, num_kept=len(kept)))
    return make_table(G, rows, num_samples=num_samples, seed=seed, psi=1.0, space="w", feature_net=dist_name,
                      time_s=timer.elapsed, ci_method="percentile bootstrap over kept distances")
