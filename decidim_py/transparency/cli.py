"""`flask --app app transparency ...`: integrate the log, rotate its key, erase personal data."""

from __future__ import annotations

import time

import click
from flask import Flask
from sqlalchemy import select

from ..db import db, session_scope


def register_cli(app: Flask) -> None:
    @app.cli.group("transparency", help="The verifiable public record.")
    def group() -> None:
        pass

    @group.command("integrate")
    @click.option("--watch", is_flag=True, help="keep integrating every second (a worker)")
    @click.option("--seconds", default=0.0, help="with --watch: stop after this many seconds (0: never)")
    def integrate_cmd(watch: bool, seconds: float) -> None:
        """Integrate pending decisions into each organisation's log and sign checkpoints."""
        from ..tenancy import Organization
        from .log import integrate

        started = time.monotonic()
        while True:
            for org in db.session.scalars(select(Organization).order_by(Organization.id)).all():
                result = integrate(org)
                if result.integrated or not watch:
                    click.echo(f"{org.host}: {result.integrated} integrated, size {result.size}")
            db.session.rollback()
            if not watch or (seconds and time.monotonic() - started >= seconds):
                return
            time.sleep(1)

    @group.command("rotate-key")
    @click.option("--host", required=True)
    @click.option("--retire-old/--overlap", default=False,
                  help="--overlap (default): old and new keys both sign; --retire-old ends the overlap")
    def rotate_key(host: str, retire_old: bool) -> None:
        from ..tenancy import find_organization
        from .keys import finish_rotation, start_rotation

        org = find_organization(host)
        if org is None:
            raise click.ClickException(f"no organisation with host {host!r}")
        with session_scope():
            key = finish_rotation(org) if retire_old else start_rotation(org)
        click.echo(f"{'retired keys before' if retire_old else 'new signing key'}: {key.verifier_key}")

    @group.command("erase-person")
    @click.option("--host", required=True)
    @click.option("--nickname", required=True)
    def erase_person(host: str, nickname: str) -> None:
        """Delete the openings of a person's commitments and append a redaction entry."""
        from ..accounts.models import User
        from ..tenancy import find_organization
        from .erasure import erase_openings

        org = find_organization(host)
        if org is None:
            raise click.ClickException(f"no organisation with host {host!r}")
        user = db.session.scalar(select(User).where(User.organization_id == org.id, User.nickname == nickname))
        if user is None:
            raise click.ClickException(f"no user @{nickname}")
        with session_scope():
            n = erase_openings(None, user)
        click.echo(f"erased {n} openings of @{nickname}")
