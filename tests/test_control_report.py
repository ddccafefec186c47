"""The GAN-Control section of reports (ganeval/control/report.py) and of `ganeval compare`."""

import pandas as pd
from PIL import Image

from ganeval.features.attributes import AttributeClassifiers, save_classifiers


def test_report_section(quick_encoders, tmp_path):
    from ganeval.control.report import control_section, has_encoders

    snap, out, clf_path = quick_encoders
    assert has_encoders(out) and not has_encoders(snap)
    sec = control_section(out, tmp_path / "rep", num_samples=16, seeds=range(4))
    assert set(sec["table"].metric) == {"control_accuracy", "control_effect", "control_leakage"}
    assert set(sec["table"].feature_net) == {str(clf_path)}          # the training net judges by default
    assert Image.open(sec["images"]["smiling"]).size == (4 * 16, 2 * 16)
    # Classifiers given to the report join the training net instead of replacing it.
    extra = save_classifiers(AttributeClassifiers(resolution=16, channels=(4, 8), hidden=8), tmp_path / "x.pt")
    sec = control_section(out, tmp_path / "rep", classifiers=str(extra), num_samples=16, seeds=range(4))
    assert list(dict.fromkeys(sec["table"].feature_net)) == [str(clf_path), str(extra)]


def test_compare_report_has_gan_control_section(quick_encoders, tmp_path):
    """`ganeval compare` on a controlled checkpoint: a GAN-Control section with its table and grids."""
    from ganeval.report import compare

    snap, ckpt, clf_path = quick_encoders
    res = compare([ckpt, snap], ["ppl_zend"], out=tmp_path / "rep", num_samples=8, distance="mse", grids=False,
                  classifiers=str(clf_path), section_samples=16, cache=False)
    assert list(res.sections["control"]) == [res.wide.index[0]]          # only the checkpoint with encoders
    text = (tmp_path / "rep" / "index.html").read_text()
    assert "<h2 id='control'>GAN-Control</h2>" in text
    assert text.count('alt="GAN-Control smiling: top row set to 0') == 1 and 'alt="GAN-Control eyeglasses' in text
    table = pd.read_csv(tmp_path / "rep" / "control.csv")
    assert set(table.metric) == {"control_accuracy", "control_effect", "control_leakage"}
    assert set(table.attr) == {"smiling", "eyeglasses", "ALL"}
