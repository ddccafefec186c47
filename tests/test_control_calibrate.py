"""GAN-Control thresholds τ± read off labelled images (ganeval/control/calibrate.py), by hand."""

import math

import pytest
import torch

from ganeval.errors import ConfigError


def test_threshold_calibration_matches_hand_computation():
    """control.calibrate: distance quantiles of same- / different-label pairs, suggested τ±, loss floors."""
    from ganeval.control.calibrate import embedding_distances, resolve_taus, tau_option

    # Attribute a: 1-d embeddings 0, 0.1, 1, 1.3, labels 0, 0, 1, 1 (l1 distance = |difference|).
    #   same-label pairs: d(0,1) = 0.1, d(2,3) = 0.3 -> median 0.2
    #   different-label pairs: d(0,2) = 1, d(0,3) = 1.3, d(1,2) = 0.9, d(1,3) = 1.2 -> median 1.1
    #   at τ⁺, τ⁻ = 0.15, 1.0: floor⁺ = mean(0, 0.15) = 0.075; floor⁻ over all six pairs =
    #   (0.9 + 0.7 + 0 + 0 + 0.1 + 0) / 6 = 1.7 / 6
    # Attribute b: the same embedding with labels 0, 1, 0, 1: same = d(0,2) = 1, d(1,3) = 1.2 -> median 1.1;
    #   different = d(0,1) = 0.1, d(0,3) = 1.3, d(1,2) = 0.9, d(2,3) = 0.3 -> median 0.6.
    e = torch.tensor([[0.0], [0.1], [1.0], [1.3]])
    labels = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]])
    df = embedding_distances([e, e], labels, ["a", "b"], "l1", tau=[0.15, 1.0])
    a, b = df.iloc[0], df.iloc[1]
    assert (a.pairs_same, a.pairs_diff, a.label_rate) == (2, 4, 0.5)
    assert a.same_median == pytest.approx(0.2) and a.diff_median == pytest.approx(1.1)
    assert a.suggested_tau_pos == pytest.approx(0.2) and a.suggested_tau_neg == pytest.approx(1.1)
    assert a.floor_pos == pytest.approx(0.075) and a.floor_neg == pytest.approx(1.7 / 6)
    assert b.same_median == pytest.approx(1.1) and b.diff_median == pytest.approx(0.6)
    # AUC = P(different-label d > same-label d): a: every one of the 4 x 2 comparisons -> 1; b: only 1.3 beats
    # 1 and 1.2 -> 2 / 8.
    assert a.auc == pytest.approx(1.0) and b.auc == pytest.approx(0.25)
    assert b.floor_neg == pytest.approx(a.floor_neg)          # floor⁻ runs over all pairs, whatever the labels
    # Without --tau the floors are taken at the suggested thresholds; per-attribute τ pairs are read in order.
    df2 = embedding_distances([e, e], labels, ["a", "b"], "l1")
    assert df2.tau_pos.tolist() == pytest.approx([0.2, 1.1])
    assert embedding_distances([e, e], labels, ["a", "b"], "l1", tau=[0.15, 1.0, 0.0, 0.0]).floor_neg.iloc[1] == 0
    assert tau_option(df2) == "0.2,1.1,1.1,0.6"
    assert resolve_taus([0.1, 0.5], 3) == [(0.1, 0.5)] * 3
    assert resolve_taus([1, 2, 3, 4], 2) == [(1.0, 2.0), (3.0, 4.0)]
    with pytest.raises(ConfigError, match="control-tau"):
        resolve_taus([1, 2, 3], 2)
    with pytest.raises(ConfigError, match="same label"):
        embedding_distances([e], torch.zeros(4, 1), ["a"], "l1")
    with pytest.raises(ConfigError, match="--tau takes"):
        embedding_distances([e, e], labels, ["a", "b"], "l1", tau=[0.1, 0.2, 0.3])


def test_distances_of_one_label_images():
    """A generator may never draw an attribute: with one_label_ok and given thresholds its row has NaN where both
    labels are needed, and floors over the pairs it has (all same-label)."""
    from ganeval.control.calibrate import embedding_distances

    e = torch.tensor([[0.0], [0.1], [1.0], [1.3]])
    df = embedding_distances([e], torch.zeros(4, 1), ["a"], "l1", tau=[0.15, 1.0], one_label_ok=True)
    r = df.iloc[0]
    assert (r.pairs_same, r.pairs_diff, r.label_rate) == (6, 0, 0.0)
    assert math.isnan(r.auc) and math.isnan(r.diff_median) and math.isnan(r.suggested_tau_neg)
    # all six pairs: 0.1, 1, 1.3, 0.9, 1.2, 0.3 -> median 0.95; floor⁺ = (0 + 0.85 + 1.15 + 0.75 + 1.05 + 0.15) / 6
    assert r.all_median == pytest.approx(0.95) and r.same_median == pytest.approx(0.95)
    assert r.floor_pos == pytest.approx(3.95 / 6) and r.floor_neg == pytest.approx(1.7 / 6)
    with pytest.raises(ConfigError, match="same label"):   # thresholds cannot be suggested from one label
        embedding_distances([e], torch.zeros(4, 1), ["a"], "l1", one_label_ok=True)
