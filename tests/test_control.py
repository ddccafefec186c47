"""GAN-Control (ganeval/control): contrastive loss by hand, pair batches, split mapping, training, encoders, CLI."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from PIL import Image

import ganeval.control  # noqa: F401 - registers 'stylegan2-control'
from ganeval import build_generator, load_checkpoint
from ganeval.checkpoints import save_checkpoint
from ganeval.cli import main
from ganeval.control.encoders import (
    ControlEncoders,
    controlled_ws,
    fit_encoders,
    load_control,
    parse_set,
)
from ganeval.control.loss import (
    contrastive_loss,
    contrastive_terms,
    make_pair_batch,
    pairwise_distance,
    same_subvector,
)
from ganeval.control.model import offsets, split_like
from ganeval.errors import ConfigError
from ganeval.features.attributes import AttributeClassifiers, save_classifiers
from ganeval.train import resolve_options, train

sys.path.insert(0, str(Path(__file__).parent))
from test_train_loop import tiny_dataset  # noqa: E402

TINY = dict(control_attrs=["smiling", "eyeglasses"], control_dims=[4, 4, 8], w_dim=16, mapping_depth=2,
            channel_base=128, channel_max=16)



# ----------------------------------------------------------------------------------------------------
# The loss.

def toy_batch():
    """4 latents, subspaces z^1 = [0:1], z^2 = [1:2], rest = [2:4]; (0, 1) share z^1, (2, 3) share z^2."""
    z = torch.tensor([[1.0, 2.0, 0.1, 0.2],
                      [1.0, 3.0, 0.3, 0.4],
                      [4.0, 5.0, 0.5, 0.6],
                      [6.0, 5.0, 0.7, 0.8]])
    return z, offsets([1, 1, 2])


def test_loss_matches_hand_computation():
    z, slices = toy_batch()
    e1 = torch.tensor([[0.0], [0.3], [1.0], [2.0]])      # M_1 embeddings (1-D: L1 distance = |difference|)
    e2 = torch.tensor([[0.0], [1.0], [5.0], [5.05]])     # M_2
    tau_pos, tau_neg = 0.1, 1.5
    # Attribute 1: same = {(0,1), (1,0)} -> C⁺ = 2; the other 10 ordered pairs -> C⁻ = 10.
    #   pos: 2 · max(0.3 - 0.1, 0) / 2 = 0.2
    #   neg: 2 · [max(1.5-1, 0) + max(1.5-2, 0) + max(1.5-0.7, 0) + max(1.5-1.7, 0) + max(1.5-1, 0)] / 10
    #        = 2 · (0.5 + 0 + 0.8 + 0 + 0.5) / 10 = 0.36                       (pairs 02, 03, 12, 13, 23)
    # Attribute 2: same = {(2,3), (3,2)}: d = 0.05 < τ⁺ -> pos 0; neg: only d(0,1) = 1 < 1.5 -> 2 · 0.5 / 10 = 0.1
    loss, terms = contrastive_loss([e1, e2], z, slices[:2], tau_pos, tau_neg, distance="l1")
    assert [t["C_pos"] for t in terms] == [2, 2] and [t["C_neg"] for t in terms] == [10, 10]
    assert float(terms[0]["pos"]) == pytest.approx(0.2, abs=1e-6)
    assert float(terms[0]["neg"]) == pytest.approx(0.36, abs=1e-6)
    assert float(terms[1]["pos"]) == pytest.approx(0.0, abs=1e-6)
    assert float(terms[1]["neg"]) == pytest.approx(0.1, abs=1e-6)
    assert float(loss) == pytest.approx(0.66, abs=1e-6)

    # Per-attribute thresholds: τ⁺_2 = 0.01 now penalises the (2,3) pair: 2 · 0.04 / 2.
    loss2, terms2 = contrastive_loss([e1, e2], z, slices[:2], [0.1, 0.01], [1.5, 1.5], distance="l1")
    assert float(terms2[1]["pos"]) == pytest.approx(0.04, abs=1e-6)
    assert float(loss2) == pytest.approx(0.70, abs=1e-6)

    # Gradient by hand: the pull term 2 · (|e_1 - e_0| - τ⁺) / 2 gives ∓1 to samples 0, 1; each active push
    # term 2 · (τ⁻ - |e_i - e_j|) / 10 (pairs 02, 12, 23) gives ±0.2 apart.
    e1g = e1.clone().requires_grad_(True)
    contrastive_loss([e1g, e2], z, slices[:2], tau_pos, tau_neg, distance="l1")[0].backward()
    assert torch.allclose(e1g.grad.ravel(), torch.tensor([-0.8, 1.2, -0.2, -0.2]), atol=1e-6)


def test_loss_edge_cases_and_distances():
    torch.manual_seed(0)
    e = torch.randn(5, 3)
    d = pairwise_distance(e, "l2")
    assert torch.allclose(d, torch.cdist(e, e), atol=1e-5)
    assert torch.allclose(pairwise_distance(e, "l1"), torch.cdist(e, e, p=1), atol=1e-5)
    cos = F.cosine_similarity(e[:, None], e[None], dim=-1)
    assert torch.allclose(pairwise_distance(e, "cosine"), 1 - cos, atol=1e-5)
    with pytest.raises(ValueError):
        pairwise_distance(e, "hamming")
    # No pair shares z^k (C⁺ = 0): the pull term is 0, not NaN.
    same = torch.zeros(5, 5, dtype=torch.bool)
    t = contrastive_terms(d, same, 0.1, 10.0)
    assert t["C_pos"] == 0 and t["C_neg"] == 20 and float(t["pos"]) == 0
    assert float(t["neg"]) == pytest.approx(
        float((10 - d).clamp_min(0).masked_fill(torch.eye(5, dtype=torch.bool), 0).sum() / 20))   # i ≠ j only


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


def test_cli_control_taus_of_a_generator(trained, tmp_path):
    """`control taus --generator CKPT`: the same table on the model's images (seeds 0..N-1), labelled by the
    control net's decisions, floors at the thresholds it was trained with; no suggestion printed."""
    from ganeval.control.calibrate import embed_images, embedding_distances
    from ganeval.control.loss import load_embedding
    from ganeval.generate import generate_images
    from ganeval.images import from_uint8

    run_dir, clf_path = trained
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


