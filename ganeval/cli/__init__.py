"""The `ganeval` command line.

Every module in this package that defines `COMMANDS` (a list of click commands) contributes its
subcommands, so a new command group is one new file. Errors a user can cause (ganeval's own
`GanevalError`, and click's usage errors: a misspelt option, a bad value) end in one line on stderr
and exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from .._version import __version__
from ..errors import GanevalError


class _Group(click.Group):
    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        # click's own usage errors print three or four lines (usage, hint, blank, error): one line instead.
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as e:   # bare `ganeval` or `ganeval control`: the help
            click.echo(e.format_message())
            sys.exit(0)
        except click.BadParameter as e:   # "--psi: nan is not a finite number", the option first
            name = e.param.opts[0] if e.param is not None and e.param.opts else (e.param_hint or "value")
            where = e.ctx.command_path if e.ctx is not None else "ganeval"
            click.echo(f"ganeval: error: {name}: {e.message} (see '{where} --help')", err=True)
            sys.exit(2)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx is not None else "ganeval"
            click.echo(f"ganeval: error: {e.format_message().rstrip('.')} (see '{where} --help')", err=True)
            sys.exit(2)
        except click.ClickException as e:
            click.echo(f"ganeval: error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("ganeval: aborted", err=True)
            sys.exit(1)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)

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
