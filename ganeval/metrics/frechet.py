"""The Fréchet distance between two Gaussians, in the three forms ganeval computes it.

    frechet_distance          NVIDIA's formula: |mu1 - mu2|^2 + tr(S1 + S2 - 2 sqrtm(S1 S2)), scipy's sqrtm,
                              real part; a non-finite root is retried with 1e-6 I added (pytorch-fid)
    frechet_with_root         the same distance from the eigenvalues of R S1 R, R = sqrt(S2) (symmetric
                              eigensolve; ~1e-9 relative to sqrtm, several times faster; R is computed
                              once per reference and kept)
    frechet_factored          S1 = A^T A given by A [n, D] with n < D: the n x n matrix A S2 A^T has the
                              same nonzero eigenvalues, so the cost follows n, not D

Tiny negative results from rounding are clipped at 0.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from ..errors import MetricError


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), NVIDIA's formula (scipy sqrtm, real part)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise MetricError(f"statistics have different shapes: {mu1.shape} vs {mu2.shape}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on singular products; we check finiteness ourselves
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    diff = mu1 - mu2
    fd = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean).real)
    return max(fd, 0.0)


def _sqrt_psd(sigma: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(sigma)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


_ROOTS: dict[str, np.ndarray] = {}


def reference_root(sigma: np.ndarray, key: str) -> np.ndarray:
    """sigma^(1/2) of a reference, kept per process: truncation sweeps and reports reuse one reference."""
    if key not in _ROOTS:
        if len(_ROOTS) >= 4:
            _ROOTS.pop(next(iter(_ROOTS)))
        _ROOTS[key] = _sqrt_psd(sigma)
    return _ROOTS[key]


def frechet_with_root(mu1, sigma1, mu2, sigma2, root2: np.ndarray) -> float:
    """Same distance via tr sqrt(sigma1 sigma2) = sum sqrt(eig(root2 sigma1 root2)), root2 = sigma2^(1/2)."""
    m = root2 @ sigma1 @ root2
    vals = np.linalg.eigvalsh((m + m.T) / 2)
    diff = mu1 - mu2
    fd = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.sqrt(np.clip(vals, 0, None)).sum())
    return max(fd, 0.0)


def frechet_factored(mu1, a1, mu2, sigma2) -> float:
    """Fréchet distance with sigma1 = a1ᵀ a1 (a1 [n, D]): tr sqrt(sigma1 sigma2) = sum sqrt(eig(a1 sigma2 a1ᵀ)),
    the n x n matrix sharing the nonzero eigenvalues of sigma2^(1/2) sigma1 sigma2^(1/2)."""
    m = a1 @ sigma2 @ a1.T
    vals = np.linalg.eigvalsh((m + m.T) / 2)
    diff = mu1 - mu2
    fd = float(diff @ diff + np.square(a1).sum() + np.trace(sigma2) - 2 * np.sqrt(np.clip(vals, 0, None)).sum())
    return max(fd, 0.0)
