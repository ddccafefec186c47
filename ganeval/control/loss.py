"""GAN-Control's factorised contrastive loss (Shoshan et al. 2021, §3.1, eq. 1-3) and its training hook.

For a batch B = {z_i} and attribute k (embedding M_k, distance d_k(I_i, I_j) = dist(M_k(I_i), M_k(I_j))):

    l_k(z_i, z_j) = 1/C⁺_k · max(d_k - τ⁺_k, 0)     if z_i^k = z_j^k    (same sub-vector: pull below τ⁺_k)
                    1/C⁻_k · max(τ⁻_k - d_k, 0)     otherwise           (different: push above τ⁻_k)
    C⁺_k = Σ_{i≠j} 1{z_i^k = z_j^k},   C⁻_k = Σ_{i≠j} 1{z_i^k ≠ z_j^k}
    L_c = Σ_{i≠j} Σ_k l_k(z_i, z_j)

The sums run over ordered pairs i ≠ j (each unordered pair twice, in the numerators and in C± alike).
A term whose count is zero (no pair in the batch shares z^k) contributes 0. Batches are built of pairs
that share exactly one sub-vector (`make_pair_batch`), as in the paper's training.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..data.attributes import resolve_attrs
from ..errors import ConfigError
from ..features.attributes import load_classifiers
from ..images import to_rgb
from ..train.loss import GANLoss

DISTANCES = ("l1", "l2", "cosine")


def pairwise_distance(e: torch.Tensor, distance: str = "cosine") -> torch.Tensor:
    """[B, D] embeddings -> [B, B] distances: L1, L2 (Euclidean) or cosine (1 - cos)."""
    if distance == "l1":
        return (e[:, None, :] - e[None, :, :]).abs().sum(-1)
    if distance == "l2":
        # Explicit differences (not cdist's matmul form): exact zeros on the diagonal and a safe gradient.
        return (e[:, None, :] - e[None, :, :]).square().sum(-1).clamp_min(1e-12).sqrt()
    if distance == "cosine":
        n = F.normalize(e, dim=-1, eps=1e-8)
        return 1 - n @ n.T
    raise ValueError(f"distance must be one of {DISTANCES}, got '{distance}'")


def same_subvector(z: torch.Tensor, z_slice: slice) -> torch.Tensor:
    """[B, B] bool: 1{z_i^k = z_j^k} for i ≠ j (the diagonal is False)."""
    zk = z[:, z_slice]
    same = (zk[:, None, :] == zk[None, :, :]).all(-1)
    return same & ~torch.eye(len(z), dtype=torch.bool, device=z.device)


def contrastive_terms(d: torch.Tensor, same: torch.Tensor, tau_pos: float, tau_neg: float) -> dict:
    """l_k summed over i ≠ j for one attribute, from distances d [B, B] and the mask `same` [B, B].

    Returns the total and its parts: pos = Σ_same max(d - τ⁺, 0) / C⁺, neg = Σ_diff max(τ⁻ - d, 0) / C⁻.
    """
    off_diag = ~torch.eye(len(d), dtype=torch.bool, device=d.device)
    diff = off_diag & ~same
    c_pos, c_neg = same.sum(), diff.sum()
    pos_sum = (d - tau_pos).clamp_min(0).masked_fill(~same, 0).sum()
    neg_sum = (tau_neg - d).clamp_min(0).masked_fill(~diff, 0).sum()
    # A zero count has a zero sum: dividing by max(C, 1) gives 0 without a branch on a device value (no
    # host-device sync per attribute and step); the counts stay tensors for the same reason.
    pos, neg = pos_sum / c_pos.clamp_min(1), neg_sum / c_neg.clamp_min(1)
    return {"loss": pos + neg, "pos": pos, "neg": neg, "C_pos": c_pos, "C_neg": c_neg}


def contrastive_loss(embeddings: list[torch.Tensor], z: torch.Tensor, z_slices: list[slice], tau_pos, tau_neg,
                     distance="cosine") -> tuple[torch.Tensor, list[dict]]:
    """L_c = Σ_k Σ_{i≠j} l_k(z_i, z_j) for the N controlled attributes.

    embeddings[k]: M_k(I) [B, D_k]; z_slices[k]: where z^k lives in z; tau_pos / tau_neg / distance: one value
    or one per attribute. Returns L_c and the per-attribute terms (`contrastive_terms`).
    """
    n = len(embeddings)

    def per_attr(v):
        return list(v) if isinstance(v, (list, tuple)) else [v] * n

    taus_pos, taus_neg, dists = per_attr(tau_pos), per_attr(tau_neg), per_attr(distance)
    terms = []
    for k in range(n):
        d = pairwise_distance(embeddings[k].flatten(1).float(), dists[k])
        terms.append(contrastive_terms(d, same_subvector(z, z_slices[k]), float(taus_pos[k]), float(taus_neg[k])))
    return sum(t["loss"] for t in terms), terms


def multi_net_contrastive_loss(embeddings: list, img: torch.Tensor, z: torch.Tensor, z_slices: list[slice], tau_pos,
                               tau_neg, distance="cosine") -> tuple[torch.Tensor, list[dict]]:
    """L_c under several embedding modules (classifier sets trained apart): the mean of each one's L_c, and per
    attribute the mean of their pos / neg terms. The mean of the losses, not the loss of the mean distance: each
    set's thresholds must hold, so cues that move one set's features alone (the generator pleasing the net it is
    trained against) do not pay."""
    per_net = [contrastive_loss(e(img), z, z_slices, tau_pos, tau_neg, distance) for e in embeddings]
    terms = [{part: sum(t[k][part] for _, t in per_net) / len(per_net) for part in ("pos", "neg")}
             for k in range(len(z_slices))]
    return sum(lc for lc, _ in per_net) / len(per_net), terms


def make_pair_batch(z: torch.Tensor, z_slices: list[slice], num_controls: int,
                    generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs (z_{2p}, z_{2p+1}) sharing exactly one controlled sub-vector k_p (GAN-Control §3.1).

    `z` [B, z_dim] gives the independent draws; sample 2p+1 takes z_{2p}^{k_p} and keeps its own other
    sub-vectors (the rest subspace z^{N+1} is never shared). k_p cycles through the attributes from a
    random start, so every attribute has pairs whenever B >= 2N. An odd last sample stays unpaired.
    Returns (z', k) with k [B] the shared attribute of each sample's pair (-1 when unpaired).
    """
    z = z.clone()
    b, pairs, device = len(z), len(z) // 2, z.device
    start = int(torch.randint(num_controls, [], generator=generator))
    # Everything below is built on z's device from Python integers: no host-to-device copy (from pageable
    # memory, one waits for the device) and no sync in the training step.
    col_attr = torch.full([z.shape[1]], -1, dtype=torch.long, device=device)   # which z^k each column is in
    for a in range(num_controls):
        col_attr[z_slices[a]] = a
    k = (start + torch.arange(pairs, device=device)) % num_controls
    take = k[:, None] == col_attr[None, :]        # the columns sample 2p+1 takes from sample 2p
    z[1:2 * pairs:2] = torch.where(take, z[0:2 * pairs:2], z[1:2 * pairs:2])
    shared = torch.full([b], -1, dtype=torch.long, device=device)
    shared[:2 * pairs] = k.repeat_interleave(2)
    return z, shared