# ----------------------------------------------------------------------------------------------------
# Pair batches.

def test_pair_batch_shares_exactly_one_subvector():
    slices = offsets([3, 2, 4, 5])          # N = 3 controlled + the rest
    z = torch.randn(13, 14, generator=torch.Generator().manual_seed(1))
    zp, shared = make_pair_batch(z, slices, 3, generator=torch.Generator().manual_seed(2))
    assert torch.equal(zp[0::2], z[0::2]) and shared[-1] == -1     # odd last sample unpaired
    assert sorted(set(shared[:12].tolist())) == [0, 1, 2]          # 6 pairs cycle through the 3 attributes
    for p in range(6):
        i, j, k = 2 * p, 2 * p + 1, int(shared[2 * p])
        assert shared[j] == k
        for s, sl in enumerate(slices):
            if s == k:
                assert torch.equal(zp[i, sl], zp[j, sl])
            else:   # every other sub-vector differs (elementwise: independent draws), the rest never shared
                assert (zp[i, sl] != zp[j, sl]).all() and torch.equal(zp[j, sl], z[j, sl])   # j keeps its own
    for k in range(3):
        same = same_subvector(zp, slices[k])
        expect = torch.zeros(13, 13, dtype=torch.bool)
        for p in range(6):
            if shared[2 * p] == k:
                expect[2 * p, 2 * p + 1] = expect[2 * p + 1, 2 * p] = True
        assert torch.equal(same, expect)
    assert not same_subvector(zp, slices[3]).any()


# ----------------------------------------------------------------------------------------------------
# The generator.

def tiny_G(seed=0, **kw):
    torch.manual_seed(seed)
    return build_generator("stylegan2-control", 16, **{**TINY, **kw})


