"""``advocacy agenda …`` and ``advocacy rules …``: the Action Agenda and committee letter rules from the shell."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def agenda() -> None:
    """The Action Agenda: bills, the league's positions, talking points."""


@agenda.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def agenda_import(path: Path) -> None:
    """Import a CSV or JSON file of bills (checked whole first: one bad row changes nothing)."""
    from advocacy.campaigns import agenda as service
    from advocacy.db import session_scope

    with session_scope() as session:
        try:
            report = service.import_file(session, path.name, path.read_bytes(), None)
        except service.AgendaError as exc:
            raise click.ClickException("nothing was imported:\n  " + "\n  ".join(exc.errors)) from None
    click.echo(report.summary())


@agenda.command("import-shipped")
def agenda_import_shipped() -> None:
    """Put every bill of the shipped data on the agenda (run `advocacy data load` first)."""
    from advocacy.campaigns import agenda as service
    from advocacy.db import session_scope

    with session_scope() as session:
        try:
            report = service.import_shipped(session, None)
        except service.AgendaError as exc:
            raise click.ClickException("; ".join(exc.errors)) from None
    click.echo(report.summary())


@click.group()
def rules() -> None:
    """Committee letter rules (deadlines, channels, how positions are listed)."""


@rules.command("seed")
def rules_seed() -> None:
    """Add the rules of DOMAIN.md §1.6 for committees that have none (rules staff edited are kept)."""
    from advocacy.campaigns.committee_rules import seed_rules
    from advocacy.db import session_scope

    with session_scope() as session:
        created, missing = seed_rules(session)
    click.echo(f"{created} rule(s) added" + (f"; committees not found: {', '.join(missing)}" if missing else ""))


commands: list[click.Command] = [agenda, rules]
