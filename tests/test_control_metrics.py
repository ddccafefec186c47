"""Controllability metrics (ganeval/control/metrics.py): the SVM-steering baseline and several judges."""

import pandas as pd
import pytest
import torch

from ganeval.control.encoders import load_control
from ganeval.errors import ConfigError
from ganeval.features.attributes import AttributeClassifiers, save_classifiers


@pytest.fixture
def uncontrolled(tiny_G):
    """Factory: uncontrolled(clf_path) -> a tiny uncontrolled StyleGAN2 and the two attributes the classifiers in
    clf_path split most evenly on it (so an SVM on their labels has two classes)."""
    from ganeval.features.attributes import load_classifiers

    def make(clf_path):
        G = tiny_G(width=16)
        clf = load_classifiers(clf_path)
        with torch.no_grad():
            p = (clf(G(torch.randn(64, 16), noise_mode="const")) > 0).float().mean(0)
        return G, [clf.attr_names[i] for i in torch.argsort((p - 0.5).abs())[:2].tolist()]
    return make


def test_steering_baseline_rows(trained_control, uncontrolled):
    """The uncontrolled baseline: attributes set by moving w along SVM normals; same rows as control_metrics."""
    from ganeval.control.metrics import steering_metrics
    from ganeval.features.attributes import load_classifiers

    _, clf_path = trained_control
    G, attrs = uncontrolled(clf_path)
    df = steering_metrics(G, load_classifiers(clf_path), attrs=attrs, num_fit=96, num_samples=32)
    assert set(df.control_method) == {"svm-steering"} and set(df.attr) == set(attrs) | {"ALL"}
    acc = df[(df.metric == "control_accuracy") & (df.attr != "ALL")]
    assert acc.value.between(0, 1).all()
    eff = df[(df.metric == "control_effect") & (df.attr != "ALL")]
    assert (eff.value > 0).all()     # moving along +n raises the attribute's probability
    assert set(df.steer_quantile) == {0.9}
    # A weaker edit (targets nearer the boundary) moves the attribute less.
    weak = steering_metrics(G, load_classifiers(clf_path), attrs=attrs, num_fit=96, num_samples=32, quantile=0.6)
    weak_eff = weak[(weak.metric == "control_effect") & (weak.attr != "ALL")]
    assert (weak_eff.value.to_numpy() < eff.value.to_numpy()).all()
    with pytest.raises(ConfigError, match="quantile"):
        steering_metrics(G, load_classifiers(clf_path), attrs=attrs, quantile=1.0)


def test_steering_matched_to_an_effect(trained_control, uncontrolled):
    """match_effect: each attribute's edit strength c is found so that the steered effect equals the target (on
    the evaluation latents themselves when match_samples covers them); a target out of reach gives c = max_scale
    and steer_reached False."""
    from ganeval.control.metrics import steering_metrics
    from ganeval.features.attributes import load_classifiers

    _, clf_path = trained_control
    G, attrs = uncontrolled(clf_path)
    clf = load_classifiers(clf_path)
    kw = dict(attrs=attrs, num_fit=96, num_samples=32)
    plain = steering_metrics(G, clf, **kw)
    per_attr = plain[plain.attr != "ALL"]
    assert (per_attr.steer_scale == 1).all() and per_attr.steer_reached.isna().all()
    # Out of reach: c = max_scale, steer_reached False (this tiny model's edits move its attributes little).
    far = steering_metrics(G, clf, **kw, match_effect={a: 0.999 for a in attrs}, max_scale=4.0, match_samples=32)
    far_eff = far[(far.metric == "control_effect") & (far.attr != "ALL")].set_index("attr")
    assert (far_eff.steer_scale == 4).all() and not far_eff.steer_reached.any()
    e1 = plain[(plain.metric == "control_effect") & (plain.attr != "ALL")].set_index("attr").value
    assert (far_eff.value > e1).all() and (e1 > 0).all()    # a stronger edit (c = 4 > 1) moves them more
    # Reachable: half the c = 4 effect is matched on the evaluation latents (match_samples covers them all).
    half = {a: far_eff.value[a] / 2 for a in attrs}
    m = steering_metrics(G, clf, **kw, match_effect=half, max_scale=4.0, match_samples=32, match_tol=0.001)
    eff = m[(m.metric == "control_effect") & (m.attr != "ALL")].set_index("attr")
    for a in attrs:
        assert eff.steer_reached[a] and abs(eff.value[a] - half[a]) <= 0.001
        assert 0 < eff.steer_scale[a] < 4 and eff.steer_target_effect[a] == pytest.approx(half[a])
    # Only the attributes named are matched; the others keep c = 1 and their plain rows.
    one = steering_metrics(G, clf, **kw, match_effect={attrs[0]: half[attrs[0]]}, match_samples=32)
    rest = one[(one.attr == attrs[1])].reset_index(drop=True)
    assert (rest.steer_scale == 1).all()
    pd.testing.assert_series_equal(rest.value, plain[plain.attr == attrs[1]].reset_index(drop=True).value)


def test_several_judges_see_the_same_images(quick_encoders, tmp_path, uncontrolled):
    """Judging with [A, B] gives A's rows exactly as A alone and B's as B alone (the same images, classified by
    both); the steering baseline fits its SVMs on fit_classifiers' labels whoever judges."""
    from ganeval.control.metrics import control_metrics, default_judges, steering_metrics

    snap, ckpt, clf_a = quick_encoders
    torch.manual_seed(1)
    clf_b = save_classifiers(AttributeClassifiers(resolution=16, channels=(6, 8), hidden=4), tmp_path / "judge.pt")
    G, enc = load_control(ckpt)
    value_cols = ["metric", "attr", "value", "ci_low", "ci_high", "leak_max_attr", "leak_max", "leak_controlled"]
    both = control_metrics(G, enc, [str(clf_a), str(clf_b)], num_samples=24)
    assert list(dict.fromkeys(both.feature_net)) == [str(clf_a), str(clf_b)]
    for clf in (clf_a, clf_b):
        alone = control_metrics(G, enc, str(clf), num_samples=24)
        mine = both[both.feature_net == str(clf)].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine[value_cols], alone[value_cols])
        assert (mine.attr == "ALL").sum() == 3        # an ALL row per metric and judge
    # Judges differ (else the test above could not tell them apart).
    acc = both[both.metric == "control_leakage"].groupby("feature_net").value.apply(list)
    assert acc[str(clf_a)] != acc[str(clf_b)]

    base, attrs = uncontrolled(clf_a)
    kw = dict(attrs=attrs, num_fit=96, num_samples=16)
    steer_both = steering_metrics(base, [str(clf_a), str(clf_b)], fit_classifiers=str(clf_a), **kw)
    steer_a = steering_metrics(base, str(clf_a), **kw)
    steer_b = steering_metrics(base, str(clf_b), fit_classifiers=str(clf_a), **kw)
    for net, alone in ((clf_a, steer_a), (clf_b, steer_b)):
        mine = steer_both[steer_both.feature_net == str(net)].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine[value_cols], alone[value_cols])
    assert set(steer_both.steer_fit_net) == {str(clf_a)}
    # Defaults: the training net only, unless it is the bundled set and the bundled judge is there.
    assert default_judges(snap) == [str(clf_a)]