def test_split_mapping_and_roundtrip(tmp_path):
    G = tiny_G().eval()
    assert (G.arch, G.z_dim, G.w_dim, G.num_controls) == ("stylegan2-control", 16, 16, 2)
    assert G.mapping.z_dims == [4, 4, 8] and G.mapping.w_dims == [4, 4, 8]
    z = torch.randn(3, 16)
    parts = G.mapping.parts(z)
    z2 = z.clone()
    z2[:, 4:8] = torch.randn(3, 4)    # a new z^2 moves w^2 only
    parts2 = G.mapping.parts(z2)
    assert torch.equal(parts[0], parts2[0]) and torch.equal(parts[2], parts2[2]) and not torch.equal(parts[1],
                                                                                                     parts2[1])
    ws = G.mapping(z)
    assert ws.shape == (3, G.num_ws, 16) and torch.equal(ws[:, 0], torch.cat(parts, 1))
    # Native checkpoint round trip (arch + config), identical images.
    save_checkpoint(tmp_path / "g.pt", G=G, G_ema=G)
    raw = torch.load(tmp_path / "g.pt", weights_only=True)
    assert raw["arch"] == "stylegan2-control" and raw["G_config"]["control_dims"] == [4, 4, 8]
    G2 = load_checkpoint(tmp_path / "g.pt").G_ema
    assert torch.equal(G(z, noise_mode="const"), G2(z, noise_mode="const"))
    # Default splits and bad layouts.
    G3 = build_generator("stylegan2-control", 16, control_attrs=["male"], z_dim=10, w_dim=20, mapping_depth=1,
                         channel_base=64, channel_max=8)
    assert G3.mapping.z_dims == [5, 5] and G3.mapping.w_dims == [10, 10]
    assert split_like(7, [1, 1, 2]) == [2, 2, 3] and split_like(64, [16, 16, 32]) == [16, 16, 32]
    with pytest.raises(ConfigError):
        build_generator("stylegan2-control", 16, control_attrs=["male"], control_dims=[4, 4], z_dim=9)
    with pytest.raises(ConfigError):
        build_generator("stylegan2-control", 16, control_attrs=["male", "young"], control_dims=[4, 4])


# ----------------------------------------------------------------------------------------------------
# Training, encoders, CLI.

