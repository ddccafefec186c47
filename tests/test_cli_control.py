"""`ganeval control taus | train | generate | evaluate` (ganeval/cli/control.py) through click's CliRunner."""

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from ganeval import load_checkpoint
from ganeval.cli import main
from ganeval.control.encoders import load_control
from ganeval.features.attributes import AttributeClassifiers, save_classifiers


def test_cli_control_taus(tmp_path):
    """`ganeval control taus` on labelled synthfaces with a classifier file: one row per attribute, the suggested
    --control-tau printed, floors at given thresholds; bad input is one line, exit 2."""
    torch.manual_seed(0)
    clf = save_classifiers(AttributeClassifiers(resolution=32, channels=(4, 4, 8), hidden=8), tmp_path / "clf.pt")
    csv = tmp_path / "taus.csv"
    args = ["control", "taus", "--control", "Male,Smiling", "--control-net", str(clf), "--data",
            "synthfaces:40?res=32", "--samples", "30", "--device", "cpu"]
    r = CliRunner().invoke(main, args + ["--out", str(csv)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(csv)
    assert df.attr.tolist() == ["male", "smiling"] and (df.pairs_same + df.pairs_diff == 30 * 29 // 2).all()
    assert (df.same_q25 <= df.same_median).all() and (df.same_median <= df.same_q75).all()
    assert f"--control-tau {df.suggested_tau_pos[0]:.3g},{df.suggested_tau_neg[0]:.3g}," in r.output
    r = CliRunner().invoke(main, args + ["--tau", "0,2", "--control-distance", "l2", "--out", str(csv)])
    assert r.exit_code == 0, r.output
    l2 = pd.read_csv(csv)
    assert (l2.tau_pos == 0).all() and (l2.tau_neg == 2).all()
    assert (l2.floor_pos > 0).all() and (l2.floor_neg > 0).all()
    for bad, msg in ((["--samples", "2"], "at least 3"), (["--control", "Smilling"], "unknown attribute"),
                     (["--control-embedding", "prob"], "l1 or l2"), (["--tau", "0.1,0.2,0.3"], "--tau takes")):
        r = CliRunner().invoke(main, args + bad)
        assert r.exit_code == 2 and msg in r.output and r.output.count("\n") == 1, r.output


def test_cli_control_taus_of_a_generator(trained_control, tmp_path):
    """`control taus --generator CKPT`: the same table on the model's images (seeds 0..N-1), labelled by the
    control net's decisions, floors at the thresholds it was trained with; no suggestion printed."""
    from ganeval.control.calibrate import embed_images, embedding_distances
    from ganeval.control.loss import load_embedding
    from ganeval.images import from_uint8
    from ganeval.models.generate import generate_images

    run_dir, clf_path = trained_control
    snap = sorted(run_dir.glob("network-snapshot-*.pt"))[-1]
    csv = tmp_path / "gen.csv"
    args = ["control", "taus", "--control", "Smiling,Eyeglasses", "--control-net", str(clf_path), "--generator",
            str(snap), "--samples", "12", "--device", "cpu"]
    r = CliRunner().invoke(main, args + ["--out", str(csv)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(csv)
    assert "suggested" not in r.output and "suggested_tau_pos" not in df.columns
    assert (df.images == str(snap)).all() and df.attr.tolist() == ["smiling", "eyeglasses"]
    assert (df.pairs_same + df.pairs_diff == 66).all()
    assert (df.tau_pos == 0.1).all() and (df.tau_neg == 0.5).all()   # the stored --control-tau (the default)
    # By hand: the same images, labels = the classifiers' decisions, the same distances.
    G = load_checkpoint(snap).generator.eval()
    torch.manual_seed(0)   # the noise, seeded as the command seeds it
    images = generate_images(G, list(range(12)), noise_mode="random")
    emb = load_embedding(str(clf_path), ["smiling", "eyeglasses"], "cpu")
    with torch.no_grad():
        labels = (emb.clf(from_uint8(images))[:, emb.attr_idx] > 0).long()
    hand = embedding_distances(embed_images(emb, images), labels, ["smiling", "eyeglasses"], "cosine",
                               tau=[0.1, 0.5], one_label_ok=True)
    assert df.label_rate.tolist() == pytest.approx(hand.label_rate.tolist())
    assert df.all_median.tolist() == pytest.approx(hand.all_median.tolist(), rel=1e-5)
    assert df.floor_neg.tolist() == pytest.approx(hand.floor_neg.tolist(), rel=1e-5)
    # Explicit --tau wins; attributes it was not trained on need --tau (one line, exit 2).
    r = CliRunner().invoke(main, args + ["--tau", "0,2", "--out", str(csv)])
    assert r.exit_code == 0 and (pd.read_csv(csv).tau_neg == 2).all(), r.output
    r = CliRunner().invoke(main, ["control", "taus", "--control", "Smiling", "--control-net", str(clf_path),
                                  "--generator", str(snap), "--samples", "12", "--device", "cpu"])
    assert r.exit_code == 2 and "add --tau" in r.output and r.output.count("\n") == 1, r.output
    r = CliRunner().invoke(main, args[:5] + ["--generator", str(tmp_path / "none.pt")])
    assert r.exit_code == 2 and "none.pt" in r.output and "--tau" not in r.output, r.output


def test_cli_control_train_generate_evaluate(trained_control, tmp_path, monkeypatch):
    run_dir, clf_path = trained_control
    snap = sorted(run_dir.glob("network-snapshot-*.pt"))[-1]
    out = tmp_path / "ctrl.pt"
    runner = CliRunner()
    r = runner.invoke(main, ["control", "train", str(snap), "--out", str(out), "--samples", "48", "--steps", "30",
                             "--quiet"])
    assert r.exit_code == 0, r.output
    raw = torch.load(out, weights_only=True)
    assert raw["meta"]["gan_control"]["config"]["attrs"] == ["smiling", "eyeglasses"]
    assert raw["meta"]["gan_control"]["meta"]["classifiers"] == str(clf_path)   # from the training options
    G, enc = load_control(out)
    assert enc.attrs == ["smiling", "eyeglasses"]

    png = tmp_path / "grid.png"
    r = runner.invoke(main, ["control", "generate", str(out), "--set", "Smiling=1,Eyeglasses=0", "--seeds", "0-5",
                             "--nrow", "3", "--out", str(png)])
    assert r.exit_code == 0, r.output
    assert Image.open(png).size == (3 * 16, 2 * 16)

    for bad in ("Smilling=1", "Young=1"):
        r = runner.invoke(main, ["control", "generate", str(out), "--set", bad, "--out", str(tmp_path / "x.png")])
        assert r.exit_code == 2
        assert r.output.strip().count("\n") == 0 and r.output.startswith("ganeval: error: --set")
    # A checkpoint without encoders: one line, exit 2.
    r = runner.invoke(main, ["control", "generate", str(snap), "--out", str(tmp_path / "y.png")])
    assert r.exit_code == 2 and "control train" in r.output

    csv = tmp_path / "c.csv"
    r = runner.invoke(main, ["control", "evaluate", str(out), "--samples", "16", "--ls-samples", "64",
                             "--ppl-samples", "16", "--ppl-distance", "mse", "--out", str(csv)])
    assert r.exit_code == 0, r.output

    df = pd.read_csv(csv)
    acc = df[df.metric == "control_accuracy"]
    assert set(acc.attr) == {"smiling", "eyeglasses", "ALL"} and acc.value.between(0, 1).all()
    leak = df[(df.metric == "control_leakage") & (df.attr != "ALL")]
    assert (leak.value >= 0).all() and leak.leak_max_attr.notna().all()
    ls = df[df.metric == "control_ls_entropy"]
    assert len(ls) == 2 * 3 * 2     # 2 attributes x 3 subspaces x {z, w}
    ppl = df[df.metric == "control_ppl"]
    assert set(ppl.subspace) == {"smiling", "eyeglasses", "rest"} and np.isfinite(ppl.value).all()
    assert {"checkpoint", "arch", "seed", "feature_net", "num_samples"} <= set(df.columns)
    r = runner.invoke(main, ["control", "evaluate", str(out), "--steer-quantile", "1.5"])
    assert r.exit_code == 2 and r.output.startswith("ganeval: error: --steer-quantile") and r.output.count("\n") == 1
    for args in (["--steer-match", str(clf_path)], ["--baseline", str(snap), "--steer-match", "synthfaces-judge"]):
        r = runner.invoke(main, ["control", "evaluate", str(out), *args])   # no baseline / not one of the judges
        assert r.exit_code == 2 and r.output.startswith("ganeval: error: --steer-match") and r.output.count("\n") == 1
    # --steer-match hands the baseline GAN-Control's effect per attribute as that judge saw it (the matching itself:
    # test_control_metrics.py::test_steering_matched_to_an_effect; this tiny baseline's labels do not split on
    # smiling, so no SVM here).
    seen = {}

    def fake_steering(G, judges, **kw):
        seen.update(kw, judges=judges)
        return pd.DataFrame()

    monkeypatch.setattr("ganeval.control.metrics.steering_metrics", fake_steering)
    r = runner.invoke(main, ["control", "evaluate", str(out), "--baseline", str(snap), "--steer-match", str(clf_path),
                             "--samples", "16", "--ls-samples", "0", "--out", str(csv)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(csv)
    eff = df[(df.metric == "control_effect") & (df.attr != "ALL")]
    assert seen["match_effect"] == pytest.approx(dict(zip(eff.attr, eff.value))) and len(seen["match_effect"]) == 2
    assert seen["match_net"] == str(clf_path) and seen["judges"] == [str(clf_path)]
