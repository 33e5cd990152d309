"""The ``advocacy`` command: run, worker, sweep, db, data, demo, users, tokens."""

from __future__ import annotations

import os
import sys

import click


@click.group()
def main() -> None:
    """Grassroots advocacy toolkit for a league of cities."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="web processes (production only)")
def run(host: str, port: int, workers: int) -> None:
    """Serve the app (with in-process workers when no broker is configured)."""
    import uvicorn

    from advocacy.settings import get_settings

    settings = get_settings()
    if settings.embedded_broker and workers > 1:
        raise click.UsageError("the in-process broker runs in one web process; set ADVOCACY_BROKER_URL for more")
    click.echo(
        f"Serving on http://{host}:{port}  (database: {_redact(settings.database_url)}, "
        f"broker: {'in-process' if settings.embedded_broker else _redact(settings.broker_url)})"
    )
    uvicorn.run(
        "advocacy.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=True,
    )


@main.command()
@click.option("--processes", default=2, show_default=True, type=int)
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=int,
    help="threads per process; 1 keeps WeasyPrint in one thread per process",
)
@click.option("--queues", default="", help="comma-separated queues (default: all)")
def worker(processes: int, threads: int, queues: str) -> None:
    """Run dramatiq worker processes against ADVOCACY_BROKER_URL."""
    from advocacy.settings import get_settings

    if get_settings().embedded_broker:
        raise click.UsageError("set ADVOCACY_BROKER_URL (redis://… or amqp://…); `advocacy run` has its own workers")
    from advocacy.broker import worker_environment

    args = [sys.executable, "-m", "dramatiq", "worker", "--processes", str(processes), "--threads", str(threads)]
    if queues:
        args += ["--queues", *queues.split(",")]
    environment = {**worker_environment(threads), **os.environ}
    os.execve(sys.executable, args, environment)  # noqa: S606  (replaces this process with dramatiq; args are ours)


@main.command()
def sweep() -> None:
    """Re-send nudges for work that has waited too long (run from cron in production)."""
    from advocacy.jobs import run_sweep

    for name, count in run_sweep().items():
        click.echo(f"{name}: {'failed (see log)' if count < 0 else count}")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from advocacy.migrate import upgrade

    upgrade(revision)
    click.echo(f"database at {revision}")


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://…@{rest.split('@', 1)[1]}"


def _register_package_commands() -> None:
    """Each package that has commands exposes click commands in its own ``cli.py``; they are attached here."""
    import importlib

    for module_name in PACKAGE_COMMANDS:
        module = importlib.import_module(module_name)
        for command in module.commands:
            main.add_command(command)


# Modules with a ``commands: list[click.Command]`` attribute.
PACKAGE_COMMANDS: list[str] = [
    "advocacy.accounts.cli",
    "advocacy.directory.cli",
    "advocacy.campaigns.console_cli",
]

_register_package_commands()

if __name__ == "__main__":
    main()
