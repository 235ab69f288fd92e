"""Organisations: one per host name. Every row that belongs to one carries `organization_id`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, g, request
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base, db, utcnow


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(255), unique=True)
    secondary_hosts: Mapped[list[Any]] = mapped_column(default=list)
    default_locale: Mapped[str] = mapped_column(String(10), default="en")
    available_locales: Mapped[list[Any]] = mapped_column(default=lambda: ["en", "ca", "es"])
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Residence: the postal codes of the city, and optional zones {slug: {"name": {...}, "postal_codes": [...]}}
    postal_codes: Mapped[list[Any]] = mapped_column(default=list)
    zones: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Organization {self.host}>"


def normalise_host(raw: str) -> str:
    """Host name without port, lower case; IPv6 literals keep their brackets."""
    raw = raw.strip().lower()
    if raw.startswith("["):
        end = raw.find("]")
        return raw[: end + 1] if end != -1 else raw
    return raw.split(":", 1)[0]


def find_organization(host: str) -> Organization | None:
    host = normalise_host(host)
    sess = db.session()
    org = sess.scalar(select(Organization).where(Organization.host == host))
    if org is not None:
        return org
    # Secondary hosts are few per organisation and organisations are few per installation.
    for candidate in sess.scalars(select(Organization)):
        if host in (candidate.secondary_hosts or []):
            return candidate
    return None


def current_organization() -> Organization:
    if "organization" not in g:  # url_value_preprocessors run before before_request
        load_organization()
    org = g.get("organization")
    if org is None:
        abort(404)
    return org


def load_organization() -> None:
    """before_request: bind the request to the organisation of its Host header, or 404."""
    if request.endpoint in ("static", "core.healthz") or "organization" in g:
        return
    org = find_organization(request.host)
    if org is None:
        g.organization = None
        abort(404)
    g.organization = org


def create_organization(
    *,
    name: str,
    host: str,
    secondary_hosts: list[str] | None = None,
    default_locale: str = "en",
    available_locales: list[str] | None = None,
    time_zone: str = "UTC",
) -> Organization:
    """System command (CLI): validate and create an organisation."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from flask import current_app

    supported = current_app.config.get("LOCALES", ["en", "ca", "es"])
    locales = available_locales or list(supported)
    host = normalise_host(host)
    secondary = [normalise_host(h) for h in (secondary_hosts or [])]
    if not name.strip():
        raise ValueError("the name is empty")
    if not host or any(c in host for c in "/ @"):
        raise ValueError(f"{host!r} is not a host name")
    unknown = [loc for loc in locales if loc not in supported]
    if unknown:
        raise ValueError(f"unsupported locales {unknown}; supported: {supported}")
    if default_locale not in locales:
        raise ValueError("the default locale must be one of the available locales")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {time_zone!r}") from exc
    for h in [host, *secondary]:
        if find_organization(h) is not None:
            raise ValueError(f"host {h} already belongs to an organisation")
    org = Organization(name=name.strip(), host=host, secondary_hosts=secondary,
                       default_locale=default_locale, available_locales=locales,
                       time_zone=time_zone)
    db.session.add(org)
    db.session.flush()
    return org
