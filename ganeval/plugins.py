"""Plugins: packages that add an architecture, training options, a loss or a report section.

A plugin is a module named under the entry-point group `ganeval.plugins` (pyproject.toml); importing
it registers what it brings through the extension points of ganeval.models (`register_arch`),
ganeval.train (`register_extension`) and ganeval.report (`register_section`). Nothing below a plugin
imports it: the registries call `load_plugins()` when they are first asked for something they do
not hold. GAN-Control (ganeval.control) is built this way.
"""

from __future__ import annotations

from importlib.metadata import entry_points

GROUP = "ganeval.plugins"
_loaded = False


def load_plugins() -> None:
    """Import every registered plugin, once per process."""
    global _loaded
    if _loaded:
        return
    _loaded = True   # before the imports: a plugin importing a registry must not load the plugins again
    seen = set()
    for ep in entry_points(group=GROUP):
        if ep.value not in seen:   # an editable install and a wheel on one path both list the same module
            seen.add(ep.value)
            ep.load()
