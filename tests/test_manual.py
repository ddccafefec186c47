"""The manual works as written: every README code block and every `--help` example.

Python blocks run as they stand, each in a fresh interpreter outside the checkout. Command lines (README
shell blocks, help examples) are parsed by the real CLI, so every command, option and value they show
exists; the help examples on the bundled models also run, since a reader can paste them as they are.
"""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ganeval.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
# Metric commands whose help examples on bundled models are run, not only parsed.
RUN = ("ppl", "separability", "fid", "truncation")


def _blocks(lang: str) -> list[str]:
    return [body for kind, body in BLOCK.findall(README) if kind == lang]


def _command_lines(text: str) -> list[list[str]]:
    """The `ganeval ...` command lines of a shell text (continuations joined, comments and torchrun dropped)."""
    out = []
    for line in text.replace("\\\n", " ").splitlines():
        line = line.split(" #")[0].strip().removeprefix("$ ")
        if not (line.startswith("ganeval ") or line.startswith("torchrun ") and " ganeval " in line):
            continue   # prose, or another program (make, pip, python)
        words = shlex.split(line)
        words = words[words.index("ganeval") + 1:]
        if words and not words[0].startswith("-"):
            out.append(words)
    return out


def _commands(group=main, path=("ganeval",)):
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, path + (name,))
        else:
            yield path + (name,), cmd


HELP_EXAMPLES = [(" ".join(path), words) for path, cmd in _commands()
                 for words in _command_lines(cmd.help or "") if ["ganeval", *words[:len(path) - 1]] == list(path)]


def _parse(words: list[str]) -> dict:
    """Parse a command line with the real CLI (options, types, required values), without running it."""
    cmd, args, name = main, list(words), "ganeval"
    while isinstance(cmd, click.Group):
        name, args, cmd = args[0], args[1:], cmd.get_command(None, args[0])
        assert cmd is not None, f"no command '{name}'"
    with cmd.make_context(name, args) as ctx:
        return ctx.params


def test_readme_shows_the_setup_commands_and_is_a_manual():
    assert "make demo" in README and "make test" in README
    assert len(README.splitlines()) <= 300
    for link in re.findall(r"\]\(([^)#]+)\)", README):
        if not link.startswith(("http://", "https://")):
            assert (ROOT / link).exists(), f"README links to {link}, which is not in the repository"


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_readme_python_block_runs(index, tmp_path):
    code = _blocks("python")[index]
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"README python block {index + 1} fails:\n{code}\n{r.stderr[-3000:]}"


def test_readme_command_lines_parse():
    lines = [words for lang in ("bash", "sh", "shell", "console", "") for body in _blocks(lang)
             for words in _command_lines(body)]
    assert lines, "the README shows no ganeval command"
    for words in lines:
        _parse(words)


def test_every_metric_command_has_a_help_example_on_the_bundled_models():
    for name in RUN:
        assert any(cmd == f"ganeval {name}" and "synthfaces-stylegan-map8" in words for cmd, words in HELP_EXAMPLES)


@pytest.mark.parametrize("command, words", HELP_EXAMPLES, ids=[" ".join(w) for _, w in HELP_EXAMPLES])
def test_help_example(command, words, tmp_path, monkeypatch):
    _parse(words)
    bundled = any(w.startswith("synthfaces-") for w in words) and not any(w.endswith((".pt", ".zip")) for w in words)
    if words[0] in RUN and bundled:
        monkeypatch.chdir(tmp_path)
        r = CliRunner().invoke(main, words + ["--quiet"])
        assert r.exit_code == 0, r.output
        assert "metric" in r.output.splitlines()[0]