def train_tiny_control(out, control_net: str, kimg: float = 0.016, **kw) -> Path:
    """A tiny controlled StyleGAN2 (smiling, eyeglasses; 16 px) trained a few steps on CPU; its run dir (the
    suite already runs on one thread: conftest)."""
    opts = resolve_options(arch="stylegan2", control="Smiling,Eyeglasses", control_dims="4,4,8", w_dim=16,
                           mapping_depth=2, channel_base=128, channel_max=16, data=tiny_dataset(), resolution=16,
                           batch=4, out=str(out), workers=0, quiet=True, tick_kimg=0.008, ema_kimg=0.01, kimg=kimg,
                           snap=kimg, control_net=control_net, r1_interval=2, pl_interval=2, **kw)
    return train(opts)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny controlled StyleGAN2 trained 8 steps on CPU against random attribute classifiers."""
    root = tmp_path_factory.mktemp("control")
    torch.manual_seed(0)
    clf_path = root / "clf.pt"
    save_classifiers(AttributeClassifiers(resolution=16, channels=(4, 8), hidden=8), clf_path)
    return train_tiny_control(root, str(clf_path), kimg=0.032), clf_path


def test_training_with_contrastive_loss(trained):
    run_dir, clf_path = trained
    stats = [json.loads(line) for line in open(run_dir / "stats.jsonl")]
    assert stats
    for r in stats:
        for key in ("Loss/G/loss", "Loss/D/loss", "Loss/control/Lc", "Loss/control/smiling/neg",
                    "Loss/control/eyeglasses/pos"):
            assert math.isfinite(r[key]), key
    assert math.isfinite(stats[0]["Loss/pl_penalty"]) and math.isfinite(stats[0]["Loss/r1_penalty"])
    saved = json.loads((run_dir / "training_options.json").read_text())
    assert saved["arch"] == "stylegan2-control" and saved["control"] == ["smiling", "eyeglasses"]
    assert saved["G_kwargs"]["control_dims"] == [4, 4, 8]
    snap = sorted(run_dir.glob("network-snapshot-*.pt"))[-1]
    ckpt = load_checkpoint(snap)
    assert ckpt.arch == "stylegan2-control" and ckpt.G_ema.control_attrs == ["smiling", "eyeglasses"]
    z = torch.randn(2, 16)
    img1, img2 = ckpt.G_ema(z, noise_mode="const"), load_checkpoint(snap).G_ema(z, noise_mode="const")
    assert torch.isfinite(img1).all() and torch.equal(img1, img2)
    # Resuming keeps the variant (options come from the checkpoint).
    again = resolve_options(resume=str(snap), data=tiny_dataset(), kimg=0.040, workers=0, quiet=True)
    assert again.arch == "stylegan2-control" and again.control == ["smiling", "eyeglasses"]
    assert again.control_net == str(clf_path)
    resumed = train(again)
    assert load_checkpoint(sorted(resumed.glob("network-snapshot-*.pt"))[-1]).meta["kimg"] == pytest.approx(0.040)


def test_control_options_errors():
    data = tiny_dataset()
    with pytest.raises(ConfigError, match="stylegan2"):
        resolve_options(arch="stylegan", control="Smiling", data=data)
    with pytest.raises(ConfigError, match="control-dims"):
        resolve_options(arch="stylegan2", control="Smiling,Young", control_dims="4,4", data=data)
    with pytest.raises(ConfigError, match="unknown attribute"):
        resolve_options(arch="stylegan2", control="Smilling", data=data)
    with pytest.raises(ConfigError, match="control-distance"):
        resolve_options(arch="stylegan2", control="Smiling", control_distance="l3", data=data)
    with pytest.raises(ConfigError, match="control-tau"):
        resolve_options(arch="stylegan2", control="Smiling", control_tau="0.1", data=data)
    # τ⁺,τ⁻ for all attributes, or one pair per attribute (the paper's τ±_k); nothing in between.
    o = resolve_options(arch="stylegan2", control="Smiling,Young", control_tau="0.1,0.5,0.2,0.6", data=data)
    assert o.control_tau == [0.1, 0.5, 0.2, 0.6]
    with pytest.raises(ConfigError, match="control-tau"):
        resolve_options(arch="stylegan2", control="Smiling,Young", control_tau="0.1,0.5,0.2", data=data)
    with pytest.raises(ConfigError, match="l1 or l2"):     # a 1-d embedding has no useful cosine distance
        resolve_options(arch="stylegan2", control="Smiling", control_embedding="prob", data=data)
    with pytest.raises(ConfigError, match="features or prob"):
        resolve_options(arch="stylegan2", control="Smiling", control_embedding="logits", data=data)


def test_augment_for_embedding_shifts_and_adds_noise():
    """--control-augment: each image is a replicate-padded copy shifted by at most 2 px, plus N(0, σ²) noise; the
    same seed gives the same augmentation; gradients reach the generator's images."""
    from ganeval.control.loss import augment_for_embedding

    x = torch.randn(6, 3, 8, 8, requires_grad=True)
    padded = F.pad(x.detach(), (2, 2, 2, 2), mode="replicate")
    torch.manual_seed(3)
    y = augment_for_embedding(x, 0.0)
    offsets_seen = set()
    for i in range(6):
        hits = [(a, b) for a in range(5) for b in range(5) if torch.equal(padded[i, :, a:a + 8, b:b + 8], y[i])]
        assert len(hits) == 1
        offsets_seen.add(hits[0])
    assert len(offsets_seen) > 1                     # not one shift for the whole batch
    torch.manual_seed(3)
    assert torch.equal(augment_for_embedding(x, 0.0), y)
    torch.manual_seed(3)
    big = torch.zeros(2, 3, 64, 64)
    noise = augment_for_embedding(big, 0.25)       # a constant image: only the noise is left
    assert abs(float(noise.std()) - 0.25) < 0.01 and abs(float(noise.mean())) < 0.01
    augment_for_embedding(x, 0.1).sum().backward()
    torch.testing.assert_close(x.grad.sum(), torch.tensor(6 * 3 * 8 * 8.0))   # every output pixel is one input pixel
    with pytest.raises(ConfigError, match="control-augment"):
        resolve_options(arch="stylegan2", control="Smiling", control_augment=-1, data=tiny_dataset())


