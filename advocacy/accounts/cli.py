"""``advocacy users …``, ``advocacy tokens …`` and ``advocacy demo``."""

from __future__ import annotations

from collections.abc import Sequence

import click

from advocacy.accounts.models import Role


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(1)


@click.group()
def users() -> None:
    """Accounts: officials, regional managers, staff, admins."""


@users.command("create")
@click.option("--email", required=True, help="the address login links go to")
@click.option("--name", required=True, help="full name as it appears on letters")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--city", "city_ref", default=None, help="officials: the city's id, Census GEOID or unique name")
@click.option("--division", "division_slug", default=None, help="regional managers: the division's slug")
@click.option("--title", default="", help="e.g. Mayor, Council Member, City Manager")
@click.option("--may-sign", is_flag=True, help="officials: may sign letters stating the city's position")
@click.option("--treasurer", is_flag=True, help="staff: the CitiPAC treasurer")
def users_create(
    email: str,
    name: str,
    role: str,
    city_ref: str | None,
    division_slug: str | None,
    title: str,
    may_sign: bool,
    treasurer: bool,
) -> None:
    """Create an account (an existing e-mail is an error; nothing is created on bad input)."""
    from advocacy.accounts import service
    from advocacy.db import session_scope

    with session_scope() as session:
        try:
            city_id = service.find_city(session, city_ref).id if city_ref else None
            division_id = service.find_division(session, division_slug).id if division_slug else None
            user = service.create_user(
                session,
                email=email,
                name=name,
                role=role,
                title=title,
                city_id=city_id,
                division_id=division_id,
                may_sign=may_sign,
                is_treasurer=treasurer,
            )
        except service.AccountError as exc:
            _fail(str(exc))
            return
        place = service.profile(session, user)
        where = place.city.name if place.city else place.division.name if place.division else "league"
        click.echo(
            f"Created user {user.id}: {user.name} <{user.email}>, {user.role.value}, {where}"
            + (", may sign" if user.may_sign else "")
        )


@users.command("list")
@click.option("--role", default=None, type=click.Choice([r.value for r in Role]))
def users_list(role: str | None) -> None:
    """Every account, by role."""
    from advocacy.accounts import service
    from advocacy.db import session_scope

    with session_scope() as session:
        rows = []
        for user in service.list_users(session, role=Role(role) if role else None):
            found = service.profile(session, user)
            where = (
                found.city.name
                if found.city
                else found.division.name
                if found.division and user.role is Role.REGIONAL_MANAGER
                else ""
            )
            flags = ", ".join(
                f
                for f, on in (
                    ("may sign", user.may_sign),
                    ("treasurer", user.is_treasurer),
                    ("inactive", not user.active),
                )
                if on
            )
            rows.append((str(user.id), user.role.value, user.name, user.email, where, flags))
        if not rows:
            click.echo("No users.")
            return
        _table(("id", "role", "name", "e-mail", "city / division", "flags"), rows)


@click.group()
def tokens() -> None:
    """API tokens (bearer tokens for /api/v1)."""


@tokens.command("create")
@click.option("--email", required=True, help="the user the token acts as")
@click.option("--name", default="", help="what the token is for")
def tokens_create(email: str, name: str) -> None:
    """Create a token and print it once (only its hash is stored)."""
    from advocacy.accounts import service
    from advocacy.db import session_scope

    with session_scope() as session:
        user = service.get_user_by_email(session, email)
        if user is None:
            _fail(f"no user with the e-mail {service.normalize_email(email)}")
            return
        try:
            token, raw = service.create_api_token(session, user, name)
        except service.AccountError as exc:
            _fail(str(exc))
            return
        click.echo(f"Token {token.id} for {user.email} (shown once, keep it secret):", err=True)
        click.echo(raw)


@tokens.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID; it stops working at once."""
    from advocacy.accounts import service
    from advocacy.db import session_scope

    with session_scope() as session:
        try:
            token = service.revoke_api_token(session, token_id, actor=None)
        except service.AccountError as exc:
            _fail(str(exc))
            return
        click.echo(f"Token {token.id} revoked.")


@tokens.command("list")
@click.option("--email", required=True)
def tokens_list(email: str) -> None:
    """A user's tokens (never their values)."""
    from advocacy.accounts import service
    from advocacy.db import session_scope

    with session_scope() as session:
        user = service.get_user_by_email(session, email)
        if user is None:
            _fail(f"no user with the e-mail {service.normalize_email(email)}")
            return
        rows = [
            (
                str(t.id),
                t.name,
                f"{t.created_at:%Y-%m-%d %H:%M}",
                f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active",
            )
            for t in service.list_api_tokens(session, user)
        ]
        if not rows:
            click.echo(f"{user.email} has no tokens.")
            return
        _table(("id", "name", "created (UTC)", "status"), rows)


@click.command()
def demo() -> None:
    """Create demo accounts (and whatever other packages add); running it again creates nothing new."""
    from advocacy.db import session_scope
    from advocacy.demo import create_demo, format_summary

    with session_scope() as session:
        try:
            summary = create_demo(session)
        except LookupError as exc:
            _fail(str(exc))
            return
    click.echo(format_summary(summary))


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


commands: list[click.Command] = [users, tokens, demo]