# ----------------------------------------------------------------------------------------------------
# The attribute embeddings M_k.

class ClassifierEmbedding(torch.nn.Module):
    """M_k(I) = the k-th attribute classifier's trunk features (`embed`, kind 'features'), or its probability
    σ(logit_k) as a 1-d embedding (kind 'prob'), frozen.

    Gradients flow through the network to the images, never into its weights. Why 'prob': with features, pairs
    not sharing z^k can be pushed apart along feature directions that do not change the attribute (a small
    classifier has many); its probability moves only when its decision does.
    """

    def __init__(self, classifiers, attrs: list[str], kind: str = "features"):
        super().__init__()

        if kind not in ("features", "prob"):
            raise ValueError(f"embedding kind must be 'features' or 'prob', got '{kind}'")
        self.clf = classifiers.eval().requires_grad_(False)
        self.attr_idx = resolve_attrs(list(attrs), list(classifiers.attr_names))
        self.name = getattr(classifiers, "source", type(classifiers).__name__)
        self.kind = kind

    def train(self, mode: bool = True):
        super().train(mode)
        self.clf.eval()   # the embedding network is fixed during GAN training
        return self

    def forward(self, img: torch.Tensor) -> list[torch.Tensor]:
        img = to_rgb(img)
        if self.kind == "prob":
            p = torch.sigmoid(self.clf(img).float())
            return [p[:, k:k + 1] for k in self.attr_idx]
        e = self.clf.embed(img)
        return [e[:, k] for k in self.attr_idx]


def control_nets(spec) -> list:
    """--control-net 'a,b' (names or paths), a module, or a list of them -> the list of classifier sets giving M_k."""
    if isinstance(spec, (list, tuple)):
        return list(spec)
    if isinstance(spec, torch.nn.Module):
        return [spec]
    nets = [n.strip() for n in str(spec).split(",") if n.strip()]
    if not nets:
        raise ConfigError("--control-net names no classifiers")
    return nets


def load_embedding(net, attrs: list[str], device, kind: str = "features") -> ClassifierEmbedding:
    """A classifier module (with `embed`), a classifier name/path, or 'nvidia-celebahq[:DIR]' (NVIDIA's CelebA-HQ
    classifiers, for real faces; only the controlled attributes' networks are loaded) -> the frozen M_1..M_N."""
    # NVIDIA's suite loads only the controlled attributes' networks; the bundled suites hold all 40.
    clf = net if isinstance(net, torch.nn.Module) else load_classifiers(net, attrs=list(attrs))
    if kind == "features" and not callable(getattr(clf, "embed", None)):
        raise ConfigError(f"--control-net {net}: the network has no per-attribute embedding (embed)")
    return ClassifierEmbedding(clf.to(device), attrs, kind)


