"""`flask --app app identity ...`: manage identity providers from the command line."""

from __future__ import annotations

import json

import click
from flask import Flask
from sqlalchemy import select

from ..db import db, session_scope


def register_cli(app: Flask) -> None:
    @app.cli.group("identity", help="OpenID Connect identity providers.")
    def group() -> None:
        pass

    @group.command("provider-add")
    @click.option("--host", required=True, help="the organisation's host name")
    @click.option("--slug", required=True)
    @click.option("--name", "display_name", required=True, help="shown on the sign-in button")
    @click.option("--issuer", required=True)
    @click.option("--client-id", required=True)
    @click.option("--client-secret", default=None, envvar="DECIDIM_IDP_CLIENT_SECRET")
    @click.option("--client-auth", default="client_secret_basic",
                  type=click.Choice(["client_secret_basic", "client_secret_post", "private_key_jwt"]))
    @click.option("--private-key-file", type=click.Path(exists=True, dir_okay=False), default=None)
    @click.option("--scopes", default="openid profile")
    @click.option("--acr-map", default="{}", help='JSON, e.g. {"urn:x:loa:2": "substantial"}')
    @click.option("--claim-map", default="{}", help='JSON, e.g. {"postal_code": "address.postal_code"}')
    @click.option("--claims-request", default="{}", help="JSON: the OIDC claims parameter")
    @click.option("--backchannel-logout/--no-backchannel-logout", default=False)
    def provider_add(host: str, slug: str, display_name: str, issuer: str, client_id: str,
                     client_secret: str | None, client_auth: str, private_key_file: str | None, scopes: str,
                     acr_map: str, claim_map: str, claims_request: str, backchannel_logout: bool) -> None:
        from ..accounts.system import SystemActor
        from ..errors import InvalidState
        from ..tenancy import find_organization
        from .models import ClientAuth
        from .services import ProviderData, provider_by_slug, save_provider

        try:
            maps = [json.loads(x) for x in (acr_map, claim_map, claims_request)]
        except ValueError as exc:
            raise click.ClickException(f"invalid JSON: {exc}") from exc
        with session_scope():
            org = find_organization(host)
            if org is None:
                raise click.ClickException(f"no organisation with host {host!r}")
            existing = provider_by_slug(org, slug)
            private_key = open(private_key_file).read() if private_key_file else None
            data = ProviderData(
                slug=slug, display_name={loc: display_name for loc in org.available_locales}, issuer=issuer,
                client_id=client_id, client_auth=ClientAuth(client_auth), client_secret=client_secret,
                private_key=private_key, scopes=scopes.split(), acr_map=maps[0], claim_map=maps[1],
                claims_request=maps[2], backchannel_logout=backchannel_logout)
            try:
                provider = save_provider(SystemActor(org.id), org, data, existing)
            except InvalidState as exc:
                raise click.ClickException(str(exc.message)) from exc
        click.echo(f"provider {provider.slug} ({'updated' if existing else 'added'}) issuer {provider.issuer}")

    @group.command("providers")
    @click.option("--host", required=True)
    def providers(host: str) -> None:
        from ..tenancy import find_organization
        from .models import IdentityProvider
        from .services import redirect_uri

        org = find_organization(host)
        if org is None:
            raise click.ClickException(f"no organisation with host {host!r}")
        for p in db.session.scalars(select(IdentityProvider).where(IdentityProvider.organization_id == org.id)):
            state = "enabled" if p.is_enabled else "disabled"
            click.echo(f"{p.slug}\t{p.issuer}\t{p.client_id}\t{state}\tredirect_uri={redirect_uri(org, p)}")

    @group.command("purge")
    def purge() -> None:
        """Delete expired sign-in state (auth requests, pending sign-ups, sessions, logout jtis)."""
        from .services import purge_expired

        with session_scope():
            n = purge_expired()
        click.echo(f"purged {n} expired rows")
