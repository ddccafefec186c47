"""`ganeval train --control ...` options (ganeval/control/options.py): checks and the dry run."""

import json

import pytest
from click.testing import CliRunner

from ganeval.cli import main
from ganeval.errors import ConfigError
from ganeval.train import resolve_options


def test_control_options_errors(tiny_dataset):
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
