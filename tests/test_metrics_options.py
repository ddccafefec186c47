"""One options object for the run settings, one preset table; a misspelt option is refused, never ignored."""

import dataclasses
import inspect

import pytest
import torch
from click.testing import CliRunner

import ganeval
from ganeval.cli import main
from ganeval.errors import ConfigError
from ganeval.metrics import PRESETS, RunOptions, evaluate, ppl, run_preset
from ganeval.metrics.presets import ppl_preset, route_options


@pytest.fixture(scope="module")
def G():
    torch.manual_seed(0)
    return ganeval.build_generator("stylegan2", 16, channel_base=256, channel_max=32, z_dim=32, w_dim=32,
                                   mapping_depth=2).eval()


def test_cli_refuses_a_misspelt_option_in_one_line():
    r = CliRunner().invoke(main, ["fid", "--ckpt", "X", "--bogus-option"])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "--bogus-option" in lines[0] and lines[0].startswith("ganeval: error:")


def test_python_api_refuses_a_misspelt_option_before_any_work(G):
    with pytest.raises(ConfigError, match="'bogus'") as e:
        evaluate(G, "ppl2_wend_synth", bogus=1)
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="'sead'"):
        ppl(G, distance="mse", num_samples=4, sead=1)
    with pytest.raises(ConfigError, match="'xflip'"):       # a real option, but not one PPL takes
        run_preset("ppl2_wend", G, num_samples=4, xflip=True)


def test_options_object_and_keywords_give_the_same_number(G):
    a = ppl(G, distance="mse", num_samples=32, opts=RunOptions(seed=3, batch_size=4, bootstrap=0))
    b = ppl(G, distance="mse", num_samples=32, seed=3, batch_size=4, bootstrap=0)
    c = ppl(G, distance="mse", num_samples=32, opts=RunOptions(seed=3), batch_size=16, bootstrap=0)
    assert a.value[0] == b.value[0] == c.value[0]                          # the batch size never changes it
    d = ppl(G, distance="mse", num_samples=32, seed=4, bootstrap=0)
    assert d.value[0] != a.value[0] and a.seed[0] == 3 and d.seed[0] == 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        RunOptions().seed = 1


def test_options_go_to_the_presets_that_take_them(G):
    run, per_preset = route_options([PRESETS["ppl_zend"], PRESETS["ls"], PRESETS["fd_synth"]],
                                    dict(seed=2, distance="mse", n_jobs=1, cache=False, reference="x"))
    assert run == {"seed": 2}
    assert per_preset == {"ppl_zend": {"distance": "mse"}, "ls": {"n_jobs": 1},
                          "fd_synth": {"cache": False, "reference": "x"}}
    df = evaluate(G, ["ppl_zend", "ppl2_wend_synth"], num_samples=8, distance="mse", bootstrap=0, seed=1)
    # ppl_zend takes the distance (and says so in its name); ppl2_wend_synth fixes synth-lpips by protocol.
    assert list(df.metric) == ["ppl_zend_mse", "ppl2_wend_synth"]
    assert list(df.feature_net) == ["mse", "synth-lpips"] and list(df.protocol_samples) == [100_000, 50_000]


def test_every_preset_row_names_settings_its_routine_takes():
    for p in PRESETS.values():
        params = inspect.signature(p.routine).parameters
        assert set(p.settings) <= set(params), p.name
        assert set(p.needs) <= set(params), p.name
        assert p.protocol_samples == p.num_samples > 0


def test_ppl_combinations_no_paper_names_have_no_protocol_count(G):
    assert ppl_preset("w", "end", crop=True) is PRESETS["ppl_wend"]
    p = ppl_preset("z", "full", crop=False)
    assert p.name == "ppl2_zfull" and p.protocol_samples is None and p.num_samples == 50_000
    df = run_preset(p, G, num_samples=8, distance="mse", bootstrap=0)
    assert df.metric[0] == "ppl2_zfull_mse" and df.protocol_samples.isna().all() and df.num_samples[0] == 8
