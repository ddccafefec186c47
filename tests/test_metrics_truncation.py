"""Truncation sweeps (ganeval.metrics.truncation): psi grids, one table, the plot."""

import numpy as np
import pytest

from ganeval.errors import ConfigError
from ganeval.metrics.truncation import parse_psis, plot_truncation, truncation_sweep

pytestmark = pytest.mark.usefixtures("one_thread")


def test_parse_psis():
    assert parse_psis("0.5:1.0:0.1") == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert parse_psis("0.7,1") == [0.7, 1.0] and parse_psis([0.5, 1]) == [0.5, 1.0]
    with pytest.raises(ConfigError):
        parse_psis("1:0.5:0.1")


def test_sweep_table_and_plot(tmp_path, metric_G):
    G = metric_G()
    df = truncation_sweep(G, "0.5,1.0", ["ppl2_wend", "ppl_zfull"], num_samples=8, distance="mse", seed=2)
    assert len(df) == 4 and list(df["psi"]) == [0.5, 0.5, 1.0, 1.0]
    assert list(df["metric"]) == ["ppl2_wend_mse", "ppl_zfull_mse"] * 2
    assert (df["num_samples"] == 8).all() and list(df["protocol_samples"]) == [50_000, 100_000] * 2
    w = df[df.metric == "ppl2_wend_mse"].set_index("psi")["value"]
    # Truncation shrinks the W path by psi: distances scale by about psi^2.
    assert w[0.5] < w[1.0]
    np.testing.assert_allclose(w[0.5] / w[1.0], 0.25, rtol=0.5)
    # Same seed at every psi: psi = 1 reproduces the untruncated metric exactly.
    from ganeval.metrics.presets import run_preset

    plain = run_preset("ppl2_wend", G, num_samples=8, distance="mse", seed=2)["value"][0]
    assert w[1.0] == pytest.approx(plain, rel=1e-9)
    out = tmp_path / "psi.png"
    plot_truncation(df, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cutoff_is_recorded(metric_G):
    df = truncation_sweep(metric_G(), [0.5], ["ppl2_wend"], truncation_cutoff=2, num_samples=4, distance="mse")
    assert df["truncation_cutoff"][0] == 2 and df["psi"][0] == 0.5
