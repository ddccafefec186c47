"""Every metric, the truncation sweep, projection and reports run on a StyleGAN3 generator (a tiny -T at 32 px with
random weights): the numbers are finite and behave as the protocol says (PPL's two methods agree, truncation to
w_avg shortens paths, a report holds the StyleGAN3 cells)."""

import math

import numpy as np
import pytest
import torch

import ganeval
from ganeval.metrics import evaluate, fid, ppl, separability, truncation_sweep
from ganeval.models.generate import generate_images
from ganeval.projection import project
from ganeval.report.compare import compare

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def sg3():
    torch.manual_seed(0)
    return ganeval.build_generator("stylegan3", 32, channel_base=512, channel_max=32, z_dim=32, w_dim=32).eval()


@pytest.mark.parametrize("space", ["z", "w"])
def test_ppl_both_spaces_and_both_methods(sg3, space):
    kw = dict(space=space, sampling="full", num_samples=16, distance="mse", bootstrap=0, seed=3)
    fd = ppl(sg3, epsilon=1e-3, **kw).iloc[0]
    jvp = ppl(sg3, method="jvp", **kw).iloc[0]
    assert math.isfinite(fd["value"]) and fd["value"] > 0 and fd["arch"] == "stylegan3"
    # StyleGAN3 has no noise inputs: the per-block noise redraw is a no-op, and the derivative and a small step
    # measure the same smooth path.
    assert jvp["value"] == pytest.approx(fd["value"], rel=0.05)


def test_separability_fid_and_truncation(sg3, tiny_classifiers, toy_dataset, test_fd):
    ls = separability(sg3, tiny_classifiers(resolution=8), attrs="male,young", num_samples=48, n_jobs=1, bootstrap=0)
    assert set(ls["space"]) == {"z", "w"} and np.isfinite(ls["value"]).all()
    assert ls["classifier_resize"].iloc[0] == "box"
    f = fid(sg3, toy_dataset(n=24, res=32), num_samples=24, feature_net=test_fd, bootstrap=0).iloc[0]
    assert math.isfinite(f["value"]) and f["value"] > 0
    sweep = truncation_sweep(sg3, [0.0, 1.0], metrics=["ppl2_wend"], num_samples=16, distance="mse", bootstrap=0)
    by_psi = dict(zip(sweep["psi"], sweep["value"]))
    # psi = 0 sends every w to w_avg: both ends of every path are the same image, PPL is 0.
    assert by_psi[0.0] == 0 and by_psi[1.0] > 0


def test_projection_and_report(sg3, tmp_path):
    target = generate_images(sg3, [7])
    res = project(sg3, target, steps=3, distance="mse", w_avg_samples=64, num_snapshots=2, progress=False)
    assert res.images.shape == target.shape and np.isfinite(res.table["distance"].to_numpy(float)).all()
    ckpt = tmp_path / "sg3.pt"
    ganeval.save_checkpoint(ckpt, G=sg3)
    report = compare([ckpt], ["ppl2_wend", "eqt50k_int"], out=tmp_path / "report", num_samples=8, distance="mse",
                     bootstrap=0, grids=False)
    table = report.table
    assert set(table["metric"]) == {"ppl2_wend_mse", "eqt50k_int"} and np.isfinite(table["value"]).all()
    assert (tmp_path / "report" / "index.html").is_file()
    assert evaluate(sg3, ["eqt50k_frac"], num_samples=2, bootstrap=0)["value"].notna().all()
