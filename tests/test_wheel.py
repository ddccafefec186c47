"""The wheel works outside the checkout: it carries the bundled models, classifiers and cards as package data."""

import csv
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPI_LIMIT = 100 * 2 ** 20   # PyPI's default upload limit per file


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """`pip wheel` of a copy of the sources (the build writes build/ and *.egg-info next to them)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in ("ganeval", "pretrained"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                    "-w", str(tmp / "dist"), str(src)], check=True, capture_output=True)
    (path,) = (tmp / "dist").glob("ganeval-*.whl")
    return path


@pytest.mark.wheel
def test_wheel_holds_the_bundled_files_and_no_tools(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    bundled = {Path(n).name for n in names if n.startswith("ganeval/pretrained/")}
    for stem in ("synthfaces-stylegan-map8", "synthfaces-classifiers", "synthfaces-judge"):
        assert {f"{stem}.pt", f"{stem}.md"} <= bundled, stem
    assert set(p.name for p in (ROOT / "pretrained").glob("*.pt")) <= bundled
    assert not [n for n in bundled if n.endswith(".py") and n != "__init__.py"]   # bundling tools stay in tools/
    assert {"ganeval/metrics/presets.py", "ganeval/control/plugin.py", "ganeval/_version.py"} <= set(names)
    assert wheel.stat().st_size < PYPI_LIMIT


@pytest.mark.wheel
def test_wheel_installed_in_a_fresh_environment_runs_outside_the_checkout(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True,
                   capture_output=True)
    # The dependencies (torch, ...) come from this interpreter's site-packages, appended after the new
    # environment's own: ganeval itself is found only in the new environment (the checkout's editable install
    # is a finder that .pth lines of a non-site directory never start).
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "_ganeval_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def run(*args):
        r = subprocess.run(list(args), cwd=run_dir, env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-3000:]
        return r.stdout

    where = run(str(python), "-c", "import ganeval.assets as a; print(a.bundled_dir())").strip()
    assert Path(where).is_relative_to(venv) and not Path(where).is_relative_to(ROOT)
    ganeval_cli = str(venv / "bin" / "ganeval")
    info = run(ganeval_cli, "info", "synthfaces-stylegan-map8")
    assert f"file              {where}/synthfaces-stylegan-map8.pt" in info
    assert "mapping depth     8" in info and "# synthfaces-stylegan-map8" in info      # the card comes along
    # The default separability: the bundled classifiers, found inside the installed package.
    out = tmp_path / "ls.csv"
    run(ganeval_cli, "separability", "--ckpt", "synthfaces-stylegan-map8", "--samples", "200", "--attrs",
        "male,smiling", "--bootstrap", "0", "--quiet", "--out", str(out))
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert {(r["space"], r["attr"]) for r in rows} == {(s, a) for s in "zw" for a in ("male", "smiling", "ALL")}
    assert {r["feature_net"] for r in rows} == {"synthfaces-classifiers"}
    # The GAN-Control plugin is found through the installed entry point.
    assert "stylegan2-control" in run(ganeval_cli, "info", "synthfaces-stylegan2-control")
