"""`ganeval demo`: the mapping-depth study on the bundled models, end to end, and the HTML it writes."""

import html.parser

import pandas as pd
import pytest
from click.testing import CliRunner

from ganeval.cli import main
from ganeval.cli.demo import DEMO_METRICS, DEMO_MODELS


class _Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.imgs, self.cells, self._in_cell = [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_cell = tag in ("td", "th")
        if tag == "img":
            self.imgs.append(dict(attrs))

    def handle_data(self, data):
        if self._in_cell:
            self.cells.append(data)


def check_demo_output(out, output):
    text = (out / "index.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    page.close()
    assert "<script" not in text and "ganeval demo" in text
    assert page.tags.count("table") == 2                      # the results table and the protocol table
    # Every table: each model is a row of the results, with its numbers and intervals.
    for _, label in DEMO_MODELS:
        assert label in page.cells and label in output
    wide = (out / "table.md").read_text()
    for col in ("ppl_zfull_synth", "ppl_wfull_synth", "ppl_zend_synth", "ppl_wend_synth", "ls_z", "ls_w", "fd_synth"):
        assert col in page.cells and col in wide, col
    # Mapping depth 0 and PGGAN have no W: PPL in W (full, end) and LS in W are marked, not blank.
    assert sum(c == "n/a: no W space" for c in page.cells) == 2 * 3
    # Every plot and every kind of grid, embedded (self-contained page).
    assert all(img["src"].startswith("data:image/png;base64,") for img in page.imgs)
    alts = [img["alt"] for img in page.imgs]
    for must in ("metric vs mapping depth", "truncation curves", "PPL distance histograms",
                 "per-attribute conditional entropy"):
        assert any(a.startswith(must) for a in alts), must
    for grid in ("uncurated", "style mixing", "interpolation in Z", "interpolation in W", "stochastic variation"):
        assert any(a.startswith(grid) for a in alts), grid
    assert sum(a.startswith("uncurated") for a in alts) == len(DEMO_MODELS)
    table = pd.read_csv(out / "results.csv")
    assert set(table.preset.dropna()) == set(DEMO_METRICS)
    # Every headline number comes with an interval around it (per-attribute LS rows use percentile
    # intervals of a quantity clipped at 0, which need not contain the point).
    ok = table[table.note.isna() & table.value.notna() & (table.attr.isna() | (table.attr == "ALL"))]
    assert len(ok) == 3 * 4 + 2 * 2 + 3 * 2 + 2 + 5          # PPL (4 or Z only), LS (z, w or z only), FD
    tol = 1e-9 * ok.value.abs()                               # LS of 1.0 (perfect SVMs) has [1 - ulp, 1 + ulp]
    assert (ok.ci_low <= ok.value + tol).all() and (ok.value <= ok.ci_high + tol).all()
    assert "report:" in output and str(out / "index.html") in output


def test_demo_small(tmp_path):
    out = tmp_path / "demo"
    r = CliRunner().invoke(main, ["demo", "--out", str(out), "--scale", "0.05", "--jobs", "2", "--quiet"])
    assert r.exit_code == 0, r.output
    check_demo_output(out, r.output)


@pytest.mark.slow
def test_demo_full(tmp_path):
    out = tmp_path / "demo"
    r = CliRunner().invoke(main, ["demo", "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    check_demo_output(out, r.output)
