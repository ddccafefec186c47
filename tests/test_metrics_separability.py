"""Linear separability (ganeval.metrics.separability): information theory, pruning, SVM fits, the metric."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.svm import LinearSVC

from ganeval.errors import ConfigError, MetricError, NonFiniteError
from ganeval.metrics.separability import (
    CLASSIFIER_BATCH,
    conditional_entropy,
    confidence_and_labels,
    joint_table,
    separability,
    separability_from_predictions,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _nvidia_conditional_entropy(p):
    """NVlabs/stylegan linear_separability.py, re-typed: H(Y) - I(X;Y) with the same loops."""
    p = np.asarray(p, dtype=np.float32)
    p = p / p.sum()
    px, py = p.sum(axis=1), p.sum(axis=0)
    mi = sum(p[x][y] * np.log2(p[x][y] / (px[x] * py[y])) for x in range(2) for y in range(2) if p[x][y] > 0)
    hy = -sum(q * np.log2(q) for q in py if q > 0)
    return max(0.0, float(hy - mi))


def test_conditional_entropy_hand_worked_table():
    # Rows: SVM says 0 / 1 (each half the time); columns: label. H(Y|X) = .5 H(.8, .2) + .5 H(.4, .6).
    table = [[0.4, 0.1], [0.2, 0.3]]
    h_row0 = -(0.8 * np.log2(0.8) + 0.2 * np.log2(0.2))   # 0.721928
    h_row1 = -(0.4 * np.log2(0.4) + 0.6 * np.log2(0.6))   # 0.970951
    assert conditional_entropy(table) == pytest.approx(0.5 * h_row0 + 0.5 * h_row1, abs=1e-12)
    assert conditional_entropy(table) == pytest.approx(0.846439, abs=1e-6)
    assert conditional_entropy(table) == pytest.approx(_nvidia_conditional_entropy(table), abs=1e-6)
    assert conditional_entropy([[0.5, 0], [0, 0.5]]) == 0.0            # perfect prediction
    assert conditional_entropy([[0.25, 0.25], [0.25, 0.25]]) == pytest.approx(1.0)
    assert conditional_entropy([[4, 1], [2, 3]]) == pytest.approx(0.846439, abs=1e-6)  # counts are normalised


def test_joint_table_and_pruning_rule():
    assert np.array_equal(joint_table([0, 0, 1, 1], [0, 1, 1, 1]), np.array([[0.25, 0.25], [0, 0.5]]))
    conf, lab = confidence_and_labels(np.array([2.0, -0.5, 0.0, -3.0]))
    np.testing.assert_allclose(conf, 1 / (1 + np.exp(-2 * np.abs([2.0, -0.5, 0.0, -3.0]))), rtol=1e-6)
    assert lab.tolist() == [0, 1, 0, 1]  # argmax of softmax([l, -l]); a tie goes to class 0


def _latents(n=1200, d=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng


def test_linear_attribute_in_w_has_zero_entropy_and_shuffled_labels_one_bit():
    z, w, rng = _latents()
    direction = rng.normal(size=12)
    linear = w @ direction * 4                       # a linear function of w (not of z)
    shuffled = rng.permutation(linear)                # same marginal, no relation to anything
    df = separability_from_predictions(z, w, np.stack([linear, shuffled], 1), ["lin", "shuf"], num_keep=600,
                                       n_jobs=2, bootstrap=20)
    h = df.set_index(["space", "attr"])["cond_entropy_bits"]
    assert h["w", "lin"] < 0.05
    assert h["z", "lin"] > 0.9
    assert h["w", "shuf"] > 0.9 and h["z", "shuf"] > 0.9
    total = df[(df.attr == "ALL") & (df.space == "w")].iloc[0]
    assert total["metric"] == "ls" and total["value"] == pytest.approx(2 ** (h["w", "lin"] + h["w", "shuf"]))
    assert set(df["metric"]) == {"ls", "ls_entropy"}
    assert (df["num_kept"] == 600).all() and (df["ci_low"] <= df["value"] + 1e-12).all()


def test_keeps_the_most_confident_half():
    z, w, rng = _latents(n=400)
    logits = rng.normal(size=400) * 0.1
    logits[:200] = np.sign(logits[:200]) * (5 + np.abs(logits[:200]))  # these are the confident ones
    df = separability_from_predictions(z, w, logits[:, None], ["a"], num_keep=200, n_jobs=1, bootstrap=0)
    # The kept set is exactly the first 200, so the labels are their signs: compare the SVM accuracy to
    # a refit done here on exactly those samples.
    from sklearn.svm import LinearSVC

    row = df[(df.space == "w") & (df.attr == "a")].iloc[0]
    y = (logits[:200] < 0).astype(int)
    assert 0.5 <= row["svm_accuracy"] <= 1.0 and row["label_balance"] == pytest.approx(y.mean())
    acc = LinearSVC(dual=True).fit(w[:200], y).score(w[:200], y)
    assert row["svm_accuracy"] == pytest.approx(acc, abs=0.03)


@pytest.mark.parametrize("svm", ["liblinear", "batched"])
def test_svm_failure_uses_labels_as_the_reference_does(svm):
    z, w, rng = _latents(n=100)
    logits = np.stack([np.full(100, 3.0), w @ rng.normal(size=12)], 1)
    df = separability_from_predictions(z, w, logits, ["const", "lin"], num_keep=50, bootstrap=5, svm=svm)
    row = df[(df.attr == "const") & (df.space == "z")].iloc[0]
    assert bool(row["svm_failed"]) and "predictions = labels" in row["svm_note"]
    assert row["cond_entropy_bits"] == 0.0 and row["svm_accuracy"] == 1.0
    assert pd.isna(row["svm_iter"]) and pd.isna(row["svm_converged"])
    total = df[(df.attr == "ALL") & (df.space == "z")].iloc[0]
    assert "1 SVM fit(s) failed" in total["svm_note"] and bool(total["svm_failed"])
    assert not df[df.attr == "lin"]["svm_failed"].any()


def test_batched_svm_predicts_as_converged_liblinear():
    """svm='batched': the entropies of converged LinearSVC fits, recomputed here; rows name the solver."""
    z, w, rng = _latents(n=3000, d=10, seed=1)
    logits = np.stack([w @ rng.normal(size=10) + rng.normal(size=3000),          # noisy rule in w
                       z @ rng.normal(size=10) + 0.8 + rng.normal(size=3000),    # in z, unbalanced
                       rng.normal(size=3000)], 1)                                # no rule
    df = separability_from_predictions(z, w, logits, ["a", "b", "c"], num_keep=1500, bootstrap=10, svm="batched")
    assert (df["svm_solver"] == "batched-newton").all() and len(df) == 8
    for space, X in (("z", z), ("w", w)):
        for a, attr in enumerate("abc"):
            conf, lab = confidence_and_labels(logits[:, a])
            idx = np.argsort(-conf, kind="stable")[:1500]
            ref = LinearSVC(dual=False, tol=1e-12, max_iter=10_000).fit(X[idx], lab[idx])
            pred = ref.predict(X[idx])
            row = df[(df.space == space) & (df.attr == attr)].iloc[0]
            assert row["value"] == conditional_entropy(joint_table(pred, lab[idx]))
            assert row["svm_accuracy"] == np.mean(pred == lab[idx])
            assert bool(row["svm_converged"]) and row["svm_iter"] >= 1 and pd.isna(row["svm_note"])
        rows = df[df.space == space]
        total = rows[rows.attr == "ALL"].iloc[0]
        assert total["svm_time_s"] == pytest.approx(rows[rows.attr != "ALL"]["svm_time_s"].sum())
        assert total["svm_converged"] and total["value"] == pytest.approx(2 ** rows[rows.attr != "ALL"]["value"].sum())
    h = df.set_index(["space", "attr"])["value"]
    assert h["w", "a"] < h["z", "a"] and h["z", "b"] < h["w", "b"] and h["w", "c"] > 0.9
    reference = separability_from_predictions(z, w, logits, ["a", "b", "c"], num_keep=1500, bootstrap=0)
    assert (reference["svm_solver"] == "liblinear-dual-2019").all()


def test_bad_arguments():
    z, w, _ = _latents(n=10)
    with pytest.raises(ConfigError):
        separability_from_predictions(z, w, np.zeros((10, 2)), ["a"], num_keep=5)
    with pytest.raises(ConfigError):
        separability_from_predictions(z, w, np.zeros((10, 1)), ["a"], num_keep=11)
    with pytest.raises(ConfigError, match="unknown svm 'sag' \\(choose from: liblinear, batched\\)"):
        separability_from_predictions(z, w, np.zeros((10, 1)), ["a"], num_keep=5, svm="sag")


def test_separability_on_a_generator_is_batch_size_independent(metric_G, tiny_classifiers):
    G, clf = metric_G(res=16), tiny_classifiers(resolution=8)
    kw = dict(classifiers=clf, attrs="male,young", num_samples=40, seed=5, n_jobs=1, bootstrap=20)
    a = separability(G, batch_size=4, **kw)
    b = separability(G, batch_size=16, **kw)
    np.testing.assert_allclose(a["value"].to_numpy(), b["value"].to_numpy(), rtol=1e-6, atol=1e-9)
    assert list(a["attr"]) == ["male", "young", "ALL", "male", "young", "ALL"]
    assert list(a["space"]) == ["z"] * 3 + ["w"] * 3
    row = a.iloc[-1]
    assert row["num_kept"] == 20 and row["num_samples"] == 40 and row["classifier_resize"] == "box"
    assert row["feature_net"] == "tiny-classifiers" and row["arch"] == "stylegan2"


def test_classifier_batch_is_free_of_the_generation_blocks(metric_G, tiny_classifiers):
    # 1,040 samples: 65 blocks of 16 in chunks of 2 blocks; batch_size=1024 classifies a whole chunk (32 images)
    # per call, the default a block per call: the same numbers.
    G, clf = metric_G(res=16), tiny_classifiers(resolution=8)
    kw = dict(classifiers=clf, attrs="male", num_samples=1040, seed=2, svm="batched", bootstrap=0)
    assert CLASSIFIER_BATCH == 16
    np.testing.assert_array_equal(separability(G, batch_size=1024, **kw)["value"].to_numpy(),
                                  separability(G, **kw)["value"].to_numpy())


def test_separability_with_the_batched_solver(metric_G, tiny_classifiers, tmp_path):
    G, clf = metric_G(res=16), tiny_classifiers(resolution=8)
    kw = dict(classifiers=clf, attrs="male,young", num_samples=48, seed=5, bootstrap=10, state_dir=tmp_path / "s")
    df = separability(G, svm="batched", **kw)
    assert (df["svm_solver"] == "batched-newton").all() and len(df) == 6
    assert df[df.attr != "ALL"]["svm_converged"].all() and np.isfinite(df["value"]).all()
    # The state holds latents and logits, not fits: the other solver refits them without generating again, and
    # gives what a fresh run with that solver gives.
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert "svm" not in manifest["settings"]
    resumed = separability(G, svm="liblinear", n_jobs=1, **kw)
    fresh = separability(G, svm="liblinear", n_jobs=1, **{**kw, "state_dir": None})
    assert (resumed["svm_solver"] == fresh["svm_solver"]).all() and resumed["svm_solver"].iloc[0] != "batched-newton"
    np.testing.assert_array_equal(resumed["value"].to_numpy(), fresh["value"].to_numpy())
    with pytest.raises(ConfigError, match="unknown svm"):
        separability(G, svm="newton", **kw)


def test_generator_without_w_gets_z_rows_only(metric_G, tiny_classifiers):
    G, clf = metric_G("stylegan", res=8, depth=0), tiny_classifiers(resolution=8)
    df = separability(G, clf, attrs="all", num_samples=20, n_jobs=1, bootstrap=0)
    assert set(df["space"]) == {"z"} and df.iloc[-1]["classifier_resize"] == "none"
    with pytest.raises(MetricError):
        separability(G, clf, num_samples=20, spaces=("z", "w"))


def test_classifier_contract_is_checked(metric_G):
    with pytest.raises(ConfigError, match="attr_names"):
        separability(metric_G(res=8), torch.nn.Linear(2, 2), num_samples=4)


def test_rows_warn_about_too_few_samples_and_foreign_classifiers(metric_G, tiny_classifiers):
    G, clf = metric_G(res=16), tiny_classifiers(resolution=8)
    few = separability(G, clf, attrs="male", num_samples=40, n_jobs=1, bootstrap=0)
    # 20 kept samples against G's z_dim: any labelling is separable, LS = 1 is empty, and the rows say so.
    assert G.z_dim + 1 >= 20
    assert few["warning"].str.contains("only 20 kept samples").all()
    many = separability(G, clf, attrs="male", num_samples=4 * G.z_dim + 8, n_jobs=1, bootstrap=0)
    assert many["warning"].isna().all()   # classifiers given as a module: nothing known about them


def test_bundled_classifiers_on_a_foreign_generator_warn():
    from ganeval.metrics.separability import _foreign_judge

    class G:
        training_data = "synthfaces:70000?res=64"

    assert _foreign_judge(G, "synthfaces-classifiers") is None
    G.training_data = "/data/ffhq-1024.zip"
    assert "trained on /data/ffhq-1024.zip" in _foreign_judge(G, "synthfaces-classifiers")
    G.training_data = None
    assert "does not record its training data" in _foreign_judge(G, "synthfaces-classifiers-b")
    assert _foreign_judge(G, "nvidia-celebahq") is None


def test_nan_generator_stops_separability(metric_G, tiny_classifiers):
    G, clf = metric_G(res=16), tiny_classifiers(resolution=8)
    with torch.no_grad():
        next(iter(G.synthesis.parameters())).fill_(float("nan"))
    with pytest.raises(NonFiniteError, match="NaN or Inf for sample 0"):
        separability(G, clf, attrs="male", num_samples=40, n_jobs=1, bootstrap=0)
