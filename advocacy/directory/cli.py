"""``advocacy data load [--openstates DIR]``: the shipped California data, then optionally an Open States refresh."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from advocacy import DATA_DIR


@click.group()
def data() -> None:
    """Reference data: cities, districts, legislators, committees, bills."""


@data.command("load")
@click.option(
    "--data-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=DATA_DIR,
    show_default=True,
    help="folder with the shipped CSV/JSON files",
)
@click.option(
    "--openstates",
    "openstates_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Open States people data/ca folder: refresh legislators and committees from it",
)
def load(data_dir: Path, openstates_dir: Path | None) -> None:
    """Load the shipped data (and refresh from Open States) in one transaction; a bad file changes nothing."""
    from advocacy.db import session_scope
    from advocacy.directory.importer import DataError, load_shipped
    from advocacy.directory.openstates import refresh_from_openstates

    stack = ExitStack()
    bar: Any = None

    def progress(table: str, done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = stack.enter_context(click.progressbar(length=total, label="Loading", show_pos=True, file=sys.stderr))
        bar.update(done - bar.pos)

    try:
        with stack, session_scope() as session:
            report = load_shipped(session, data_dir, progress, commit=False)
            refresh = refresh_from_openstates(session, openstates_dir, commit=False) if openstates_dir else None
            session.commit()
    except DataError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    kept = ("legislators", "legislator_offices", "committees", "committee_memberships")
    for name, tally in report.tables.items():
        if report.kept_refreshed and name in kept:
            click.echo(f"{name:<22}   kept  (as the last Open States refresh left them)")
            continue
        click.echo(
            f"{name:<22} {tally.rows:>6}  (created {tally.created}, updated {tally.updated}, "
            f"unchanged {tally.unchanged}, deleted {tally.deleted})"
        )
    if refresh is not None:
        for line in refresh.lines():
            click.echo(line)


commands: list[click.Command] = [data]
