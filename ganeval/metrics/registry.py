"""Named metric presets: each is one `functools.partial` over a metric's generic routine.

A metric module registers its own presets next to the routine they specialise, e.g. in ppl.py:

    register_preset("ppl_wend", partial(ppl, space="w", sampling="end", crop=True, num_samples=100_000))

so adding a metric touches that module, its registry line and its test. `run_preset` passes each
routine only the shared options it accepts (device, batch_size, seed, reference, classifiers, ...),
labels the rows with the preset name and records the protocol's sample count next to the one used.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from functools import partial

import pandas as pd

from ..errors import ConfigError


@dataclass(frozen=True)
class Preset:
    name: str
    fn: partial
    needs: tuple[str, ...] = ()     # shared inputs that must be supplied: 'reference', 'classifiers'
    description: str = ""

    @property
    def protocol_samples(self) -> int | None:
        return self.fn.keywords.get("num_samples")

    @property
    def routine(self):
        return self.fn.func

    def accepts(self) -> set[str]:
        return set(inspect.signature(self.fn.func).parameters)


PRESETS: dict[str, Preset] = {}


def register_preset(name: str, fn: partial, needs: tuple[str, ...] = (), description: str = "") -> Preset:
    if not isinstance(fn, partial):
        raise TypeError("a preset is a functools.partial over a metric routine")
    PRESETS[name] = Preset(name, fn, tuple(needs), description or (fn.func.__doc__ or "").strip().splitlines()[0])
    return PRESETS[name]


_LOADED = False


def _load_metric_modules() -> None:
    """Import every module of ganeval.metrics once, so their presets are registered."""
    global _LOADED
    if _LOADED:
        return
    import ganeval.metrics as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{mod.name}")
    _LOADED = True


def list_presets() -> list[str]:
    _load_metric_modules()
    return sorted(PRESETS)


def presets_table() -> pd.DataFrame:
    _load_metric_modules()
    rows = []
    for name in sorted(PRESETS):
        p = PRESETS[name]
        kw = {k: v for k, v in p.fn.keywords.items() if k != "num_samples"}
        rows.append(dict(preset=name, routine=p.routine.__name__, protocol_samples=p.protocol_samples,
                         needs=",".join(p.needs), settings=", ".join(f"{k}={v}" for k, v in kw.items())))
    return pd.DataFrame(rows)


def get_preset(name: str) -> Preset:
    _load_metric_modules()
    if name not in PRESETS:
        raise ConfigError(f"unknown metric preset '{name}' (known: {', '.join(sorted(PRESETS))})")
    return PRESETS[name]


def parse_presets(spec) -> list[str]:
    """'ppl_wend,ls,fid50k_full' or a list -> validated preset names."""
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s and s.strip()]
    if not names:
        raise ConfigError("no metric presets given")
    for n in names:
        get_preset(n)
    return names


def run_preset(name: str, G, num_samples: int | None = None, **options) -> pd.DataFrame:
    """Run one preset on G. `num_samples` lowers (or raises) the preset's count; rows keep both numbers.

    Options the routine does not accept are ignored (so one option set can drive many presets), and
    so are options that are None or that the preset fixes as part of its protocol (e.g. xflip=False in
    fid50k_full, crop=True in ppl_wend): only the sample count of a preset can be changed.
    """
    preset = get_preset(name)
    for need in preset.needs:
        if options.get(need) is None:
            flag = {"reference": "--data", "classifiers": "--classifiers"}.get(need, need)
            raise ConfigError(f"metric '{name}' needs {need} ({flag})")
    accepted = preset.accepts()
    fixed = set(preset.fn.keywords)
    kwargs = {k: v for k, v in options.items() if k in accepted and v is not None and k not in fixed}
    if num_samples is not None:
        kwargs["num_samples"] = int(num_samples)
    out = preset.fn(G, name=name, **kwargs)
    # Routines may return (table, extra), e.g. ppl(..., return_distances=True): label the table, pass the rest on.
    df = out[0] if isinstance(out, tuple) else out
    df["protocol_samples"] = preset.protocol_samples
    return out
