"""`compare` and its report folder on tiny checkpoints (pixel-MSE PPL: no external weights)."""

import html.parser
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

import ganeval
from ganeval.cli import main
from ganeval.report import compare, markdown_table
from ganeval.report.compare import parse_samples, wide_table


@pytest.fixture(scope="module")
def save_tiny(tiny_G):
    """Factory: save_tiny(folder, arch, depth, name) -> folder/name.pt, a native checkpoint of a width-16 `arch`
    with a `depth`-layer mapping (built from seed `depth`) as G_ema."""
    def save(folder, arch, depth, name):
        G = tiny_G(arch, depth=depth, seed=depth, width=16)
        path = folder / f"{name}.pt"
        ganeval.save_checkpoint(path, G_ema=G, meta={"kimg": 1})
        return path
    return save


class _Parser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.imgs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(dict(attrs))


@pytest.fixture(scope="module")
def report(tmp_path_factory, save_tiny):
    tmp = tmp_path_factory.mktemp("report")
    paths = [save_tiny(tmp, "stylegan2", 2, "sg2"), save_tiny(tmp, "pggan", 0, "pg"), tmp / "missing.pt"]
    res = compare(paths, ["ppl_wend", "ppl_zend"], out=tmp / "out", num_samples=48, distance="mse",
                  psis=[0.5, 1.0], truncation_metrics=["ppl_zend"], command="ganeval compare ...", bootstrap=50)
    return tmp, res


def test_tables(report):
    tmp, res = report
    t = res.table
    assert {"metric", "value", "ci_low", "ci_high", "label", "note"} <= set(t.columns)
    sg2 = t[(t.label.str.startswith("sg2")) & (t.preset == "ppl_wend")]
    assert len(sg2) == 1 and sg2.value.iloc[0] > 0 and sg2.ci_low.iloc[0] <= sg2.value.iloc[0] <= sg2.ci_high.iloc[0]
    # PGGAN has no W: a marked cell in the column the other model fills, not a crash; the missing file likewise.
    assert list(res.wide.columns) == ["ppl_wend_mse", "ppl_zend_mse"]      # in the order the metrics were asked
    assert res.wide.iloc[1]["ppl_wend_mse"] == "n/a: no W space"
    assert res.wide.iloc[1]["ppl_zend_mse"].count("[") == 1                 # value [lo, hi]
    assert list(res.wide.iloc[2]) == ["n/a: cannot load checkpoint"] * 2
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
    def fail(*a, **k):
        raise AssertionError("should have come from the cache")

    # The module (`ganeval.report.compare` as an attribute path is the function that report/__init__ exports).
    monkeypatch.setattr(sys.modules["ganeval.report.compare"], "run_preset", fail)
    again = compare([tmp / "sg2.pt"], ["ppl_wend"], num_samples=48, distance="mse", bootstrap=50)
    first = res.table[(res.table.preset == "ppl_wend") & res.table.label.str.startswith("sg2")]
    assert again.table.value.iloc[0] == first.value.iloc[0]


def test_markdown_table():
    df = pd.DataFrame({"a": [1, 2], "b": ["x|y", "z"]}, index=pd.Index(["r1", "r2"], name="k"))
    assert markdown_table(df) == "| k | a | b |\n|---|---|---|\n| r1 | 1 | x\\|y |\n| r2 | 2 | z |\n"


def test_cli_compare(tmp_path, save_tiny):
    a = save_tiny(tmp_path, "stylegan", 1, "sg1")
    r = CliRunner().invoke(main, ["compare", str(a), "--metrics", "ppl_zend", "--samples", "16", "--distance", "mse",
                                  "--out", str(tmp_path / "rep"), "--no-grids", "--quiet"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rep" / "index.html").is_file() and "ppl_zend" in r.output
    r = CliRunner().invoke(main, ["compare", str(a), "--metrics", "nope", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_jobs_give_the_numbers_of_one_process(report):
    tmp, res = report
    paths = [tmp / "sg2.pt", tmp / "pg.pt", tmp / "missing.pt"]
    kw = dict(num_samples=48, distance="mse", psis=[0.5, 1.0], truncation_metrics=["ppl_zend"], bootstrap=50,
              cache=False)
    par = compare(paths, ["ppl_wend", "ppl_zend"], jobs=2, **kw)
    cols = ["label", "preset", "metric", "value", "ci_low", "ci_high"]
    a = res.table[cols].dropna(subset=["value"]).reset_index(drop=True)
    b = par.table[cols].dropna(subset=["value"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-6)
    pd.testing.assert_frame_equal(res.wide, par.wide)
    ta = res.truncation.sort_values(["label", "psi"]).reset_index(drop=True)
    tb = par.truncation.sort_values(["label", "psi"]).reset_index(drop=True)
    assert list(ta.psi) == list(tb.psi) == [0.5, 1.0]   # the PGGAN has no W, hence no truncation
    assert list(tb.value) == pytest.approx(list(ta.value), rel=1e-6)
    # The psi = 1 point is the main table's run, not a second one.
    main_zend = res.table[(res.table.preset == "ppl_zend") & res.table.label.str.startswith("sg2")].value.iloc[0]
    assert ta[ta.psi == 1.0].value.iloc[0] == main_zend


def test_parse_samples():
    presets = ["ppl_zfull", "ppl_wend", "ls", "fd_synth"]
    assert parse_samples("500", presets) == 500
    assert parse_samples(None, presets) is None
    assert parse_samples("ppl=100,ls=2000", presets) == {"ppl_zfull": 100, "ppl_wend": 100, "ls": 2000,
                                                         "fd_synth": None}
    assert parse_samples("300,ppl_wend=50", presets) == {"ppl_zfull": 300, "ppl_wend": 50, "ls": 300, "fd_synth": 300}
    for bad in ("ls=1", "x=5", "ls=many"):
        with pytest.raises(ganeval.errors.ConfigError):
            parse_samples(bad, presets)


def test_wide_table_notes_w_columns_of_models_without_w():
    # LS gives a model without W (mapping depth 0) Z rows only: its ls_w cell says why it is empty.
    rows = [dict(label="a", preset="ls", metric="ls", space=s, attr="ALL", value=v, ci_low=v - 1, ci_high=v + 1,
                 mapping_depth=8, note=None) for s, v in (("z", 10.0), ("w", 5.0))]
    rows.append(dict(label="b", preset="ls", metric="ls", space="z", attr="ALL", value=12.0, ci_low=11.0,
                     ci_high=13.0, mapping_depth=0, note=None))
    wide = wide_table(pd.DataFrame(rows), ["ls"])
    assert wide.loc["a", "ls_w"] == "5 [4, 6]" and wide.loc["b", "ls_z"] == "12 [11, 13]"
    assert wide.loc["b", "ls_w"] == "n/a: no W space"


def test_depth_plot_puts_z_and_w_of_a_metric_on_one_panel():
    from ganeval.report.plots import _panel

    assert _panel("ppl_zfull_synth", "z") == _panel("ppl_wfull_synth", "w") == "ppl_full_synth"
    assert _panel("ppl_zend", "z") == _panel("ppl_wend", "w") == "ppl_end"
    assert _panel("ls_z", "z") == _panel("ls_w", "w") == "ls"
    assert _panel("fd_synth", None) == "fd_synth" and _panel("fid50k_full", None) == "fid50k_full"
