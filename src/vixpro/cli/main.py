"""``vixpro``: run the platform, migrate its database, administer it."""

from __future__ import annotations

from typing import Annotated

import typer

from vixpro import __version__
from vixpro.cli.admin import admin
from vixpro.cli.runtime import (
    Role,
    configure_logging,
    database,
    run_loop,
    serve,
    serve_processes,
)
from vixpro.db.migrate import upgrade
from vixpro.settings import Settings, SettingsError

app = typer.Typer(help="VixPro: alerts in, incidents out, diagnosed.", no_args_is_help=True)
app.add_typer(admin, name="admin")
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")

HostOpt = Annotated[str | None, typer.Option(help="address to listen on (VIXPRO_HOST)")]
PortOpt = Annotated[int | None, typer.Option(help="port to listen on (VIXPRO_PORT)")]
CertOpt = Annotated[str | None, typer.Option(help="TLS certificate (PEM) to serve HTTPS")]
KeyOpt = Annotated[str | None, typer.Option(help="TLS private key (PEM)")]


def _settings(host: str | None = None, port: int | None = None) -> Settings:
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    return Settings(**overrides)


def _ssl(cert: str | None, key: str | None) -> tuple[str, str] | None:
    if bool(cert) != bool(key):
        raise typer.BadParameter("--tls-cert and --tls-key go together")
    return (cert, key) if cert and key else None


@app.command()
def up(
    host: HostOpt = None, port: PortOpt = None, tls_cert: CertOpt = None, tls_key: KeyOpt = None
) -> None:
    """Start everything: PostgreSQL (embedded unless VIXPRO_DATABASE_URL), migrations, web and worker."""
    configure_logging()
    settings = _settings(host, port)
    ssl = _ssl(tls_cert, tls_key)
    with database(settings) as urls:
        upgrade(urls)
        run_loop(serve(settings, urls, "all", announce_first_login=True, ssl=ssl))


@app.command("serve")
def serve_command(
    role: Annotated[str, typer.Option(help="web, worker or all")] = "all",
    host: HostOpt = None,
    port: PortOpt = None,
    tls_cert: CertOpt = None,
    tls_key: KeyOpt = None,
    processes: Annotated[
        int, typer.Option(min=1, max=64, help="web processes sharing the port (role web only)")
    ] = 1,
) -> None:
    """Run one role against an already-migrated database (for scaled deployments)."""
    if role not in ("web", "worker", "all"):
        raise typer.BadParameter("role must be web, worker or all", param_hint="--role")
    if processes > 1 and role != "web":
        raise typer.BadParameter("several processes are for --role web", param_hint="--processes")
    configure_logging()
    settings = _settings(host, port)
    ssl = _ssl(tls_cert, tls_key)
    chosen: Role = role  # type: ignore[assignment]
    with database(settings) as urls:
        if processes > 1:
            serve_processes(settings, urls, ssl, processes)
        else:
            run_loop(serve(settings, urls, chosen, ssl=ssl))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations and (re)grant the application roles."""
    configure_logging()
    with database(Settings()) as urls:
        upgrade(urls)
    typer.echo("database is at the latest migration")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    try:
        app()
    except SettingsError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise SystemExit(2) from None
