"""The files that ship with ganeval: bundled models, attribute classifiers and their cards.

They live in the repository's top-level pretrained/ folder, which is installed as the package
`ganeval.pretrained` (pyproject.toml maps it), so a wheel carries them and a checkout uses them in
place: one place to look, whichever way ganeval was installed.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

PACKAGE = "ganeval.pretrained"


def bundled_dir() -> Path:
    """The folder of the bundled files."""
    return Path(str(importlib.resources.files(PACKAGE)))


def bundled_file(name: str, suffix: str = ".pt") -> Path | None:
    """pretrained/<name><suffix> if it is there, else None."""
    path = bundled_dir() / f"{name}{suffix}"
    return path if path.is_file() else None


def bundled_names(suffix: str = ".pt") -> list[str]:
    """The names of the bundled files with `suffix`, sorted."""
    return sorted(p.name[: -len(suffix)] for p in bundled_dir().glob(f"*{suffix}"))


def is_bundled(path: str | Path) -> bool:
    """Whether `path` is a file of the bundled folder."""
    return Path(path).resolve().parent == bundled_dir().resolve()
