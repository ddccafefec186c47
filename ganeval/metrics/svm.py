"""Linear SVMs for many label sets on one design matrix, fitted together by a Newton method on the primal.

The problem is liblinear's L2R_L2LOSS_SVC (the one scikit-learn's ``LinearSVC(loss='squared_hinge')``
solves; https://github.com/cjlin1/liblinear/blob/master/linear.cpp, ``l2r_l2_svc_fun``), once per
attribute a, independently:

    f_a(v) = ½‖v‖² + C Σ_i m_ia max(0, 1 − y_ia v·x̃_i)²,    x̃_i = [x_i, s],  v = [w, β],

with labels y ∈ {−1, +1}, a 0/1 mask m (the samples attribute a is fitted on) and the intercept as
liblinear treats it: an extra constant feature s (``intercept_scaling``, 1 by default) whose weight β is
regularised like the others; the intercept is b = s·β. f_a is strongly convex and once differentiable;
with the active set I_a = {i : m_ia = 1, y_ia v·x̃_i < 1}

    ∇f_a(v) = v + 2C Σ_{i∈I_a} (v·x̃_i − y_ia) x̃_i,        H_a s = s + 2C Σ_{i∈I_a} (s·x̃_i) x̃_i,

H_a being the generalised Hessian (Mangasarian 2002; Keerthi & DeCoste 2005, JMLR 6, §2). Every
attribute shares X, so for all of them at once the gradient and a Hessian-vector product are two
matrix products, [A, d+1] × [d+1, n] and [A, n] × [n, d+1]: one pass over X serves all A problems,
where liblinear makes A separate passes of sparse dot products.

Algorithm (Keerthi & DeCoste's modified finite Newton method, with the truncated CG of Lin, Weng &
Keerthi 2008, JMLR 9, §2-3), per attribute, all attributes in lock step:

1. from v = 0, compute the gradient g; stop when ‖g‖ ≤ tol·‖∇f_a(0)‖ (liblinear's primal criterion,
   linear.cpp ``train_one`` / tron.cpp, without its class-balance factor min(pos, neg)/l: a plain
   relative tolerance, the same for every attribute);
2. solve H s = −g by preconditioned conjugate gradients, stopped at ‖H s + g‖ ≤ η‖g‖ with the
   forcing term η = min(0.1, √(‖g‖ / ‖∇f(0)‖)) (Nocedal & Wright, Numerical Optimization, 2nd ed.,
   §7.1: superlinear convergence); the preconditioner is I + 2C ρ_a X̃ᵀX̃, the Hessian the active set
   would have if it were spread like all n samples (ρ_a = its share of Σ‖x̃_i‖²), inverted through one
   eigendecomposition of X̃ᵀX̃ shared by all attributes. It undoes the correlations and the mean of the
   features (StyleGAN's w have a mean of norm ~7 against unit spread), which unpreconditioned CG and
   liblinear's diagonal preconditioner do not;
3. exact line search along s: φ(t) = f_a(v + t s) is a convex piecewise quadratic, so t solves the
   monotone piecewise linear φ'(t) = 0; safeguarded Newton steps on φ' land on it exactly once they
   are on the right piece (Keerthi & DeCoste §3 sort the breakpoints instead); X̃s comes for free from
   the CG iterations, so the search touches only [A, n] arrays.

Once the active set stops changing, one exact Newton step ends the fit (finite convergence, K & DC §3).

Precision: float64 by default. At the optimum the gradient is the difference of sums over ~10⁵
samples that each are as large as ‖∇f(0)‖/n; float32 (7 digits) leaves that difference at ~1e-4 of
‖∇f(0)‖, above the tolerance that makes predictions match a converged liblinear fit (tol 1e-6 relative,
benchmarks/results/), and liblinear itself computes in double.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError

TOL = 1e-6           # ‖∇f(v)‖ ≤ TOL·‖∇f(0)‖, see the module docstring
MAX_ITER = 100       # Newton iterations; finite Newton methods need tens (K & DC §5)
MAX_CG_ITER = 200    # CG iterations per Newton iteration, ≤ d + 1 in exact arithmetic anyway
LINE_SEARCH_STEPS = 30
WORKSPACE_BYTES = 2 << 30   # [A, n] working arrays per solve; attributes beyond that are fitted in chunks
_WORK_ARRAYS = 8            # labels, mask, margins, active set, X̃s, X̃p, residuals, scratch


@dataclass(frozen=True)
class SVMFit:
    """The fits of `fit_linear_svms`, one entry per attribute (CPU tensors, float64 unless asked otherwise).

    coef [A, d], intercept [A] (= intercept_scaling · β): decision value x·coef_a + intercept_a, class 1
    where it is > 0 (sklearn's LinearSVC.predict). n_iter: Newton iterations; cg_iter: CG iterations
    (Hessian-vector products) summed over them; grad_norm: ‖∇f_a‖ / ‖∇f_a(0)‖ at the end (0 where
    ∇f_a(0) = 0, e.g. nothing kept); converged: grad_norm ≤ tol; objective: f_a at the end.
    """

    coef: torch.Tensor
    intercept: torch.Tensor
    n_iter: torch.Tensor
    cg_iter: torch.Tensor
    converged: torch.Tensor
    grad_norm: torch.Tensor
    objective: torch.Tensor
    tol: float

    def decision_function(self, X) -> torch.Tensor:
        """[n, A] decision values of every attribute's SVM on X [n, d]."""
        X = torch.as_tensor(X).to(self.coef.dtype)
        return X @ self.coef.T + self.intercept

    def predict(self, X) -> torch.Tensor:
        """[n, A] 0/1 predictions (1 where the decision value is > 0)."""
        return (self.decision_function(X) > 0).to(torch.int64)


def fit_linear_svms(X, labels, mask=None, C: float = 1.0, *, intercept_scaling: float = 1.0, tol: float = TOL,
                    max_iter: int = MAX_ITER, max_cg_iter: int = MAX_CG_ITER, dtype: torch.dtype = torch.float64,
                    device=None, attrs_per_solve: int | None = None) -> SVMFit:
    """Fit A L2-regularised squared-hinge linear SVMs on the rows of X, one per column of `labels`.

    X [n, d] (numpy or torch, finite); labels [n, A] or [n] of 0/1 (class 1 is the positive side, as
    sklearn's classes_[1]); mask [n, A] or [n] bool: the samples each SVM is fitted on (None: all).
    Minimises ½‖[w, β]‖² + C Σ_i m_i max(0, 1 − y_i (w·x_i + intercept_scaling·β))² per attribute, the
    objective of ``LinearSVC(C=C, loss='squared_hinge', penalty='l2', intercept_scaling=...)``; see the
    module docstring for the method and the stopping rule (‖∇f‖ ≤ tol·‖∇f(0)‖). A label set with one
    class only is fitted like any other (the objective is well defined; liblinear refuses it).

    device: where to compute (None: CUDA when present, else CPU); results come back on the CPU.
    attrs_per_solve: attributes solved together (None: as many as fit in ~2 GiB of [A, n] arrays).
    """
    dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    X = torch.as_tensor(X)
    if X.ndim != 2:
        raise ConfigError(f"X must be [n, d], got shape {tuple(X.shape)}")
    n, d = X.shape
    Y = torch.as_tensor(labels)
    Y = Y[:, None] if Y.ndim == 1 else Y
    if Y.ndim != 2 or Y.shape[0] != n:
        raise ConfigError(f"labels must be [n] or [n, A] with n = {n}, got shape {tuple(Y.shape)}")
    if Y.dtype != torch.bool and not bool(((Y == 0) | (Y == 1)).all()):
        raise ConfigError("labels must be 0/1")
    num_attrs = Y.shape[1]
    if mask is None:
        M = torch.ones(n, num_attrs, dtype=torch.bool)
    else:
        M = torch.as_tensor(mask)
        M = M[:, None] if M.ndim == 1 else M
        if M.shape != Y.shape:
            raise ConfigError(f"mask must have the labels' shape {tuple(Y.shape)}, got {tuple(M.shape)}")
        M = M.to(torch.bool)
    if not C > 0 or not intercept_scaling > 0 or not tol > 0:
        raise ConfigError(f"C, intercept_scaling and tol must be > 0, got {C}, {intercept_scaling}, {tol}")
    X = X.to(dev, dtype)
    if not bool(torch.isfinite(X).all()):
        raise ConfigError("X has non-finite entries (NaN or inf)")

    chunk = attrs_per_solve or max(1, WORKSPACE_BYTES // (_WORK_ARRAYS * n * X.element_size()))
    basis = _preconditioner_basis(X, intercept_scaling)
    parts = []
    for a0 in range(0, num_attrs, chunk):
        sl = slice(a0, min(a0 + chunk, num_attrs))
        y = (2 * Y[:, sl].T.to(dev, dtype) - 1).contiguous()    # [A, n] in {-1, +1}
        m = M[:, sl].T.to(dev, dtype).contiguous()              # [A, n] in {0, 1}
        parts.append(_newton(X, y, m, float(C), float(intercept_scaling), float(tol), int(max_iter),
                             int(max_cg_iter), basis))
    cat = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    return SVMFit(coef=cat["w"], intercept=cat["beta"] * intercept_scaling, n_iter=cat["n_iter"],
                  cg_iter=cat["cg_iter"], converged=cat["converged"], grad_norm=cat["grad_norm"],
                  objective=cat["objective"], tol=float(tol))


# ---------------------------------------------------------------------------------------------------------
# The pieces. Arrays are [A, n] (one row per attribute) and weights [A, d] plus β [A]: the products
# W Xᵀ and R X are then the row-major GEMMs BLAS is fastest at.

def _preconditioner_basis(X: torch.Tensor, s: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eigenvectors and eigenvalues of X̃ᵀX̃ ([d+1, d+1]), and Σ_i ‖x̃_i‖² for the per-attribute scale ρ_a.

    A preconditioner only has to be symmetric positive definite, not exact: the Gram matrix is formed in
    float32 where X is float64 (four times faster on CPUs) and its rounding noise is clipped at 0.
    """
    Xg = X.float() if X.dtype == torch.float64 else X
    n = X.shape[0]
    col = Xg.sum(0)
    gram = torch.empty(X.shape[1] + 1, X.shape[1] + 1, dtype=Xg.dtype, device=X.device)
    gram[:-1, :-1] = Xg.T @ Xg
    gram[:-1, -1] = gram[-1, :-1] = s * col
    gram[-1, -1] = s * s * n
    lam, vecs = torch.linalg.eigh(gram.to(X.dtype))
    return vecs, lam.clamp_min(0), gram.diagonal().sum().to(X.dtype)


def _newton(X, y, m, C, s, tol, max_iter, max_cg_iter, basis) -> dict:
    """Modified finite Newton method for the rows of y / m (see the module docstring); returns CPU tensors.

    The state of the attributes still iterating is kept compact (their rows only): a converged
    attribute's weights are written out and its rows leave every later product.
    """
    num, n = y.shape
    d = X.shape[1]
    dev, dt = X.device, X.dtype
    w_out = torch.zeros(num, d, dtype=dt, device=dev)
    beta_out = torch.zeros(num, dtype=dt, device=dev)
    n_iter = torch.zeros(num, dtype=torch.int64)
    cg_iter = torch.zeros(num, dtype=torch.int64)
    converged = torch.zeros(num, dtype=torch.bool)
    rownorm2 = torch.linalg.vector_norm(X, dim=1).square() + s * s   # ‖x̃_i‖², without an [n, d] temporary

    live = torch.arange(num)                               # attributes still iterating (CPU indices)
    w = torch.zeros(num, d, dtype=dt, device=dev)
    beta = torch.zeros(num, dtype=dt, device=dev)
    o = torch.zeros(num, n, dtype=dt, device=dev)          # margins v·x̃_i, updated along with v
    yl, ml = y, m
    g0 = None
    for it in range(max_iter + 1):
        act = ml * (yl * o < 1)                            # the active set, as 0/1
        r = act * (o - yl)
        gw = w + 2 * C * (r @ X)
        gb = beta + 2 * C * s * r.sum(1)
        gnorm = torch.sqrt((gw * gw).sum(1) + gb * gb)
        if g0 is None:
            g0 = gnorm.clone()
        done = gnorm <= tol * g0
        if it == max_iter:
            done = torch.ones_like(done)
        if bool(done.any()):
            idx = done.nonzero().squeeze(1)
            w_out[live[idx.cpu()].to(dev)] = w[idx]
            beta_out[live[idx.cpu()].to(dev)] = beta[idx]
            converged[live[idx.cpu()]] = (gnorm[idx] <= tol * g0[idx]).cpu()
            keep = (~done).nonzero().squeeze(1)
            if keep.numel() == 0:
                break
            live = live[keep.cpu()]
            w, beta, o, yl, ml, act, gw, gb, gnorm, g0 = (t[keep] for t in (w, beta, o, yl, ml, act, gw, gb, gnorm, g0))
        n_iter[live] += 1

        eta = torch.clamp(torch.sqrt(gnorm / g0), max=0.1)
        rho = (act @ rownorm2) / basis[2]
        sw, sb, q, k = _conjugate_gradients(X, act, gw, gb, eta * gnorm, C, s, rho, basis, max_cg_iter)
        cg_iter[live] += k.cpu()
        del act
        t = _line_search(w, beta, sw, sb, gw, gb, o, q, yl, ml, C)
        w += t[:, None] * sw
        beta += t * sb
        o += t[:, None] * q

    # Report from freshly computed margins (the incremental ones carry the rounding of many updates).
    w, beta = w_out, beta_out
    o = w @ X.T + s * beta[:, None]
    r = m * (y * o < 1) * (o - y)
    gw = w + 2 * C * (r @ X)
    gb = beta + 2 * C * s * r.sum(1)
    gnorm = torch.sqrt((gw * gw).sum(1) + gb * gb)
    g_start = 2 * C * torch.sqrt(((m * y) @ X).pow(2).sum(1) + (s * (m * y).sum(1)) ** 2)   # ‖∇f(0)‖
    rel = torch.where(g_start > 0, gnorm / torch.where(g_start > 0, g_start, 1), torch.zeros_like(gnorm))
    hinge = m * torch.clamp(1 - y * o, min=0)
    objective = 0.5 * ((w * w).sum(1) + beta * beta) + C * (hinge * hinge).sum(1)
    return dict(w=w.cpu(), beta=beta.cpu(), n_iter=n_iter, cg_iter=cg_iter, converged=converged,
                grad_norm=rel.cpu(), objective=objective.cpu())


def _conjugate_gradients(X, act, gw, gb, target, C, s, rho, basis, max_cg_iter):
    """Solve H_a [sw, sb] = −[gw, gb] for every row by preconditioned CG until ‖residual‖ ≤ target.

    Returns the step (sw [A, d], sb [A]), q = X̃ step [A, n] (accumulated from the products CG computes
    anyway) and the iterations per row. A row that reaches its target is written out and leaves the
    products (the running state is kept compact).
    """
    vecs, lam, _ = basis
    num, d = gw.shape
    n = act.shape[1]
    scale = 1 / (1 + 2 * C * rho[:, None] * lam)           # [A, d+1]: P_a⁻¹ in the eigenbasis

    def precondition(rw, rb, scale):
        z = (torch.cat([rw, rb[:, None]], 1) @ vecs) * scale
        z = z @ vecs.T
        return z[:, :d], z[:, d]

    out_w, out_b = torch.zeros_like(gw), torch.zeros_like(gb)
    out_q = torch.empty(num, n, dtype=gw.dtype, device=gw.device)
    iters = torch.zeros(num, dtype=torch.int64)
    rows = torch.arange(num, device=gw.device)
    sw, sb = torch.zeros_like(gw), torch.zeros_like(gb)
    q = torch.zeros(num, n, dtype=gw.dtype, device=gw.device)
    rw, rb = -gw, -gb
    zw, zb = precondition(rw, rb, scale)
    pw, pb = zw, zb
    rz = (rw * zw).sum(1) + rb * zb
    for it in range(1, max_cg_iter + 1):
        xp = pw @ X.T + s * pb[:, None]                    # X̃p, [running, n]
        u = act * xp
        hw = pw + 2 * C * (u @ X)
        hb = pb + 2 * C * s * u.sum(1)
        alpha = rz / ((pw * hw).sum(1) + pb * hb)
        sw += alpha[:, None] * pw
        sb += alpha * pb
        q += alpha[:, None] * xp
        rw = rw - alpha[:, None] * hw
        rb = rb - alpha * hb
        finished = torch.sqrt((rw * rw).sum(1) + rb * rb) <= target
        if it == max_cg_iter:
            finished = torch.ones_like(finished)
        if bool(finished.any()):
            idx = finished.nonzero().squeeze(1)
            dst = rows[idx]
            out_w[dst], out_b[dst], out_q[dst] = sw[idx], sb[idx], q[idx]
            iters[dst.cpu()] = it
            keep = (~finished).nonzero().squeeze(1)
            if keep.numel() == 0:
                break
            rows, act, target, scale = rows[keep], act[keep], target[keep], scale[keep]
            sw, sb, q, rw, rb, pw, pb, rz = (t[keep] for t in (sw, sb, q, rw, rb, pw, pb, rz))
        zw, zb = precondition(rw, rb, scale)
        rz_new = (rw * zw).sum(1) + rb * zb
        beta_cg = rz_new / rz
        rz = rz_new
        pw = zw + beta_cg[:, None] * pw
        pb = zb + beta_cg * pb
    return out_w, out_b, out_q, iters


def _line_search(w, beta, sw, sb, gw, gb, o, q, y, m, C) -> torch.Tensor:
    """t ≥ 0 minimising f(v + t s) per row: the root of the increasing piecewise linear φ'(t).

    φ'(t) = v·s + t‖s‖² + 2C Σ_{i: m_i, y_i(o_i + t q_i) < 1} (o_i + t q_i − y_i) q_i, φ'(0) = ∇f·s < 0.
    Safeguarded Newton: keep a bracket [lo, hi] with φ'(lo) < 0 < φ'(hi), take the Newton step of the
    piece at t when it stays inside, else bisect (or double t while no upper end is known). A Newton step
    from the piece that holds the root lands on it, so the search usually ends after one or two
    evaluations; it stops when |φ'(t)| ≤ 1e-9 |φ'(0)| or the step changes t by less than 1e-12 t. A row
    whose search is still open after LINE_SEARCH_STEPS takes the lower end of its bracket, a decrease.
    """
    vs = (w * sw).sum(1) + beta * sb
    ss = (sw * sw).sum(1) + sb * sb
    slope0 = (gw * sw).sum(1) + gb * sb
    open_ = slope0 < 0                       # a CG step is a descent direction unless ∇f = 0 already
    t = open_.to(w.dtype)                    # start at the Newton step, t = 1
    lo = torch.zeros_like(t)
    hi = torch.full_like(t, math.inf)
    for _ in range(LINE_SEARCH_STEPS):
        if not bool(open_.any()):
            return t
        z = torch.addcmul(o, t[:, None], q)
        qa = (m * (y * z < 1)) * q
        dphi = vs + t * ss + 2 * C * (qa * (z - y)).sum(1)
        ddphi = ss + 2 * C * (qa * q).sum(1)
        small = dphi.abs() <= 1e-9 * slope0.abs()
        lo = torch.where(open_ & (dphi < 0), t, lo)
        hi = torch.where(open_ & (dphi > 0), t, hi)
        newton = t - dphi / ddphi
        inside = (newton > lo) & (newton < hi)
        t_new = torch.where(inside, newton, torch.where(torch.isinf(hi), 2 * t, 0.5 * (lo + hi)))
        tiny = (t_new - t).abs() <= 1e-12 * t
        t = torch.where(open_ & ~small, t_new, t)
        open_ = open_ & ~(small | tiny)
    return torch.where(open_, lo, t)


def labels_and_mask(num_samples: int, kept: list[np.ndarray], labels: list[np.ndarray]) \
        -> tuple[np.ndarray, np.ndarray]:
    """Dense [n, A] 0/1 labels and a keep mask from per-attribute kept indices and their labels."""
    y = np.zeros((num_samples, len(kept)), dtype=np.int8)
    mask = np.zeros((num_samples, len(kept)), dtype=bool)
    for a, (idx, lab) in enumerate(zip(kept, labels)):
        y[idx, a] = lab
        mask[idx, a] = True
    return y, mask
