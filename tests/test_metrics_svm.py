"""The batched linear-SVM solver (ganeval.metrics.svm) against scikit-learn's liblinear, converged.

The reference fits are LinearSVC run far past its defaults: the primal trust-region Newton solver
(dual=False) with tol 1e-12, and the dual coordinate descent (dual=True, the LS protocol's solver) with
tol 1e-10 and no practical iteration limit. Both minimise the objective fit_linear_svms minimises, so
coefficients, intercepts, objective values and predictions must agree.
"""

import warnings

import numpy as np
import pytest
import scipy.optimize
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from ganeval.errors import ConfigError
from ganeval.metrics.svm import SVMFit, fit_linear_svms, labels_and_mask

pytestmark = pytest.mark.usefixtures("one_thread")


def _problem(n=500, d=8, num_attrs=4, seed=0, keep=0.6):
    """Features with a mean and unequal spreads (like StyleGAN's w), noisy linear labels, one mask per attribute;
    the offsets make some attributes unbalanced."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.geomspace(3, 0.2, d) + 1.5
    U = rng.normal(size=(d, num_attrs))
    scores = (X - X.mean(0)) @ U
    scores /= scores.std(0)
    offsets = np.linspace(-1, 1, num_attrs)
    Y = (scores + offsets + 0.8 * rng.normal(size=(n, num_attrs)) > 0).astype(np.int64)
    M = rng.random((n, num_attrs)) < keep
    return X, Y, M


def _objective(coef, intercept, X, y, C, intercept_scaling=1.0):
    """½‖[w, b/s]‖² + C Σ max(0, 1 − ±(x·w + b))², in numpy: liblinear's L2R_L2LOSS_SVC primal."""
    beta = intercept / intercept_scaling
    hinge = np.maximum(0, 1 - (2 * y - 1) * (X @ coef + intercept))
    return 0.5 * (coef @ coef + beta * beta) + C * (hinge * hinge).sum()


def _liblinear(X, y, C, dual, intercept_scaling=1.0):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the reference must have converged
        tol, max_iter = (1e-10, 1_000_000) if dual else (1e-12, 10_000)
        return LinearSVC(C=C, dual=dual, tol=tol, max_iter=max_iter, intercept_scaling=intercept_scaling).fit(X, y)


# liblinear's dual coordinate descent needs ~10⁵ epochs at C = 20 on this problem: primal only there.
@pytest.mark.parametrize(("C", "dual"), [(0.05, False), (0.05, True), (1.0, False), (1.0, True), (20.0, False)])
def test_equals_converged_liblinear_with_masks(C, dual):
    X, Y, M = _problem()
    fit = fit_linear_svms(X, Y, M, C=C, tol=1e-10)
    assert isinstance(fit, SVMFit) and fit.coef.shape == (4, 8) and fit.intercept.shape == (4,)
    assert fit.converged.all() and (fit.grad_norm <= fit.tol).all() and (fit.n_iter >= 1).all()
    for a in range(Y.shape[1]):
        Xa, ya = X[M[:, a]], Y[M[:, a], a]
        ref = _liblinear(Xa, ya, C, dual)
        coef, b = fit.coef[a].numpy(), float(fit.intercept[a])
        scale = np.abs(ref.coef_[0]).max()
        np.testing.assert_allclose(coef, ref.coef_[0], rtol=0, atol=1e-6 * scale)
        assert b == pytest.approx(ref.intercept_[0], rel=1e-6, abs=1e-6 * scale)
        np.testing.assert_array_equal(fit.predict(Xa)[:, a].numpy(), ref.predict(Xa))
        # The objective: what the fit reports, recomputed here, and no worse than liblinear's.
        ours, theirs = _objective(coef, b, Xa, ya, C), _objective(ref.coef_[0], ref.intercept_[0], Xa, ya, C)
        assert float(fit.objective[a]) == pytest.approx(ours, rel=1e-12)
        assert ours <= theirs * (1 + 1e-12) and ours == pytest.approx(theirs, rel=1e-9)


def test_default_tolerance_predicts_as_converged_liblinear():
    """tol=1e-6 leaves the weights ~1e-5 from the optimum in flat directions: the same predictions and
    objective value."""
    X, Y, M = _problem(n=3000, d=16, num_attrs=4, seed=6)
    fit = fit_linear_svms(X, Y, M)
    assert fit.tol == 1e-6 and fit.converged.all()
    for a in range(Y.shape[1]):
        Xa, ya = X[M[:, a]], Y[M[:, a], a]
        ref = _liblinear(Xa, ya, 1.0, dual=False)
        np.testing.assert_array_equal(fit.predict(Xa)[:, a].numpy(), ref.predict(Xa))
        theirs = _objective(ref.coef_[0], ref.intercept_[0], Xa, ya, 1.0)
        assert float(fit.objective[a]) == pytest.approx(theirs, rel=1e-9)


def test_intercept_scaling_is_a_regularised_constant_feature():
    X, Y, M = _problem(seed=1, num_attrs=2)
    fit = fit_linear_svms(X, Y, M, C=0.5, intercept_scaling=3.0, tol=1e-10)
    for a in range(2):
        ref = _liblinear(X[M[:, a]], Y[M[:, a], a], 0.5, dual=False, intercept_scaling=3.0)
        scale = np.abs(ref.coef_[0]).max()
        np.testing.assert_allclose(fit.coef[a].numpy(), ref.coef_[0], rtol=0, atol=1e-6 * scale)
        assert float(fit.intercept[a]) == pytest.approx(ref.intercept_[0], rel=1e-6)
    # A larger constant feature regularises the intercept less: the fits differ from intercept_scaling=1.
    assert not torch.allclose(fit.intercept, fit_linear_svms(X, Y, M, C=0.5).intercept, rtol=1e-3)


