"""The `ganeval` command line.

Every module in this package that defines `COMMANDS` (a list of click commands) contributes its
subcommands, so a new command group is one new file. Errors a user can cause (ganeval's own
`GanevalError`) end in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from .. import __version__
from ..errors import GanevalError


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GanevalError as e:
            click.echo(f"ganeval: error: {e}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("ganeval: interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ganeval")
def main():
    """ganeval: StyleGAN-family generators and the metrics of their papers (FID, PPL, LS)."""


def _register() -> None:
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{mod.name}")
        for cmd in getattr(module, "COMMANDS", []):
            main.add_command(cmd)


_register()