def augment_for_embedding(img: torch.Tensor, sigma: float, shift: int = 2) -> torch.Tensor:
    """Each image moved by a random integer offset in [-shift, shift]² (edges replicated) plus Gaussian pixel noise
    of std `sigma`: what M_k sees with --control-augment. Why: a generator trained against small classifiers can
    move their features with pixel-exact patterns; patterns that survive random shifts and noise are harder to
    make without changing the image for real. Uses the global RNG (seeded per microbatch by the loop)."""
    n, _, h, w = img.shape
    pad = F.pad(img, (shift, shift, shift, shift), mode="replicate")
    dy, dx = (torch.randint(0, 2 * shift + 1, (n,), device=img.device) for _ in range(2))
    rows = (dy[:, None] + torch.arange(h, device=img.device)[None])[:, None, :, None]   # [n, 1, h, 1]
    cols = (dx[:, None] + torch.arange(w, device=img.device)[None])[:, None, None, :]   # [n, 1, 1, w]
    out = pad[torch.arange(n, device=img.device)[:, None, None, None], torch.arange(img.shape[1],
              device=img.device)[None, :, None, None], rows, cols]
    return out + sigma * torch.randn_like(out)


def gaussian_blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian low-pass of std `sigma` pixels (taps out to ceil(2σ), normalised; edges replicated): what
    M_k sees with --control-blur. Why: the gradient that reaches the generator through M_k is then low-pass too,
    so M_k can no longer be moved by pixel-scale texture, only by what a blurred face shows."""
    r = max(1, math.ceil(2 * sigma))
    x = torch.arange(-r, r + 1, dtype=img.dtype, device=img.device)
    k = torch.exp(-x.square() / (2 * sigma * sigma))
    k = k / k.sum()
    c = img.shape[1]
    out = F.conv2d(F.pad(img, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(out, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


# ----------------------------------------------------------------------------------------------------
# The training hook: GAN loss + λ · L_c in the Gmain phase.

class ControlGANLoss(GANLoss):
    """GANLoss whose Gmain phase sees pair batches and adds λ · L_c (one G forward serves both losses).

    D and the regularisers are StyleGAN2's, unchanged (D sees fakes of plain independent latents, with
    style mixing); the Gmain pass runs without style mixing so that the pairs keep their shared w^k.
    """

    def __init__(self, G, D, *, embeddings, control_weight: float = 1.0, tau_pos=0.1, tau_neg=0.5,
                 distance="cosine", augment: float = 0.0, blur: float = 0.0, **kwargs):
        super().__init__(G, D, **kwargs)
        self.embeddings = list(embeddings)   # one per classifier set in --control-net (`multi_net_contrastive_loss`)
        self.augment, self.blur = float(augment), float(blur)
        self.control_weight = control_weight
        self.tau_pos, self.tau_neg, self.distance = tau_pos, tau_neg, distance

    def accumulate_gradients(self, phase: str, real_img: torch.Tensor, gen_z: torch.Tensor, gain: float) -> None:
        if phase not in ("Gmain", "Gboth"):
            return super().accumulate_gradients(phase, real_img, gen_z, gain)
        G = self.G
        # The pair structure draws from the loop's per-microbatch RNG: deterministic and resumable.
        z, _ = make_pair_batch(gen_z, G.z_slices, G.num_controls)
        # No style mixing here: a mixed-in random w would overwrite the shared w^k of a pair.
        mixing, self.style_mixing_prob = self.style_mixing_prob, 0.0
        try:
            with self._autocast():
                gen_img, _ = self.run_G(z, track_w=True)
                gen_logits = self.run_D(gen_img)
        finally:
            self.style_mixing_prob = mixing
        loss_G = -gen_logits if self.loss == "wgangp" else F.softplus(-gen_logits)
        self.stats.report("Loss/scores/fake", gen_logits)
        self.stats.report("Loss/G/loss", loss_G)
        # The embedding nets run in fp32: thresholds are set on their fp32 distances.
        img = gen_img.float()
        if self.blur > 0:
            img = gaussian_blur(img, self.blur)
        if self.augment > 0:
            img = augment_for_embedding(img, self.augment)
        loss_c, terms = multi_net_contrastive_loss(self.embeddings, img, z, G.z_slices[:G.num_controls],
                                                   self.tau_pos, self.tau_neg, self.distance)
        self.stats.report("Loss/control/Lc", loss_c)
        for attr, t in zip(G.control_attrs, terms):
            self.stats.report(f"Loss/control/{attr}/pos", t["pos"])
            self.stats.report(f"Loss/control/{attr}/neg", t["neg"])
        (loss_G.mean() + self.control_weight * loss_c).mul(gain).backward()
        if phase == "Gboth":
            super().accumulate_gradients("Greg", real_img, gen_z, gain)
