"""Option types checked when the command line is parsed, so a bad value fails in one line before any work.

    OutputFile("table")    --out of a result table: .csv .parquet .json .jsonl, a path that can be written
    OutputFile("png")      --out of an image grid
    OutputFile("plot")     --plot: .png .pdf .svg
    OutputFile()           any other file written (checkpoints, statistics)
    OutputDir()            a folder that is created or filled (reports, datasets, projections)
    FiniteFloat(lo, hi)    a finite float in [lo, hi] (click.FloatRange lets nan through)
"""

from __future__ import annotations

import math
from pathlib import Path

import click

SUFFIXES = {"png": (".png",), "plot": (".png", ".pdf", ".svg")}


class OutputFile(click.ParamType):
    name = "path"

    def __init__(self, kind: str | None = None):
        self.kind = kind

    def convert(self, value, param, ctx):
        from ..errors import ConfigError
        from ..metrics.tables import table_suffix
        from ..utils import check_output_path

        path = Path(value)
        try:
            if self.kind == "table":
                table_suffix(path)
            elif self.kind in SUFFIXES and path.suffix.lower() not in SUFFIXES[self.kind]:
                raise ConfigError(f"cannot write '{path}': use one of {', '.join(SUFFIXES[self.kind])}")
            check_output_path(path)
        except ConfigError as e:
            self.fail(str(e), param, ctx)
        return str(path)


class OutputDir(click.ParamType):
    name = "folder"

    def convert(self, value, param, ctx):
        from ..errors import ConfigError
        from ..utils import check_output_path

        try:
            check_output_path(value, directory=True)
        except ConfigError as e:
            self.fail(str(e), param, ctx)
        return str(value)


class FiniteFloat(click.ParamType):
    name = "float"

    def __init__(self, lo: float = -math.inf, hi: float = math.inf, lo_open: bool = False):
        self.lo, self.hi, self.lo_open = lo, hi, lo_open

    def convert(self, value, param, ctx):
        try:
            v = float(value)
        except (TypeError, ValueError):
            self.fail(f"'{value}' is not a number", param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value} is not a finite number", param, ctx)
        if v < self.lo or (self.lo_open and v == self.lo) or v > self.hi:
            lo = f"> {self.lo:g}" if self.lo_open else f">= {self.lo:g}"
            rng = lo if self.hi == math.inf else f"in [{self.lo:g}, {self.hi:g}]"
            self.fail(f"{v:g} is out of range (must be {rng})", param, ctx)
        return v
