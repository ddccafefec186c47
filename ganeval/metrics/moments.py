"""Streaming feature statistics: float64 sums for mean and covariance, kept features, bootstrap replicates.

The generated side of FID and KID (generated.py) and the real side (reference.py) add their features
chunk by chunk in chunk order, so the sums are bit-identical for any batch size and number of
processes (runner.py). Means and covariances divide by N - 1 (TF, pytorch-fid, torch-fidelity;
docs/metrics.md, "FID and KID").
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import MetricError, NonFiniteError


class FeatureStats:
    """Float64 running sums for mean/covariance, optional kept features, optional Poisson-bootstrap replicates.

    Sums live on the device of the incoming features (a GPU keeps up with its feature net); kept
    features go to the CPU as float32. Replicates: while there are no more samples than feature
    dimensions, the features and their weights are kept (n x D is then at most the size of one D x D
    sum) and each replicate's covariance is used in factored form, Σ_b = A_bᵀ A_b with A_b [n, D]
    (`replicate_factor`), which makes its Fréchet distance an n x n eigenproblem instead of D x D;
    beyond D samples they are folded into per-replicate sums as usual.
    """

    def __init__(self, capture_mean_cov: bool = True, capture_all: bool = False, num_replicates: int = 0):
        self.capture_mean_cov, self.capture_all = capture_mean_cov, capture_all
        self.num_replicates = num_replicates
        self.num = 0
        self.dim: int | None = None
        self._s1 = self._s2 = None
        self._rw = self._rs1 = self._rs2 = None
        self._all: list[np.ndarray] = []
        self._kept: list[torch.Tensor] | None = [] if num_replicates else None   # low-rank regime: x and weights
        self._kept_w: list[torch.Tensor] = []
        self._kept_np: tuple[np.ndarray, np.ndarray] | None = None

    def _init(self, dim: int, device) -> None:
        self.dim = dim
        z = lambda *shape: torch.zeros(shape, dtype=torch.float64, device=device)  # noqa: E731
        if self.capture_mean_cov:
            self._s1, self._s2 = z(dim), z(dim, dim)

    def _fold(self, x: torch.Tensor, bw: torch.Tensor) -> None:
        if self._rw is None:
            z = lambda *shape: torch.zeros(shape, dtype=torch.float64, device=x.device)  # noqa: E731
            self._rw, self._rs1, self._rs2 = z(self.num_replicates), z(self.num_replicates, self.dim), \
                z(self.num_replicates, self.dim, self.dim)
        self._rw += bw.sum(dim=1)
        self._rs1 += bw @ x
        for b in range(self.num_replicates):
            self._rs2[b] += (x * bw[b, :, None]).T @ x

    @torch.no_grad()
    def append(self, x, boot_weights=None) -> None:
        """x [n, D]; boot_weights [B, n] (B = num_replicates) when replicates are tracked."""
        x = torch.as_tensor(x)
        if x.ndim != 2 or x.shape[0] == 0:
            return
        if self.dim is None:
            self._init(x.shape[1], x.device)
        elif x.shape[1] != self.dim:
            raise MetricError(f"feature dimension changed from {self.dim} to {x.shape[1]}")
        if not bool(torch.isfinite(x).all()):   # a NaN would become a plausible-looking distance
            raise NonFiniteError("the feature net output NaN or Inf (damaged weights or images)")
        self.num += x.shape[0]
        if self.capture_all:
            self._all.append(x.detach().float().cpu().numpy())
        x = x.detach().to(self._s1.device if self._s1 is not None else x.device, torch.float64)
        if self.capture_mean_cov:
            self._s1 += x.sum(dim=0)
            self._s2 += x.T @ x
        if self.num_replicates:
            bw = torch.as_tensor(boot_weights).to(x.device, torch.float64)
            if self._kept is not None:
                self._kept.append(x)
                self._kept_w.append(bw)
                self._kept_np = None
                if self.num > self.dim:   # too many samples for the factored form: fold into sums from now on
                    self._fold(torch.cat(self._kept), torch.cat(self._kept_w, dim=1))
                    self._kept, self._kept_w = None, []
            else:
                self._fold(x, bw)

    @staticmethod
    def _mean_cov(n, s1, s2) -> tuple[np.ndarray, np.ndarray]:
        n, s1, s2 = float(n), s1.cpu().numpy(), s2.cpu().numpy()
        mu = s1 / n
        sigma = (s2 - n * np.outer(mu, mu)) / (n - 1)
        return mu, (sigma + sigma.T) / 2

    def mean_cov(self) -> tuple[np.ndarray, np.ndarray]:
        if self.num < 2:
            raise MetricError(f"need at least 2 samples for a covariance, got {self.num}")
        return self._mean_cov(self.num, self._s1, self._s2)

    def replicate_factor(self, b: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(mu_b, A_b) with Σ_b = A_bᵀ A_b while the features are kept (n <= D), else None.

        Σ_i w_i (x_i - mu_b)(x_i - mu_b)ᵀ = Σ_i w_i x_i x_iᵀ - n_b mu_b mu_bᵀ, so rows
        sqrt(w_i / (n_b - 1)) (x_i - mu_b) give exactly the replicate's covariance.
        """
        if self._kept is None:
            return None
        if self._kept_np is None:   # concatenated once for all B replicates (reset by append)
            self._kept_np = (torch.cat(self._kept).cpu().numpy(), torch.cat(self._kept_w, dim=1).cpu().numpy())
        x, w = self._kept_np[0], self._kept_np[1][b]
        n = w.sum()
        mu = (w @ x) / n
        return mu, np.sqrt(w / (n - 1))[:, None] * (x - mu)

    def replicate_mean_cov(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        if self._kept is not None:
            mu, a = self.replicate_factor(b)
            return mu, a.T @ a
        return self._mean_cov(self._rw[b], self._rs1[b], self._rs2[b])

    def get_all(self) -> np.ndarray:
        return np.concatenate(self._all) if self._all else np.zeros((0, self.dim or 0), np.float32)
