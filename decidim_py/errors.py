"""Errors: domain exceptions and the translated error pages (403, 404, 409, 422, 500)."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, render_template, request
from flask_babel import lazy_gettext as _
from werkzeug.exceptions import HTTPException

from .permissions import NotAllowed


class InvalidState(Exception):  # noqa: N818
    """The action cannot be taken in the current state (e.g. publishing a published process)."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


class NotFound(Exception):  # noqa: N818
    pass


TITLES = {
    400: _("Bad request"),
    403: _("You are not allowed to do this"),
    404: _("Page not found"),
    405: _("Method not allowed"),
    409: _("This cannot be done now"),
    413: _("The request is too large"),
    422: _("Some information is not valid"),
    429: _("Too many requests"),
    500: _("Something went wrong"),
}
EXPLANATIONS = {
    400: _("The request could not be understood. Please go back and try again."),
    403: _("You do not have permission to see this page or take this action."),
    404: _("We could not find the page you asked for. It may have moved or never existed."),
    405: _("This address does not accept this kind of request."),
    409: _("The action conflicts with the current state of this item."),
    413: _("What you sent is larger than we accept."),
    422: _("The request could not be processed. Please check what you entered and try again."),
    429: _("You have made too many requests. Please wait a moment and try again."),
    500: _("An unexpected error happened on our side. It has been logged; please try again later."),
}


def render_error(code: int, detail: Any = None) -> tuple[str, int]:
    title = TITLES.get(code, TITLES[500])
    explanation = EXPLANATIONS.get(code, EXPLANATIONS[500])
    try:
        body = render_template(
            "errors/error.html", code=code, title=title, explanation=explanation, detail=detail
        )
    except Exception:  # an error page must never fail: plain fallback without the layout
        body = f"<!doctype html><html lang='en'><title>{code}</title><h1>{code}</h1></html>"
    return body, code


def init_app(app: Flask) -> None:
    @app.errorhandler(NotAllowed)
    def _not_allowed(exc: NotAllowed) -> tuple[str, int]:
        return render_error(403, exc.verdict.reason)

    @app.errorhandler(InvalidState)
    def _invalid_state(exc: InvalidState) -> tuple[str, int]:
        return render_error(409, exc.message)

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound) -> tuple[str, int]:
        return render_error(404)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if exc.code is None or exc.code < 400:
            return exc
        detail = exc.description if exc.code in (400, 409) and _is_custom(exc) else None
        if exc.code == 404 and g.get("organization", True) is None:
            detail = _("There is no organisation at %(host)s.", host=request.host)
        return render_error(exc.code, detail)

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception) -> tuple[str, int]:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500)


def _is_custom(exc: HTTPException) -> bool:
    return type(exc).description != exc.description
