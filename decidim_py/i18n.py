"""Internationalisation: Flask-Babel, locale selection, translated content fields, formatting.

Locale order: the visitor's explicit choice (cookie), then the signed-in user's locale, then the
organisation's default. Translated content is stored as JSON {locale: text} and shown in the
current locale, falling back to the organisation default, then to any non-empty value.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, has_request_context, request
from flask_babel import Babel, format_date, format_datetime, get_locale, get_translations, lazy_gettext
from flask_login import current_user

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
LOCALE_COOKIE = "decidim_locale"
LOCALE_NAMES = {"en": "English", "ca": "Català", "es": "Español"}

_ = lazy_gettext


def available_locales() -> list[str]:
    org = g.get("organization") if has_request_context() else None
    if org is not None and org.available_locales:
        return list(org.available_locales)
    return ["en", "ca", "es"]


def default_locale() -> str:
    org = g.get("organization") if has_request_context() else None
    return org.default_locale if org is not None else "en"


def select_locale() -> str:
    if not has_request_context():
        return "en"
    locales = available_locales()
    chosen = request.cookies.get(LOCALE_COOKIE)
    if chosen in locales:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in locales:
        return current_user.locale
    return default_locale()


def select_timezone() -> str:
    org = g.get("organization") if has_request_context() else None
    return org.time_zone if org is not None else "UTC"


def translated(value: dict[str, Any] | None, locale: str | None = None) -> str:
    """Pick the text of a translated field for the current locale, with fallbacks."""
    if not value:
        return ""
    if isinstance(value, str):
        return value
    loc = locale or _request_locale()
    text = value.get(loc)
    if text:
        return str(text)
    text = value.get(default_locale())
    if text:
        return str(text)
    for text in value.values():
        if text:
            return str(text)
    return ""


def _request_locale() -> str:
    """The current locale, resolved once per request (translated() runs for every field shown)."""
    if has_request_context():
        cached = g.get("_decidim_locale")
        if cached is None:
            cached = g._decidim_locale = str(get_locale() or "en")
        return cached
    return str(get_locale() or "en")


def compile_catalogs(directory: Path = TRANSLATIONS) -> None:
    """Compile each messages.po into messages.mo when the .mo is missing or older."""
    for po in directory.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh)
        try:
            with mo.open("wb") as out:
                write_mo(out, catalog)
        except OSError:  # read-only deployment: catalogs must be compiled at build time
            pass


def fmt_date(value: date | datetime | None, format: str = "long") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_date(value, format)
    return format_date(value, format)


def fmt_datetime(value: datetime | None, format: str = "medium") -> str:
    return "" if value is None else format_datetime(value, format)


def _translations() -> Any:
    """The request's catalog for templates: Flask-Babel's lookup (context, domain, locale, cache key)
    costs more than the translation, and a page translates dozens of strings. Kept on `g` with the
    locale object it was found for: a refresh() or force_locale() makes a new locale object."""
    ctx = g.get("_flask_babel") if g else None
    locale = getattr(ctx, "babel_locale", None)
    memo = g.get("_decidim_translations") if locale is not None else None
    if memo is not None and memo[0] is locale:
        return memo[1]
    found = get_translations()
    locale = getattr(g.get("_flask_babel"), "babel_locale", None) if g else None
    if locale is not None:
        g._decidim_translations = (locale, found)
    return found


def init_app(app: Flask) -> None:
    compile_catalogs()
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.filters["translated"] = translated
    app.jinja_env.filters["date"] = fmt_date
    app.jinja_env.filters["datetime"] = fmt_datetime
    app.jinja_env.globals["LOCALE_NAMES"] = LOCALE_NAMES
    app.jinja_env.globals["available_locales"] = available_locales
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
