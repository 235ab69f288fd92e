"""decidim-py: a participatory democracy platform (the core package).

Imports are lazy so that the pure modules (e.g. the transparency verifier, which needs no Flask)
can run from this package on a machine that has only the standard library and a few packages.
"""

from __future__ import annotations

from typing import Any


def create_app(config: dict[str, Any] | None = None) -> Any:
    from .factory import create_app as _create_app

    return _create_app(config)


def __getattr__(name: str) -> Any:
    if name == "csrf":
        from .factory import csrf

        return csrf
    raise AttributeError(name)
