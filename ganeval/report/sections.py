"""Extension point of the report for plugins (ganeval/plugins.py): a section of their own per checkpoint.

A `Section` says which checkpoints it applies to and makes, for each, a table and images; `compare`
collects them and the HTML report shows them under the section's title (GAN-Control registers one:
ganeval/control/plugin.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..plugins import load_plugins


@dataclass(frozen=True)
class Section:
    name: str                       # id in the page; the section's rows go to <name>.csv
    title: str
    intro: str                      # one paragraph under the title (plain text)
    columns: tuple[str, ...]        # the table columns shown in the page (the CSV has all)
    applies: Callable               # (checkpoint path) -> bool; cheap
    make: Callable                  # (path, out_dir, classifiers=, num_samples=, label=, device=)
                                    #   -> {'table': DataFrame, 'images': {key: png path}}
    caption: Callable = str         # image key -> its caption in the page


SECTIONS: dict[str, Section] = {}


def register_section(section: Section) -> None:
    SECTIONS[section.name] = section


def sections() -> list[Section]:
    """Every registered section (the plugins are loaded first)."""
    load_plugins()
    return list(SECTIONS.values())