def test_gaussian_blur_for_embedding(tmp_path, monkeypatch):
    """--control-blur: a normalised separable Gaussian (impulse response = outer product of the 1-d taps out to
    ceil(2σ)); constants pass unchanged; the training loop blurs the generator's images before M_k."""
    import ganeval.control.loss as control_loss

    img = torch.zeros(1, 3, 9, 9)
    img[0, :, 4, 4] = 1
    out = control_loss.gaussian_blur(img, 1.0)
    taps = torch.exp(-torch.arange(-2.0, 3.0) ** 2 / 2)
    taps = taps / taps.sum()
    expect = torch.zeros(9, 9)
    expect[2:7, 2:7] = taps[:, None] * taps[None, :]
    for c in range(3):
        torch.testing.assert_close(out[0, c], expect)
    assert control_loss.gaussian_blur(img, 0.3)[0, 0, 3:6, 3:6].sum() == pytest.approx(1.0)   # r = 1 taps
    const = torch.full((2, 3, 8, 8), 0.3)
    torch.testing.assert_close(control_loss.gaussian_blur(const, 1.5), const)   # edges replicated
    seen = []

    def spy(x, sigma):
        seen.append((tuple(x.shape), sigma))
        return control_loss.gaussian_blur.__wrapped__(x, sigma)

    spy.__wrapped__ = control_loss.gaussian_blur
    monkeypatch.setattr(control_loss, "gaussian_blur", spy)
    torch.manual_seed(0)
    clf_path = save_classifiers(AttributeClassifiers(resolution=16, channels=(4, 8), hidden=8), tmp_path / "c.pt")
    run_dir = train_tiny_control(tmp_path, str(clf_path), control_blur=0.7)
    assert seen and all(shape[1:] == (3, 16, 16) and sigma == 0.7 for shape, sigma in seen)
    assert json.loads((run_dir / "training_options.json").read_text())["control_blur"] == 0.7
    with pytest.raises(ConfigError, match="control-blur"):
        resolve_options(arch="stylegan2", control="Smiling", control_blur=-1, data=tiny_dataset())


def test_prob_embedding_and_training_with_it(tmp_path):
    """--control-embedding prob: M_k(I) = σ(logit_k(I)) as a [B, 1] embedding, gradients reach the image; a
    controlled run trains with it (and --control-augment) and stores the choices (so a resume keeps them)."""
    from ganeval.control.loss import load_embedding

    torch.manual_seed(0)
    clf = AttributeClassifiers(resolution=16, channels=(4, 8), hidden=8)
    img = torch.rand(5, 3, 16, 16, requires_grad=True)
    emb = load_embedding(clf, ["eyeglasses", "smiling"], "cpu", kind="prob")
    m = emb(img)
    expect = torch.sigmoid(clf(img))
    assert [t.shape for t in m] == [(5, 1), (5, 1)]
    torch.testing.assert_close(m[0][:, 0], expect[:, clf.attr_names.index("eyeglasses")])
    torch.testing.assert_close(m[1][:, 0], expect[:, clf.attr_names.index("smiling")])
    m[0].sum().backward()
    assert img.grad.abs().sum() > 0
    # The features kind is the classifier's per-attribute dense features, as before.
    feats = load_embedding(clf, ["smiling"], "cpu")(img.detach())[0]
    torch.testing.assert_close(feats, clf.embed(img.detach())[:, clf.attr_names.index("smiling")])

    clf_path = save_classifiers(clf, tmp_path / "clf.pt")
    # Per-attribute thresholds: smiling τ⁺,τ⁻ = 0.1,0.5, eyeglasses 0.1,0.05.
    run_dir = train_tiny_control(tmp_path, str(clf_path), control_embedding="prob", control_distance="l1",
                                 control_tau="0.1,0.5,0.1,0.05", control_augment=0.1)
    stats = [json.loads(line) for line in open(run_dir / "stats.jsonl")]
    assert stats and all(math.isfinite(r["Loss/control/Lc"]) for r in stats)
    # An l1 distance of probabilities is at most 1, so the pos term is at most 1 - τ⁺ (logits would be unbounded).
    assert all(r[f"Loss/control/{a}/pos"] <= 0.9 + 1e-6 for r in stats for a in ("smiling", "eyeglasses"))
    # max(τ⁻ - d, 0) <= τ⁻: each attribute's push term is bounded by its own τ⁻, and smiling's exceeds
    # eyeglasses' bound (an untrained generator's probabilities barely differ), so the thresholds are not shared.
    assert all(r["Loss/control/eyeglasses/neg"] <= 0.05 + 1e-6 for r in stats)
    assert all(r["Loss/control/smiling/neg"] <= 0.5 + 1e-6 for r in stats)
    assert max(r["Loss/control/smiling/neg"] for r in stats) > 0.05
    saved = json.loads((run_dir / "training_options.json").read_text())
    assert saved["control_embedding"] == "prob" and saved["control_distance"] == "l1"
    assert saved["control_tau"] == [0.1, 0.5, 0.1, 0.05]
    assert saved["control_augment"] == 0.1