def test_one_class_attribute_is_fitted_to_the_optimum():
    """liblinear refuses a single class; the objective is still well defined and the solver minimises it."""
    X, Y, M = _problem(seed=2, num_attrs=2)
    Y[:, 1] = 1
    fit = fit_linear_svms(X, Y, M, C=1.0, tol=1e-10)
    assert bool(fit.converged[1])
    Xa = X[M[:, 1]]
    # An independent minimiser of the same objective (scipy's L-BFGS on [w, β]).
    def f(v):
        hinge = np.maximum(0, 1 - (Xa @ v[:-1] + v[-1]))
        return 0.5 * v @ v + (hinge * hinge).sum(), v - 2 * np.concatenate([Xa, np.ones((len(Xa), 1))], 1).T @ hinge
    res = scipy.optimize.minimize(f, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B",
                                  options=dict(gtol=1e-12, ftol=1e-15, maxiter=10_000))
    np.testing.assert_allclose(fit.coef[1].numpy(), res.x[:-1], atol=1e-6 * np.abs(res.x).max())
    assert float(fit.intercept[1]) == pytest.approx(res.x[-1], rel=1e-6)
    assert float(fit.objective[1]) == pytest.approx(res.fun, rel=1e-10)
    assert (fit.predict(Xa)[:, 1] == 1).all()            # every sample on its class's side
    # The other attribute is unaffected by its neighbour.
    ref = _liblinear(X[M[:, 0]], Y[M[:, 0], 0], 1.0, dual=False)
    np.testing.assert_allclose(fit.coef[0].numpy(), ref.coef_[0], atol=1e-6 * np.abs(ref.coef_).max())


def test_empty_mask_gives_the_zero_vector_without_iterating():
    X, Y, M = _problem(num_attrs=2)
    M[:, 0] = False
    fit = fit_linear_svms(X, Y, M)
    assert (fit.coef[0] == 0).all() and fit.intercept[0] == 0 and fit.n_iter[0] == 0 and bool(fit.converged[0])
    assert float(fit.objective[0]) == 0.0 and fit.n_iter[1] > 0


def test_attribute_chunks_and_order_do_not_change_the_fits():
    X, Y, M = _problem(num_attrs=5, seed=3)
    together = fit_linear_svms(X, Y, M)
    one_by_one = fit_linear_svms(X, Y, M, attrs_per_solve=1)
    reversed_ = fit_linear_svms(X, Y[:, ::-1].copy(), M[:, ::-1].copy(), attrs_per_solve=2)
    for other, flip in ((one_by_one, False), (reversed_, True)):
        coef, intercept = (other.coef.flip(0), other.intercept.flip(0)) if flip else (other.coef, other.intercept)
        torch.testing.assert_close(coef, together.coef, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(intercept, together.intercept, rtol=1e-9, atol=1e-12)


def test_mask_is_the_same_as_fitting_the_subset():
    # The preconditioner sees all rows, so the iterates differ; the optimum does not.
    X, Y, M = _problem(num_attrs=1, seed=4)
    masked = fit_linear_svms(X, Y, M, tol=1e-12)
    subset = fit_linear_svms(X[M[:, 0]], Y[M[:, 0]], tol=1e-12)
    torch.testing.assert_close(masked.coef, subset.coef, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(masked.intercept, subset.intercept, rtol=1e-9, atol=1e-12)


def test_iteration_limit_is_reported_as_not_converged():
    X, Y, M = _problem(num_attrs=2, seed=5)
    fit = fit_linear_svms(X, Y, M, max_iter=1)
    assert fit.n_iter.tolist() == [1, 1] and not fit.converged.any() and (fit.grad_norm > fit.tol).all()
    loose = fit_linear_svms(X, Y, M, tol=1e-2)
    full = fit_linear_svms(X, Y, M)
    assert (loose.n_iter <= full.n_iter).all() and (loose.grad_norm <= 1e-2).all()


def test_labels_and_mask_from_kept_indices():
    y, mask = labels_and_mask(5, [np.array([4, 0]), np.array([2])], [np.array([1, 0]), np.array([1])])
    assert y.tolist() == [[0, 0], [0, 0], [0, 1], [0, 0], [1, 0]]
    assert mask.tolist() == [[True, False], [False, False], [False, True], [False, False], [True, False]]


def test_inputs_are_checked():
    X, Y, M = _problem(n=20, num_attrs=2)
    with pytest.raises(ConfigError, match="0/1"):
        fit_linear_svms(X, 2 * Y - 1)
    with pytest.raises(ConfigError, match="labels"):
        fit_linear_svms(X, Y[:10])
    with pytest.raises(ConfigError, match="mask"):
        fit_linear_svms(X, Y, M[:, :1])
    with pytest.raises(ConfigError, match="C"):
        fit_linear_svms(X, Y, C=0)
    X[3, 1] = np.nan
    with pytest.raises(ConfigError, match="non-finite"):
        fit_linear_svms(X, Y)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_equals_cpu():
    X, Y, M = _problem(n=2000, d=32, num_attrs=6)
    cpu = fit_linear_svms(X, Y, M, device="cpu")
    gpu = fit_linear_svms(X, Y, M, device="cuda")
    assert gpu.coef.device.type == "cpu"
    torch.testing.assert_close(gpu.coef, cpu.coef, rtol=1e-8, atol=1e-10)
    assert torch.equal(gpu.predict(X), cpu.predict(X))
