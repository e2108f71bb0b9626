"""``vixpro admin``: what operators and scripts use, with or without ``vixpro up`` running."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from vixpro.accounts import api_keys, orgs, staff
from vixpro.accounts.errors import Conflict, InvalidInput, LimitExceeded, NotFound
from vixpro.accounts.principal import CLI
from vixpro.accounts.secrets import generate_password
from vixpro.accounts.validation import clean_password
from vixpro.cli import rotate_master_key
from vixpro.cli.runtime import database
from vixpro.db.migrate import upgrade
from vixpro.db.sessions import Database
from vixpro.incidents import integrations
from vixpro.settings import Settings
from vixpro.tools import servers
from vixpro.web.urls import install_command

admin = typer.Typer(help="Administer organisations, keys and staff.", no_args_is_help=True)
admin.command("rotate-master-key")(rotate_master_key.command)
T = TypeVar("T")


def _run(work: Callable[[Database], Awaitable[T]]) -> T:
    settings = Settings()
    with database(settings) as urls:
        upgrade(urls)

        async def go() -> T:
            db = Database(urls, pool_size=2)
            try:
                return await work(db)
            finally:
                await db.dispose()

        try:
            return asyncio.run(go())
        except (Conflict, InvalidInput, NotFound, LimitExceeded) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None


def _password(from_stdin: bool) -> tuple[str, bool]:
    """(password, generated?)."""
    if not from_stdin:
        return generate_password(), True
    line = sys.stdin.readline().rstrip("\n")
    try:
        return clean_password(line), False
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@admin.command("create-org")
def create_org(
    name: Annotated[str, typer.Argument(help="organisation name (unique)")],
    plan: Annotated[str, typer.Option(help="free, preview, starter or lean")],
    owner: Annotated[str, typer.Option(help="the owner's email")],
    password_stdin: Annotated[
        bool, typer.Option(help="read the owner's password from stdin")
    ] = False,
) -> None:
    """Create an organisation and its owner; prints the org id and, if generated, the password."""
    password, generated = _password(password_stdin)

    async def work(db: Database) -> orgs.CreatedOrg:
        async with db.system_session("cli: create organisation") as session:
            return await orgs.create_org(
                session, CLI, name=name, plan_code=plan, owner_email=owner, owner_password=password
            )

    created = _run(work)
    typer.echo(f"org_id: {created.org_id}")
    typer.echo(f"owner: {owner.strip().lower()}")
    if created.owner_created and generated:
        typer.echo(f"password: {password}")
    elif not created.owner_created:
        typer.echo("owner already had an account: their password is unchanged")


@admin.command("create-api-key")
def create_api_key(
    org: Annotated[str, typer.Option(help="organisation name")],
    role: Annotated[str, typer.Option(help="admin, member or stakeholder")],
    name: Annotated[str, typer.Option(help="a label for the key")] = "cli",
) -> None:
    """Create an API key; prints it once."""

    async def work(db: Database) -> api_keys.IssuedKey:
        async with db.system_session("cli: find organisation") as session:
            org_id = (await orgs.find_by_name(session, org)).id
        async with db.tenant_session(org_id) as session:
            return await api_keys.create(session, CLI, org_id, name=name, role_text=role)

    issued = _run(work)
    typer.echo(issued.secret)


@admin.command("enrollment-token")
def enrollment_token(
    org: Annotated[str, typer.Option(help="organisation name")],
    url: Annotated[str | None, typer.Option(help="the URL servers reach VixPro at")] = None,
) -> None:
    """A one-time host-agent enrolment token (valid for an hour) and the install command."""

    async def work(db: Database) -> servers.IssuedToken:
        async with db.system_session("cli: find organisation") as session:
            org_id = (await orgs.find_by_name(session, org)).id
        async with db.tenant_session(org_id) as session:
            return await servers.create_enrollment_token(session, CLI, org_id, None)

    issued = _run(work)
    base = url or Settings().base_url
    typer.echo(f"token: {issued.token}")
    typer.echo(f"expires_at: {issued.expires_at.isoformat()}")
    typer.echo(f"command: {install_command(base, issued.token)}")


@admin.command("create-integration")
def create_integration(
    org: Annotated[str, typer.Option(help="organisation name")],
    source: Annotated[str, typer.Option(help="monitoring tool, e.g. alertmanager, grafana")],
    name: Annotated[str | None, typer.Option(help="a name for it (default: the source)")] = None,
    url: Annotated[
        str | None, typer.Option(help="the URL monitoring tools reach VixPro at")
    ] = None,
) -> None:
    """An integration for a monitoring tool; prints its secret webhook URL."""
    settings = Settings()

    async def work(db: Database) -> integrations.IntegrationView:
        async with db.system_session("cli: find organisation") as session:
            org_id = (await orgs.find_by_name(session, org)).id
        async with db.tenant_session(org_id) as session:
            return await integrations.create_as(
                session,
                CLI,
                org_id,
                settings.master_key_bytes(),
                source=source,
                name=name or source,
            )

    view = _run(work)
    base = (url or settings.public_url or settings.base_url).rstrip("/")
    typer.echo(f"id: {view.id}")
    typer.echo(f"source: {view.source_title}")
    typer.echo(f"webhook_url: {base}/api/v1/webhooks/{view.token}")
    typer.echo(f"setup: docs/integrations/{view.source}.md")


@admin.command("set-plan")
def set_plan(
    org: Annotated[str, typer.Option(help="organisation name")],
    plan: Annotated[str, typer.Option(help="free, preview, starter or lean")],
) -> None:
    """Move an organisation to another plan."""

    async def work(db: Database) -> None:
        async with db.system_session("cli: set plan") as session:
            await orgs.set_plan(session, CLI, await orgs.find_by_name(session, org), plan)

    _run(work)
    typer.echo(f"{org}: plan is now {plan}")


@admin.command("create-staff")
def create_staff(
    email: Annotated[str, typer.Argument(help="the staff member's email")],
    password_stdin: Annotated[bool, typer.Option(help="read the password from stdin")] = False,
) -> None:
    """Create a platform staff account (or make an existing user staff)."""
    password, generated = _password(password_stdin)

    async def work(db: Database) -> tuple[object, bool]:
        async with db.system_session("cli: create staff") as session:
            return await staff.create_staff(session, CLI, email, password)

    user_id, created = _run(work)
    typer.echo(f"user_id: {user_id}")
    if created and generated:
        typer.echo(f"password: {password}")
    elif not created:
        typer.echo("existing account made staff: password unchanged")