def test_several_control_nets_average_their_losses(tmp_path, monkeypatch):
    """--control-net A,B: L_c and each attribute's pos / neg terms are the means of A's and B's computed alone
    ([A, A] is A); a run trains against both, stores them, and is judged by both by default."""
    from ganeval.control.loss import control_nets, load_embedding, multi_net_contrastive_loss
    from ganeval.control.metrics import default_judges, training_net

    torch.manual_seed(0)
    clf_a = AttributeClassifiers(resolution=16, channels=(4, 8), hidden=8)
    clf_b = AttributeClassifiers(resolution=16, channels=(6, 8), hidden=4)
    emb_a, emb_b = (load_embedding(c, ["smiling", "eyeglasses"], "cpu") for c in (clf_a, clf_b))
    slices = offsets([4, 4, 8])
    z, _ = make_pair_batch(torch.randn(6, 16), slices, 2)
    img = torch.rand(6, 3, 16, 16)
    la, ta = contrastive_loss(emb_a(img), z, slices[:2], 0.1, 0.9)
    lb, tb = contrastive_loss(emb_b(img), z, slices[:2], 0.1, 0.9)
    assert la > 0 and lb > 0 and not torch.isclose(la, lb)
    both, terms = multi_net_contrastive_loss([emb_a, emb_b], img, z, slices[:2], 0.1, 0.9)
    torch.testing.assert_close(both, (la + lb) / 2)
    for k in range(2):
        for part in ("pos", "neg"):
            torch.testing.assert_close(terms[k][part], (ta[k][part] + tb[k][part]) / 2)
    torch.testing.assert_close(multi_net_contrastive_loss([emb_a, emb_a], img, z, slices[:2], 0.1, 0.9)[0], la)
    assert control_nets(" a.pt, b.pt ") == ["a.pt", "b.pt"] and control_nets(clf_a) == [clf_a]
    with pytest.raises(ConfigError, match="control-net"):
        control_nets(" , ")

    import ganeval.control.loss as control_loss

    seen = []   # the training step's embedding sets: both files, in --control-net order

    def spy(embeddings, *args):
        seen.append([e.clf.source for e in embeddings])
        return multi_net_contrastive_loss(embeddings, *args)

    monkeypatch.setattr(control_loss, "multi_net_contrastive_loss", spy)
    path_a, path_b = save_classifiers(clf_a, tmp_path / "a.pt"), save_classifiers(clf_b, tmp_path / "b.pt")
    run_dir = train_tiny_control(tmp_path, f"{path_a},{path_b}")
    assert seen and all(s == [str(path_a), str(path_b)] for s in seen)
    stats = [json.loads(line) for line in open(run_dir / "stats.jsonl")]
    assert stats and all(math.isfinite(r["Loss/control/Lc"]) for r in stats)
    snap = sorted(run_dir.glob("network-snapshot-*.pt"))[-1]
    assert training_net(snap) == str(path_a)   # the first gives the encoders' y^k and the SVM labels
    assert default_judges(snap) == [str(path_a), str(path_b)]
    # A bundled file keeps G_ema alone and the run's options as JSON in its meta (pretrained/make_bundle.py):
    # it still says which sets it was trained against.
    from ganeval.train.options import stored_options

    options = (run_dir / "training_options.json").read_text()
    bundled = tmp_path / "bundled.pt"
    save_checkpoint(bundled, G_ema=load_checkpoint(snap).G_ema, meta={"training_options": options})
    assert stored_options(bundled) == {} and default_judges(bundled) == [str(path_a), str(path_b)]


