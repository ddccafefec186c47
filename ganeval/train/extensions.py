"""Extension points of `ganeval train` for plugins (ganeval/plugins.py): options, their resolution, the loss.

A plugin registers one `TrainingExtension`. Its options are flat names with defaults (GAN-Control's
`control`, `control_weight`, ...): `resolve_options` accepts them like its own, `TrainingOptions`
keeps them in `plugin_options` (readable as attributes, stored flat in training_options.json and in
checkpoints, so a run resumes with them), and the training loop asks every extension for its loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..plugins import load_plugins


@dataclass(frozen=True)
class TrainingExtension:
    name: str
    options: dict[str, Any]                                   # option name -> default
    active: Callable[[dict], bool]                            # does a run with these (flat) options use it?
    resolve: Callable[[dict, dict], dict] = lambda given, stored: given   # (given, stored) -> given, amended
    validate: Callable[[Any], None] = lambda options: None    # TrainingOptions -> None | ConfigError
    loss: Callable[[Any, Any], tuple[type, dict]] | None = None   # (options, device) -> (GANLoss class, kwargs)
    arch_defaults: dict[str, str] = field(default_factory=dict)   # its architecture -> the paper recipe it uses


EXTENSIONS: dict[str, TrainingExtension] = {}


def register_extension(extension: TrainingExtension) -> None:
    EXTENSIONS[extension.name] = extension


def extensions() -> list[TrainingExtension]:
    """Every registered extension (the plugins are loaded first)."""
    load_plugins()
    return list(EXTENSIONS.values())


def plugin_defaults() -> dict[str, Any]:
    """Every extension's options with their defaults, in registration order."""
    out: dict[str, Any] = {}
    for ext in extensions():
        out.update(ext.options)
    return out
