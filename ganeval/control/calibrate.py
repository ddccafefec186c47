"""Per-attribute thresholds τ⁺_k / τ⁻_k of GAN-Control's contrastive loss, read off real images.

The paper's thresholds are per attribute and live on the scale of each embedding M_k, which differs between
embedding nets, distances and attributes. `embedding_distances` measures that scale on labelled real images:
for attribute k, the distances d_k between all pairs of N images, split into pairs with the same label and
pairs with different labels. It also gives what the loss cannot get below even for a generator that matches
the data and is perfectly disentangled, so that a logged term can be read against it:

    floor⁻_k = mean over all pairs of max(τ⁻_k - d_k, 0)
        pairs not sharing z^k are independent in attribute k: random pairs of real images;
    floor⁺_k = mean over same-label pairs of max(d_k - τ⁺_k, 0)
        pairs sharing z^k share the attribute value but nothing else: same-label pairs.

`auc` is the probability that a different-label pair lies farther apart than a same-label pair (ties count
half): near 0.5 the embedding does not tell the labels apart on these images (e.g. an attribute too small to
see at this resolution), and the loss can only be lowered by features that the attribute does not drive.

Suggested thresholds: τ⁺_k = the `q_pos` quantile of the same-label distances (pairs sharing z^k
should be as close as a typical same-label pair), τ⁻_k = the `q_neg` quantile of the different-label
distances (pairs not sharing it pushed as far apart as a typical pair with different labels).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from scipy.stats import rankdata

from ..errors import ConfigError
from ..images import from_uint8
from .loss import ClassifierEmbedding, pairwise_distance


@torch.no_grad()
def embed_images(embedding: ClassifierEmbedding, images_uint8: torch.Tensor, batch_size: int = 200) -> list:
    """uint8 images [N, C, H, W] -> M_k embeddings, one [N, D_k] tensor per controlled attribute."""
    device = next(embedding.clf.parameters()).device
    parts = []
    for i in range(0, len(images_uint8), batch_size):
        img = from_uint8(images_uint8[i:i + batch_size].to(device))
        parts.append([e.flatten(1).float().cpu() for e in embedding(img)])
    return [torch.cat([p[k] for p in parts]) for k in range(len(parts[0]))]


def embedding_distances(embeddings: list[torch.Tensor], labels: torch.Tensor, attrs: list[str],
                        distance: str = "cosine", tau: tuple | list | None = None, q_pos: float = 0.5,
                        q_neg: float = 0.5, tau_option_name: str = "tau", one_label_ok: bool = False) -> pd.DataFrame:
    """One row per attribute: label rate, same- and different-label distance quantiles, the median over all
    pairs, suggested τ⁺ / τ⁻, and the loss floors at the thresholds `tau` (τ⁺, τ⁻ for every attribute, or one
    pair per attribute), else at the suggested ones.

    embeddings[k]: M_k of N labelled images [N, D_k]; labels: [N, len(attrs)] 0/1, column k for attribute k.
    one_label_ok: an attribute whose N images all have one label (a generator that never draws it) gets NaN for
    what needs both labels instead of an error (then `tau` must be given).
    """
    n = len(labels)
    if n < 3:
        raise ConfigError("calibrating thresholds needs at least 3 labelled images")
    if not (0 < q_pos < 1 and 0 < q_neg < 1):
        raise ConfigError("threshold quantiles must lie in (0, 1)")
    taus = resolve_taus(tau, len(attrs), f"--{tau_option_name}") if tau is not None else None
    upper = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)   # each unordered pair once
    rows = []
    for k, attr in enumerate(attrs):
        d = _distances(embeddings[k].double(), distance)[upper].numpy()
        y = labels[:, k].bool()
        same = (y[:, None] == y[None, :])[upper].numpy()
        one_label = bool(same.all())   # same is never empty: n >= 3 images give at least one same-label pair
        if one_label and not (one_label_ok and taus is not None):
            raise ConfigError(f"{attr}: all {n} images have the same label; no different-label pairs to measure")
        d_same, d_diff = d[same], d[~same]
        suggested = (_quantile(d_same, q_pos), _quantile(d_diff, q_neg))
        tau_pos, tau_neg = taus[k] if taus is not None else suggested
        row = dict(attr=attr, label_rate=float(y.double().mean()), pairs_same=int(same.sum()),
                   pairs_diff=int((~same).sum()), auc=math.nan if one_label else distance_auc(d_same, d_diff))
        for name, v in (("same", d_same), ("diff", d_diff)):
            row.update({f"{name}_q25": _quantile(v, 0.25), f"{name}_median": _quantile(v, 0.5),
                        f"{name}_q75": _quantile(v, 0.75)})
        row.update(all_median=float(np.median(d)), suggested_tau_pos=suggested[0], suggested_tau_neg=suggested[1],
                   tau_pos=float(tau_pos), tau_neg=float(tau_neg),
                   floor_pos=float(np.maximum(d_same - tau_pos, 0).mean()),
                   floor_neg=float(np.maximum(tau_neg - d, 0).mean()))
        rows.append(row)
    return pd.DataFrame(rows)


def _quantile(v: np.ndarray, q: float) -> float:
    """NaN for no pairs (a one-label attribute has no different-label pairs)."""
    return float(np.quantile(v, q)) if len(v) else math.nan


def _distances(e: torch.Tensor, distance: str) -> torch.Tensor:
    """The loss's pairwise distances, without its [N, N, D] intermediate for l1 / l2 (D can be 512 here)."""
    if distance in ("l1", "l2"):
        return torch.cdist(e, e, p=1 if distance == "l1" else 2)
    return pairwise_distance(e, distance)


def distance_auc(d_same: np.ndarray, d_diff: np.ndarray) -> float:
    """P(a different-label distance > a same-label distance), ties counted half (Mann-Whitney U / (n_s n_d))."""
    ranks = rankdata(np.concatenate([d_same, d_diff]))   # average ranks for ties
    n_s, n_d = len(d_same), len(d_diff)
    return float((ranks[n_s:].sum() - n_d * (n_d + 1) / 2) / (n_s * n_d))


def resolve_taus(tau, num_attrs: int, option: str = "--control-tau") -> list[tuple[float, float]]:
    """--control-tau values -> one (τ⁺, τ⁻) per attribute: two numbers for all, or 2N (pairs in --control order)."""
    tau = [float(t) for t in tau]
    if len(tau) == 2:
        return [(tau[0], tau[1])] * num_attrs
    if len(tau) == 2 * num_attrs:
        return [(tau[2 * k], tau[2 * k + 1]) for k in range(num_attrs)]
    raise ConfigError(f"{option} takes two numbers τ⁺,τ⁻ for every attribute, or {2 * num_attrs} "
                      f"(τ⁺,τ⁻ per attribute in --control order), got {len(tau)}")


def tau_option(df: pd.DataFrame) -> str:
    """The suggested thresholds as a --control-tau value (τ⁺,τ⁻ per attribute, in the table's order)."""
    return ",".join(f"{r.suggested_tau_pos:.3g},{r.suggested_tau_neg:.3g}" for r in df.itertuples())