def test_cli_train_dry_run(tmp_path):
    r = CliRunner().invoke(main, ["train", "--arch", "stylegan2", "--data", "synthfaces:100?res=16", "--control",
                                  "Smiling,Eyeglasses", "--control-dims", "8,8,16", "--control-tau", "0.2,0.6",
                                  "--control-distance", "l2", "--control-weight", "0.5", "--control-blur", "0.7",
                                  "--dry-run"])
    assert r.exit_code == 0, r.output
    o = json.loads(r.output)
    assert o["arch"] == "stylegan2-control" and o["control_tau"] == [0.2, 0.6] and o["control_weight"] == 0.5
    assert o["control_blur"] == 0.7
    assert o["G_kwargs"]["control_dims"] == [8, 8, 16] and o["control_distance"] == "l2"


def test_encoders_fit_and_controlled_ws():
    G = tiny_G().eval()
    torch.manual_seed(0)
    # w^1 = a linear function of y^1 (plus noise): E_1 must recover it.
    y = torch.rand(256, 2)
    w_parts = [y[:, :1] * torch.tensor([[2.0, -1.0, 0.5, 1.0]]) + 0.01 * torch.randn(256, 4),
               torch.randn(256, 4), torch.randn(256, 8)]
    enc = fit_encoders(w_parts, y, ["smiling", "eyeglasses"], steps=300, batch=64, lr=1e-2)
    assert enc.meta["r2"]["smiling"] > 0.9 and enc.meta["r2"]["eyeglasses"] < 0.2
    pred = enc(0, torch.tensor([1.0]))
    assert torch.allclose(pred, torch.tensor([[2.0, -1.0, 0.5, 1.0]]), atol=0.15)
    enc2 = ControlEncoders.from_payload(enc.to_payload())
    assert torch.equal(enc2(0, torch.tensor([0.3])), enc(0, torch.tensor([0.3])))
    # w^k = E_k(y) for the set attribute, the other parts from z.
    z = torch.randn(3, 16)
    ws = controlled_ws(G, enc, z, {1: 1.0})
    parts = G.mapping.parts(z)
    assert torch.allclose(ws[:, 0, 4:8], enc(1, torch.ones(3)))
    assert torch.equal(ws[:, 0, :4], parts[0]) and torch.equal(ws[:, 0, 8:], parts[2])
    assert parse_set("Smiling=1,eyeglasses=0.25", G) == {0: 1.0, 1: 0.25}
    for bad in ("Smilng=1", "Young=1", "Smiling", "Smiling=2", "Smiling=yes"):
        with pytest.raises(ConfigError):
            parse_set(bad, G)


def test_cli_control_train_generate_evaluate(trained, tmp_path, monkeypatch):
    run_dir, clf_path = trained
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
    # test_steering_matched_to_an_effect; this tiny baseline's labels do not split on smiling, so no SVM here).
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


def _uncontrolled_with_split_attrs(clf_path):
    """A tiny uncontrolled StyleGAN2 and the two attributes the classifiers in clf_path split most evenly on it
    (so an SVM on their labels has two classes)."""
    from ganeval.features.attributes import load_classifiers

    torch.manual_seed(0)
    G = build_generator("stylegan2", 16, z_dim=16, w_dim=16, mapping_depth=2, channel_base=128, channel_max=16)
    clf = load_classifiers(clf_path)
    with torch.no_grad():
        p = (clf(G(torch.randn(64, 16), noise_mode="const")) > 0).float().mean(0)
    return G, [clf.attr_names[i] for i in torch.argsort((p - 0.5).abs())[:2].tolist()]


