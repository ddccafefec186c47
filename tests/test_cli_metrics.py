"""`ganeval ppl | separability | fid | truncation | evaluate | presets` through click's CliRunner."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import ganeval
from ganeval.cli import main
from ganeval.features import registry

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory, metric_G):
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    ganeval.save_checkpoint(path, G=metric_G())
    return str(path)


@pytest.fixture(scope="module")
def vgg_trunk(tmp_path_factory):
    """A random VGG16 trunk under the registry's file name (LPIPS runs; numbers are meaningless)."""
    from torchvision.models.vgg import cfgs, make_layers

    d = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    torch.save({f"features.{k}": v for k, v in make_layers(cfgs["D"]).state_dict().items()},
               d / "vgg16-397923af.pth")
    return d


def run(args, **env):
    r = CliRunner().invoke(main, args, env=env or None)
    return r


def test_ppl_writes_table(ckpt, tmp_path):
    out = tmp_path / "ppl.csv"
    r = run(["ppl", "--ckpt", ckpt, "--no-crop", "--samples", "8", "--distance", "mse", "--quiet", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "ppl2_wend_mse" in r.output
    df = pd.read_csv(out)
    row = df.iloc[0]
    assert row["metric"] == "ppl2_wend_mse" and row["num_samples"] == 8 and row["protocol_samples"] == 50_000
    assert row["checkpoint"] == ckpt and row["arch"] == "stylegan2" and row["resolution"] == 16
    # Same seed, another batch size: the same number.
    out2 = tmp_path / "ppl.json"
    r = run(["ppl", "--ckpt", ckpt, "--no-crop", "--samples", "8", "--distance", "mse", "--batch-size", "3",
             "--out", str(out2)])
    assert r.exit_code == 0
    assert json.loads(out2.read_text())[0]["value"] == pytest.approx(row["value"], rel=1e-5)


def test_ppl_missing_weights_is_one_line_exit_2(ckpt, tmp_path):
    r = run(["ppl", "--ckpt", ckpt, "--samples", "4"], GANEVAL_WEIGHTS=str(tmp_path / "none"))
    assert r.exit_code == 2
    assert "Traceback" not in r.output and r.output.strip().count("\n") == 0
    assert "vgg16-397923af.pth" in r.output and "ganeval weights fetch vgg16" in r.output


def test_ppl_w_on_pggan_exit_2(tmp_path, metric_G):
    path = tmp_path / "pg.pt"
    ganeval.save_checkpoint(path, G=metric_G("pggan"))
    r = run(["ppl", "--ckpt", str(path), "--space", "w", "--samples", "4", "--distance", "mse"])
    assert r.exit_code == 2 and "no W space" in r.output and "Traceback" not in r.output


def test_evaluate_and_truncation_with_lpips(ckpt, vgg_trunk, tmp_path, metric_G):
    big = tmp_path / "tiny32.pt"  # ppl_zend crops: 32 px -> 16 px, the least LPIPS-VGG16 takes
    ganeval.save_checkpoint(big, G=metric_G(res=32))
    out = tmp_path / "eval.parquet"
    r = run(["evaluate", "--ckpt", str(big), "--metrics", "ppl2_wend,ppl_zend", "--samples", "4", "--quiet",
             "--out", str(out)], GANEVAL_WEIGHTS=str(vgg_trunk))
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(out)
    assert list(df["metric"]) == ["ppl2_wend", "ppl_zend"] and (df["feature_net"] == "lpips-vgg16").all()
    assert list(df["protocol_samples"]) == [50_000, 100_000] and (df["checkpoint"] == str(big)).all()
    assert list(df["distance_resolution"]) == [32, 16]
    r = run(["ppl", "--ckpt", ckpt, "--samples", "4"], GANEVAL_WEIGHTS=str(vgg_trunk))  # 16 px cropped to 8
    assert r.exit_code == 2 and "at least 16x16" in r.output
    plot = tmp_path / "psi.png"
    r = run(["truncation", "--ckpt", ckpt, "--psi", "0.5,1", "--metrics", "ppl2_wend", "--samples", "4",
             "--plot", str(plot), "--out", str(tmp_path / "t.csv")], GANEVAL_WEIGHTS=str(vgg_trunk))
    assert r.exit_code == 0, r.output
    assert list(pd.read_csv(tmp_path / "t.csv")["psi"]) == [0.5, 1.0] and plot.stat().st_size > 0


def test_fid_command(ckpt, tmp_path, tiny_features):
    reals = tmp_path / "reals"
    reals.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(reals / f"{i:03d}.png")
    registry.register_feature_net("test-fd", lambda device: tiny_features().to(device), short="test")
    try:
        out = tmp_path / "fid.csv"
        r = run(["fid", "--ckpt", ckpt, "--data", str(reals), "--feature-net", "test-fd", "--samples", "16",
                 "--save-ref", str(tmp_path / "ref.npz"), "--out", str(out)])
        assert r.exit_code == 0, r.output
        row = pd.read_csv(out).iloc[0]
        assert row["metric"] == "fd_test50k_full" and row["num_real"] == 12 and row["protocol_samples"] == 50_000
        # The saved statistics give the same number.
        r = run(["fid", "--ckpt", ckpt, "--data", str(tmp_path / "ref.npz"), "--feature-net", "test-fd",
                 "--samples", "16", "--out", str(tmp_path / "fid2.csv")])
        assert r.exit_code == 0, r.output
        assert pd.read_csv(tmp_path / "fid2.csv").iloc[0]["value"] == pytest.approx(row["value"], rel=1e-9)
    finally:
        registry.unregister("test-fd")
    r = run(["fid", "--ckpt", ckpt, "--data", str(reals), "--samples", "4"])
    assert r.exit_code == 2 and "weights-inception-2015-12-05-6726825d.pth" in r.output
    r = run(["fid", "--ckpt", ckpt, "--data", str(tmp_path / "nope"), "--samples", "4", "--feature-net", "synth-fd"])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_separability_command(ckpt, tmp_path):
    attributes = pytest.importorskip("ganeval.features.attributes")
    torch.manual_seed(0)
    clf = attributes.AttributeClassifiers(resolution=8, attr_names=["male", "smiling", "young"])
    attributes.save_classifiers(clf, tmp_path / "clf.pt")
    out = tmp_path / "ls.jsonl"
    r = run(["separability", "--ckpt", ckpt, "--classifiers", str(tmp_path / "clf.pt"), "--attrs", "male,young",
             "--samples", "32", "--n-jobs", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    df = pd.read_json(out, lines=True)
    assert len(df) == 6 and set(df["attr"]) == {"male", "young", "ALL"} and (df["protocol_samples"] == 200_000).all()
    r = run(["separability", "--ckpt", ckpt, "--classifiers", str(tmp_path / "clf.pt"), "--attrs", "bogus",
             "--samples", "8"])
    assert r.exit_code == 2 and "unknown attribute" in r.output


def test_presets_and_bad_options(ckpt, tmp_path):
    r = run(["presets"])
    assert r.exit_code == 0 and all(p in r.output for p in ("ppl_wend", "ppl2_wend", "ls", "fid50k_full", "kid50k"))
    r = run(["evaluate", "--ckpt", ckpt, "--metrics", "fid99"])
    assert r.exit_code == 2 and "unknown metric preset" in r.output
    r = run(["evaluate", "--ckpt", ckpt, "--metrics", "fid50k"])
    assert r.exit_code == 2 and "--data" in r.output
    r = run(["ppl", "--ckpt", ckpt, "--samples", "4", "--distance", "mse", "--out", str(tmp_path / "x.xlsx")])
    assert r.exit_code == 2 and "x.xlsx" in r.output
    r = run(["ppl", "--ckpt", str(tmp_path / "missing.pt"), "--samples", "4"])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_evaluate_api_and_table_formats(tmp_path, metric_G):
    from ganeval import evaluate, read_table, write_table

    df = evaluate(metric_G(), "ppl2_wend,ppl_zfull", num_samples=4, distance="mse", seed=1)
    assert list(df["metric"]) == ["ppl2_wend_mse", "ppl_zfull_mse"] and (df["seed"] == 1).all()
    for ext in (".csv", ".parquet", ".json", ".jsonl"):
        path = write_table(df, tmp_path / f"t{ext}")
        back = read_table(path)
        assert list(back["metric"]) == list(df["metric"])
        np.testing.assert_allclose(back["value"], df["value"], rtol=1e-12)
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left
