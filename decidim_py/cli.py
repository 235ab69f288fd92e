"""Command line: `flask --app app <group> <command>`. Commands use the same services as the web."""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from .db import db, session_scope


def _org(host: str):  # type: ignore[no-untyped-def]
    from .tenancy import find_organization

    org = find_organization(host)
    if org is None:
        raise click.ClickException(f"no organisation with host {host!r}")
    return org


def _user(org_id: int, nickname: str):  # type: ignore[no-untyped-def]
    from .accounts.models import User

    user = db.session.scalar(
        select(User).where(User.organization_id == org_id, User.nickname == nickname)
    )
    if user is None:
        raise click.ClickException(f"no user @{nickname} in this organisation")
    return user


def register_cli(app: Flask) -> None:
    from . import migrate

    @app.cli.group("db", help="Database migrations (Alembic).")
    def db_group() -> None:
        pass

    @db_group.command("upgrade")
    @click.argument("revision", default="head")
    def db_upgrade(revision: str) -> None:
        migrate.upgrade(app, revision)
        click.echo(f"database at {revision}")

    @db_group.command("downgrade")
    @click.argument("revision")
    def db_downgrade(revision: str) -> None:
        migrate.downgrade(app, revision)
        click.echo(f"database at {revision}")

    @app.cli.group("org", help="Organisations (one per host name).")
    def org_group() -> None:
        pass

    @org_group.command("create")
    @click.option("--name", required=True)
    @click.option("--host", required=True, help="host name, without port")
    @click.option("--secondary-host", "secondary", multiple=True)
    @click.option("--default-locale", default="en", show_default=True)
    @click.option("--locales", default="en,ca,es", show_default=True)
    @click.option("--time-zone", default="UTC", show_default=True)
    def org_create(name: str, host: str, secondary: tuple[str, ...], default_locale: str,
                   locales: str, time_zone: str) -> None:
        from .tenancy import create_organization

        with session_scope():
            try:
                org = create_organization(
                    name=name, host=host, secondary_hosts=list(secondary),
                    default_locale=default_locale,
                    available_locales=[x.strip() for x in locales.split(",") if x.strip()],
                    time_zone=time_zone,
                )
            except ValueError as exc:
                raise click.ClickException(str(exc)) from exc
        click.echo(f"organisation {org.id} {org.name!r} at {org.host}")

    @org_group.command("list")
    def org_list() -> None:
        from .tenancy import Organization

        for org in db.session.scalars(select(Organization).order_by(Organization.id)):
            extra = f" (also {', '.join(org.secondary_hosts)})" if org.secondary_hosts else ""
            click.echo(
                f"{org.id}\t{org.host}{extra}\t{org.name}\t{org.default_locale}"
                f"\t{','.join(org.available_locales)}\t{org.time_zone}"
            )

    @app.cli.group("user", help="Accounts (sign-in itself is OpenID Connect).")
    def user_group() -> None:
        pass

    @user_group.command("create")
    @click.option("--host", required=True)
    @click.option("--nickname", required=True)
    @click.option("--name", required=True)
    @click.option("--email", default=None)
    @click.option("--locale", default=None)
    def user_create(host: str, nickname: str, name: str, email: str | None,
                    locale: str | None) -> None:
        from .accounts.models import User

        with session_scope() as sess:
            org = _org(host)
            if db.session.scalar(select(User.id).where(User.organization_id == org.id,
                                                       User.nickname == nickname)):
                raise click.ClickException(f"@{nickname} already exists")
            user = User(organization_id=org.id, nickname=nickname, name=name, email=email,
                        locale=locale)
            sess.add(user)
        click.echo(f"user {user.id} @{nickname}")

    @app.cli.group("roles", help="Grant and revoke roles (recorded as decisions).")
    def roles_group() -> None:
        pass

    @roles_group.command("grant")
    @click.option("--host", required=True, help="the organisation's host name")
    @click.option("--nickname", required=True)
    @click.option("--role", required=True,
                  type=click.Choice(["org-admin", "user-manager", "admin", "moderator", "evaluator",
                                     "collaborator", "host-admin", "host-member"]))
    @click.option("--process", "process_slug", default=None, help="for space roles")
    @click.option("--host-slug", default=None, help="for host roles")
    def roles_grant(host: str, nickname: str, role: str, process_slug: str | None,
                    host_slug: str | None) -> None:
        from .accounts.models import Host, HostRole, SpaceRoleName
        from .accounts.roles import add_host_member, grant_space_role, set_organization_admin, set_user_manager
        from .errors import InvalidState
        from .spaces import space_type

        with session_scope():
            org = _org(host)
            user = _user(org.id, nickname)
            try:
                if role == "org-admin":
                    set_organization_admin(None, user, True)
                elif role == "user-manager":
                    set_user_manager(None, user, True)
                elif role.startswith("host-"):
                    if not host_slug:
                        raise click.ClickException("--host-slug is needed for host roles")
                    h = db.session.scalar(select(Host).where(Host.organization_id == org.id,
                                                             Host.slug == host_slug))
                    if h is None:
                        raise click.ClickException(f"no host {host_slug!r}")
                    add_host_member(_system(org), h, user, HostRole(role.removeprefix("host-")))
                else:
                    if not process_slug:
                        raise click.ClickException("--process is needed for space roles")
                    space = space_type("processes").find_by_slug(org.id, process_slug)
                    if space is None:
                        raise click.ClickException(f"no process {process_slug!r}")
                    grant_space_role(_system(org), space, user, SpaceRoleName(role))
            except InvalidState as exc:
                raise click.ClickException(str(exc.message)) from exc
        click.echo(f"granted {role} to @{nickname}")

    @roles_group.command("revoke-admin")
    @click.option("--host", required=True)
    @click.option("--nickname", required=True)
    def roles_revoke_admin(host: str, nickname: str) -> None:
        from .accounts.roles import set_organization_admin
        from .errors import InvalidState

        with session_scope():
            org = _org(host)
            try:
                set_organization_admin(None, _user(org.id, nickname), False)
            except InvalidState as exc:
                raise click.ClickException(str(exc.message)) from exc
        click.echo(f"@{nickname} is no longer an organisation admin")

    @app.cli.group("demo", help="Demo data.")
    def demo_group() -> None:
        pass

    @demo_group.command("seed")
    @click.option("--host", default="127.0.0.1", show_default=True)
    def demo_seed(host: str) -> None:
        from .demo import seed_demo

        with session_scope():
            created = seed_demo(host)
        click.echo("demo organisation seeded" if created else "demo organisation already present")


def _system(org):  # type: ignore[no-untyped-def]
    """The system actor of CLI commands: permission as an organisation admin, recorded as 'system'."""
    from .accounts.system import SystemActor

    return SystemActor(org.id)