def test_steering_baseline_rows(trained):
    """The uncontrolled baseline: attributes set by moving w along SVM normals; same rows as control_metrics."""
    from ganeval.control.metrics import steering_metrics
    from ganeval.features.attributes import load_classifiers

    _, clf_path = trained
    G, attrs = _uncontrolled_with_split_attrs(clf_path)
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


def test_steering_matched_to_an_effect(trained):
    """match_effect: each attribute's edit strength c is found so that the steered effect equals the target (on
    the evaluation latents themselves when match_samples covers them); a target out of reach gives c = max_scale
    and steer_reached False."""
    from ganeval.control.metrics import steering_metrics
    from ganeval.features.attributes import load_classifiers

    _, clf_path = trained
    G, attrs = _uncontrolled_with_split_attrs(clf_path)
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


def test_several_judges_see_the_same_images(trained, tmp_path):
    """Judging with [A, B] gives A's rows exactly as A alone and B's as B alone (the same images, classified by
    both); the steering baseline fits its SVMs on fit_classifiers' labels whoever judges."""
    from ganeval.control.metrics import control_metrics, default_judges, steering_metrics

    snap, ckpt, clf_a = _with_quick_encoders(trained, tmp_path)
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

    base, attrs = _uncontrolled_with_split_attrs(clf_a)
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


def _with_quick_encoders(trained, tmp_path):
    """(snapshot, copy of it with 5-step encoders fitted to random targets, classifier path)."""
    from ganeval.control.encoders import save_with_encoders

    run_dir, clf_path = trained
    snap = sorted(run_dir.glob("network-snapshot-*.pt"))[-1]
    G, _ = load_control(snap, need_encoders=False)
    y = torch.rand(32, 2)
    enc = fit_encoders([p.detach() for p in G.mapping.parts(torch.randn(32, 16))], y, G.control_attrs, steps=5)
    return snap, save_with_encoders(snap, tmp_path / "c.pt", enc), clf_path


def test_report_section(trained, tmp_path):
    from ganeval.control.report import control_section, has_encoders

    snap, out, clf_path = _with_quick_encoders(trained, tmp_path)
    assert has_encoders(out) and not has_encoders(snap)
    sec = control_section(out, tmp_path / "rep", num_samples=16, seeds=range(4))
    assert set(sec["table"].metric) == {"control_accuracy", "control_effect", "control_leakage"}
    assert set(sec["table"].feature_net) == {str(clf_path)}          # the training net judges by default
    assert Image.open(sec["images"]["smiling"]).size == (4 * 16, 2 * 16)
    # Classifiers given to the report join the training net instead of replacing it.
    extra = save_classifiers(AttributeClassifiers(resolution=16, channels=(4, 8), hidden=8), tmp_path / "x.pt")
    sec = control_section(out, tmp_path / "rep", classifiers=str(extra), num_samples=16, seeds=range(4))
    assert list(dict.fromkeys(sec["table"].feature_net)) == [str(clf_path), str(extra)]


def test_compare_report_has_gan_control_section(trained, tmp_path):
    """`ganeval compare` on a controlled checkpoint: a GAN-Control section with its table and grids."""
    from ganeval.report import compare

    snap, ckpt, clf_path = _with_quick_encoders(trained, tmp_path)
    res = compare([ckpt, snap], ["ppl_zend"], out=tmp_path / "rep", num_samples=8, distance="mse", grids=False,
                  classifiers=str(clf_path), control_samples=16, cache=False)
    assert list(res.control) == [res.wide.index[0]]          # only the checkpoint with encoders
    text = (tmp_path / "rep" / "index.html").read_text()
    assert "<h2 id='control'>GAN-Control</h2>" in text
    assert text.count('alt="GAN-Control smiling: top row set to 0') == 1 and 'alt="GAN-Control eyeglasses' in text
    table = pd.read_csv(tmp_path / "rep" / "control.csv")
    assert set(table.metric) == {"control_accuracy", "control_effect", "control_leakage"}
    assert set(table.attr) == {"smiling", "eyeglasses", "ALL"}
