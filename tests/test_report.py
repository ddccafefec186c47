"""`compare` and its report folder on tiny checkpoints (pixel-MSE PPL: no external weights)."""

import html.parser

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import ganeval
from ganeval.cli import main
from ganeval.report import compare, markdown_table


def _save(tmp_path, arch, depth, name):
    torch.manual_seed(depth)
    cfg = dict(channel_base=128, channel_max=16, z_dim=16)
    if arch != "pggan":
        cfg.update(w_dim=16, mapping_depth=depth)
    G = ganeval.build_generator(arch, 16, **cfg)
    path = tmp_path / f"{name}.pt"
    ganeval.save_checkpoint(path, G_ema=G, meta={"kimg": 1})
    return path


class _Parser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.imgs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(dict(attrs))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    paths = [_save(tmp, "stylegan2", 2, "sg2"), _save(tmp, "pggan", 0, "pg"), tmp / "missing.pt"]
    res = compare(paths, ["ppl_wend", "ppl_zend"], out=tmp / "out", num_samples=48, distance="mse",
                  psis=[0.5, 1.0], truncation_metrics=["ppl_zend"], command="ganeval compare ...", bootstrap=50)
    return tmp, res


def test_tables(report):
    tmp, res = report
    t = res.table
    assert {"metric", "value", "ci_low", "ci_high", "label", "note"} <= set(t.columns)
    sg2 = t[(t.label.str.startswith("sg2")) & (t.preset == "ppl_wend")]
    assert len(sg2) == 1 and sg2.value.iloc[0] > 0 and sg2.ci_low.iloc[0] <= sg2.value.iloc[0] <= sg2.ci_high.iloc[0]
    # PGGAN has no W: a marked cell, not a crash; the missing file likewise.
    assert res.wide.loc[res.wide.index[1], "ppl_wend_mse"].startswith("n/a") or \
        any(str(v).startswith("n/a") for v in res.wide.iloc[1])
    assert all(str(v).startswith("n/a: cannot load") for v in res.wide.iloc[2] if v)
    assert res.wide.shape[0] == 3
    for name in ("results.csv", "results.parquet", "table.md", "index.html"):
        assert (tmp / "out" / name).is_file()
    back = pd.read_csv(tmp / "out" / "results.csv")
    assert len(back) == len(t)
    md = (tmp / "out" / "table.md").read_text()
    assert md.count("\n") == 2 + 3 and "n/a" in md


def test_html_is_self_contained_with_every_table_and_plot(report):
    tmp, res = report
    text = (tmp / "out" / "index.html").read_text()
    p = _Parser()
    p.feed(text)
    assert p.tags.count("table") >= 2                     # results + protocol
    assert all(img["src"].startswith("data:image/png;base64,") for img in p.imgs)
    alts = " ".join(img["alt"] for img in p.imgs)
    for must in ("mapping depth", "truncation", "PPL distance histograms", "uncurated", "style mixing",
                 "interpolation in Z", "interpolation in W", "stochastic variation"):
        assert must in alts, must
    assert "<script" not in text and "ganeval compare" in text


def test_cache_reuses_results(report, monkeypatch):
    tmp, res = report
    import ganeval.metrics.registry as reg

    def fail(*a, **k):
        raise AssertionError("should have come from the cache")

    monkeypatch.setattr(reg, "run_preset", fail)
    again = compare([tmp / "sg2.pt"], ["ppl_wend"], num_samples=48, distance="mse", bootstrap=50)
    first = res.table[(res.table.preset == "ppl_wend") & res.table.label.str.startswith("sg2")]
    assert again.table.value.iloc[0] == first.value.iloc[0]


def test_markdown_table():
    df = pd.DataFrame({"a": [1, 2], "b": ["x|y", "z"]}, index=pd.Index(["r1", "r2"], name="k"))
    assert markdown_table(df) == "| k | a | b |\n|---|---|---|\n| r1 | 1 | x\\|y |\n| r2 | 2 | z |\n"


def test_cli_compare(tmp_path):
    a = _save(tmp_path, "stylegan", 1, "sg1")
    r = CliRunner().invoke(main, ["compare", str(a), "--metrics", "ppl_zend", "--samples", "16", "--distance", "mse",
                                  "--out", str(tmp_path / "rep"), "--no-grids", "--quiet"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rep" / "index.html").is_file() and "ppl_zend" in r.output
    r = CliRunner().invoke(main, ["compare", str(a), "--metrics", "nope", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "Traceback" not in r.output
