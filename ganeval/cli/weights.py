"""`ganeval weights list | path | fetch | verify`: the external weight files ganeval knows."""

from __future__ import annotations

import click

from ..errors import GanevalError


@click.group()
def weights():
    """External weight files (Inception, VGG16, NVIDIA classifiers): where they are, fetch, verify.

    Files are looked for in $GANEVAL_WEIGHTS, $TORCH_HOME/hub/checkpoints and
    ~/.cache/torch/hub/checkpoints. Nothing is ever downloaded unless you run `fetch`.
    """


@weights.command("list")
def list_():
    """Every registered file, whether it is present, and what uses it."""
    import pandas as pd

    from ..features.weights import REGISTRY, find, search_dirs

    rows = []
    for entry in REGISTRY.values():
        p = find(entry.name)
        rows.append(dict(name=entry.name, file=entry.filename, found=str(p) if p else "-",
                         hash="sha256" if entry.sha256 else ("prefix" if entry.sha256_prefix else "none"),
                         used_by=entry.used_by))
    with pd.option_context("display.width", 250, "display.max_colwidth", 90, "display.max_rows", 200):
        click.echo(pd.DataFrame(rows).to_string(index=False))
    click.echo("searched: " + ", ".join(str(d) for d in search_dirs()))


@weights.command()
@click.argument("name")
def path(name):
    """Print where NAME is found (exit code 2 if it is not)."""
    from ..features.weights import locate

    click.echo(str(locate(name)))


@weights.command()
@click.argument("names", nargs=-1, required=True)
@click.option("--dir", "dest", type=click.Path(file_okay=False), default=None,
              help="Target folder (default: $GANEVAL_WEIGHTS, else $TORCH_HOME/hub/checkpoints, else ~/.cache/...).")
@click.option("--url", default=None, help="Download from this URL instead (a mirror; one NAME only).")
@click.option("--force", is_flag=True, help="Download even if a good copy is present.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def fetch(names, dest, url, force, quiet):
    """Download NAMES (or 'celebahq-classifiers', or a glob) on a machine with internet.

    \b
      ganeval weights fetch inception-v3-compat vgg16
      ganeval weights fetch celebahq-classifiers --dir ./weights
    """
    from ..features.weights import fetch as fetch_fn
    from ..features.weights import resolve_names

    resolved = resolve_names(names)
    if url and len(resolved) != 1:
        raise GanevalError("--url needs exactly one NAME")
    for name in resolved:
        p = fetch_fn(name, dest_dir=dest, url=url, force=force, progress=not quiet)
        click.echo(f"{name}: {p}")


@weights.command()
@click.argument("names", nargs=-1)
def verify(names):
    """Hash the files found (all registered ones, or NAMES) and compare with the registry.

    Status: ok, mismatch, unverified (no reference hash known), missing. Exit code 2 on a mismatch,
    or when a NAME given explicitly is missing.
    """
    from ..features.weights import REGISTRY, WeightsHashError, get_entry, missing_message, resolve_names
    from ..features.weights import verify as verify_fn

    explicit = bool(names)
    todo = resolve_names(names) if explicit else list(REGISTRY)
    results = [verify_fn(n) for n in todo]
    for r in results:
        if explicit or r["status"] != "missing":
            click.echo(f"{r['status']:<10} {r['name']:<40} {r['path'] or '-'}")
    if not explicit and all(r["status"] == "missing" for r in results):
        click.echo("no registered weight file is present")
    bad = [r for r in results if r["status"] == "mismatch"]
    if bad:
        raise WeightsHashError(f"sha256 mismatch for {', '.join(r['file'] for r in bad)}")
    missing = [r for r in results if r["status"] == "missing"]
    if explicit and missing:
        from ..errors import WeightsNotFoundError

        raise WeightsNotFoundError(missing_message(get_entry(missing[0]["name"])))


COMMANDS = [weights]
