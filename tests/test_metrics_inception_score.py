"""Inception Score (ganeval/metrics/inception_score.py): closed forms, a hand-computed split, NVIDIA's contiguous
splits and population standard deviation, logits, input validation."""

import numpy as np
import pytest
import torch
from scipy.special import softmax

from ganeval.errors import ConfigError, MetricError
from ganeval.metrics.inception_score import inception_score, split_scores


def reference(probs, splits):
    """The per-split formula written out: exp(mean_x sum_y p log(p / p_mean)), parts [i N // s, (i+1) N // s)."""
    n, scores = len(probs), []
    for i in range(splits):
        part = probs[i * n // splits:(i + 1) * n // splits]
        marginal = part.mean(0)
        scores.append(np.exp(np.mean([sum(p * np.log(p / m) for p, m in zip(row, marginal, strict=True) if p > 0)
                                      for row in part])))
    return np.mean(scores), np.std(scores)


def test_uniform_predictions_score_one():
    assert inception_score(np.full((50, 7), 1 / 7)) == pytest.approx((1.0, 0.0), abs=1e-12)


@pytest.mark.parametrize("classes", [2, 10, 1008])
def test_confident_predictions_spread_evenly_score_the_class_count(classes):
    probs = np.eye(classes)[np.arange(10 * classes) % classes]  # every split holds each class once
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(classes, rel=1e-12) and std == pytest.approx(0, abs=1e-9)


def test_one_split_by_hand():
    # p(y) = (0.75, 0.25); KL of (1, 0) = log(4/3), of (1/2, 1/2) = (log(2/3) + log 2) / 2 = log(4/3) / 2
    mean, std = inception_score(np.array([[1.0, 0.0], [0.5, 0.5]]), splits=1)
    assert mean == pytest.approx((4 / 3) ** 0.75, rel=1e-14) and std == 0


def test_splits_are_contiguous_and_std_is_the_population_one():
    halves = np.eye(2)[[0, 0, 0, 0, 1, 1, 1, 1]]  # first half class 0, second half class 1
    assert inception_score(halves, splits=1)[0] == pytest.approx(2)
    assert inception_score(halves, splits=2) == pytest.approx((1, 0))  # shuffled splits would score above 1
    mixed = np.concatenate([np.eye(2)[[0, 1, 0, 1]], np.full((4, 2), 0.5)])  # split scores 2 and 1
    np.testing.assert_allclose(split_scores(mixed, 2), [2, 1], rtol=1e-14)
    assert inception_score(mixed, splits=2) == pytest.approx((1.5, 0.5), rel=1e-14)


def test_matches_the_written_out_formula_with_uneven_splits():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(6, 0.3), size=103)  # 103 rows: splits of 10 and 11
    probs[3, 2] = 0.0
    probs[3] /= probs[3].sum()
    got, want = inception_score(probs, splits=10), reference(probs, 10)
    assert got == pytest.approx(want, rel=1e-12)
    assert got[1] > 0


def test_logits():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(60, 12)) * 3
    from_logits = inception_score(logits, splits=3, from_logits=True)
    assert from_logits == pytest.approx(inception_score(softmax(logits, axis=1), splits=3), rel=1e-12)
    shifted = logits + rng.normal(size=(60, 1)) * 100  # softmax ignores a per-row offset
    assert inception_score(shifted, splits=3, from_logits=True) == pytest.approx(from_logits, rel=1e-10)
    huge = np.array([[0.0, 1000.0], [1000.0, 0.0]])  # softmax underflows to exact zeros: no NaN
    assert inception_score(huge, splits=1, from_logits=True) == pytest.approx((2, 0))


def test_torch_and_float16_inputs():
    probs = np.random.default_rng(2).dirichlet(np.ones(5), size=40)
    want = inception_score(probs, splits=4)
    assert inception_score(torch.from_numpy(probs).float(), splits=4) == pytest.approx(want, rel=1e-6)
    assert inception_score(probs.astype(np.float16), splits=4) == pytest.approx(want, rel=1e-2)


@pytest.mark.parametrize("probs, kw, err, match", [
    (np.full((5, 3), 1 / 3), dict(splits=10), MetricError, "at least 10 samples"),
    (np.full((5, 3), 1 / 3), dict(splits=0), ConfigError, "positive"),
    (np.full((5, 3), 1 / 3), dict(splits=2.0), ConfigError, "positive"),
    (np.full(9, 1 / 3), dict(splits=1), MetricError, "2-D"),
    (np.zeros((4, 0)), dict(splits=1), MetricError, "2-D"),
    (np.array([[0.5, 0.6], [0.5, 0.5]]), dict(splits=1), MetricError, "summing to 1.*from_logits"),
    (np.array([[1.5, -0.5], [0.5, 0.5]]), dict(splits=1), MetricError, "non-negative"),
    (np.array([[np.nan, 1.0], [0.5, 0.5]]), dict(splits=1), MetricError, "NaN"),
    (np.array([[np.inf, 1.0], [0.5, 0.5]]), dict(splits=1, from_logits=True), MetricError, "logits contain NaN"),
])
def test_bad_inputs_fail_with_one_line(probs, kw, err, match):
    with pytest.raises(err, match=match) as e:
        inception_score(probs, **kw)
    assert "\n" not in str(e.value)
