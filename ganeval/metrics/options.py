"""The run settings every metric shares, as one frozen dataclass.

Protocol settings (space, crop, epsilon, sample counts, ...) are a metric's own keyword arguments and
fixed by its presets (presets.py); the settings here say how a run is carried out. Of them only
`seed`, `truncation_psi` and `truncation_cutoff` change the number, and every row records them.

    opts = RunOptions(seed=1, batch_size=32, device="cuda")
    ganeval.metrics.ppl(G, space="z", opts=opts)
    ganeval.metrics.ppl(G, space="z", seed=1, batch_size=32)     # the same: keywords build the options
    ganeval.metrics.ppl(G, space="z", sead=1)                    # ConfigError: unknown option 'sead'
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

import torch

from ..errors import ConfigError

MAX_BOOTSTRAP = 100_000   # replicates of an interval: more only costs time (a billion would run for days)


@dataclass(frozen=True)
class RunOptions:
    seed: int = 0                                   # seed of every sample stream (latents, noise, bootstrap)
    batch_size: int | None = None                   # images (PPL: pairs) per network call; None = the metric's
    device: str | torch.device | None = None        # None = CUDA when present (under torchrun: the local GPU)
    progress: bool | None = None                    # progress bar; None = only on a terminal
    state_dir: str | os.PathLike | None = None      # keep finished chunks here and resume from them (runner.py)
    truncation_psi: float = 1.0                     # psi of the truncation trick (every protocol: 1)
    truncation_cutoff: int | None = None            # truncate only the first N ws (None = all)
    bootstrap: int | None = None                    # bootstrap replicates of the interval; None = the metric's

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def make(cls, opts: RunOptions | None = None, **settings) -> RunOptions:
        """`opts` (or the defaults) with `settings` applied; a setting given as None keeps its value.

        A keyword that is not a run setting is a misspelt or misplaced option: one ConfigError line.
        """
        unknown = sorted(set(settings) - set(cls.fields()))
        if unknown:
            raise ConfigError(f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                              f"(run options: {', '.join(cls.fields())})")
        opts = opts if opts is not None else cls()
        given = {k: v for k, v in settings.items() if v is not None}
        opts = dataclasses.replace(opts, **given) if given else opts
        opts.check()
        return opts

    def check(self) -> None:
        """One ConfigError line for a value no run can use (nan psi, a batch of 0, a billion bootstrap replicates)."""
        if not isinstance(self.truncation_psi, (int, float)) or not math.isfinite(self.truncation_psi):
            raise ConfigError(f"truncation_psi must be a finite number, got {self.truncation_psi}")
        if self.truncation_cutoff is not None and int(self.truncation_cutoff) < 0:
            raise ConfigError(f"truncation_cutoff must be >= 0 (or None), got {self.truncation_cutoff}")
        if self.batch_size is not None and int(self.batch_size) < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.bootstrap is not None and not 0 <= int(self.bootstrap) <= MAX_BOOTSTRAP:
            raise ConfigError(f"bootstrap must be in 0..{MAX_BOOTSTRAP:,}, got {self.bootstrap}")

    def batch(self, default: int) -> int:
        """The batch size to use: the one given, else the metric's `default`."""
        return max(1, int(self.batch_size or default))

    def replicates(self, default: int) -> int:
        """Bootstrap replicates: the number given, else the metric's `default`."""
        return int(default if self.bootstrap is None else self.bootstrap)
