"""Small helpers that keep views thin: form rendering with the right status, flashing, redirects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from .errors import InvalidState


def actor() -> Any:
    """The signed-in user, or None (services take an explicit actor, never the request)."""
    return current_user._get_current_object() if current_user.is_authenticated else None


def see_other(url: str) -> Response:
    return redirect(url, code=303)


def safe_next(url: str | None, fallback: str) -> str:
    """Only same-site relative paths are accepted as redirect targets."""
    if not url:
        return fallback
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//"):
        return fallback
    return url


def form_page(template: str, form: Any, **context: Any) -> tuple[str, int]:
    """Render a form page: 422 when a submitted form has errors, 200 otherwise."""
    status = 422 if request.method == "POST" and form.errors else 200
    return render_template(template, form=form, **context), status


def run_form(
    form: Any,
    action: Callable[[], Any],
    *,
    success: Any,
    redirect_to: Callable[[Any], str],
    template: str,
    **context: Any,
) -> Any:
    """Validate, call one service, flash and 303; re-render with the error (nothing lost) otherwise."""
    if form.validate_on_submit():
        try:
            result = action()
        except InvalidState as exc:
            form.form_errors.append(str(exc.message))
            return render_template(template, form=form, **context), 409
        flash(str(success), "success")
        return see_other(redirect_to(result))
    return form_page(template, form, **context)


def run_action(action: Callable[[], Any], *, success: Any, redirect_to: str) -> Response:
    """For POST buttons: call the service, flash and 303 back.

    A refusal (NotAllowed → 403) or a conflict (InvalidState → 409) propagates to the error pages,
    whose status rolls the transaction back, so nothing half-done is ever committed.
    """
    action()
    flash(str(success), "success")
    return see_other(redirect_to)
