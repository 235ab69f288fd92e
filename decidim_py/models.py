"""Import every model module (core, spaces, components) so that the metadata is complete."""

from __future__ import annotations

import importlib


def import_all_models() -> None:
    from .config import from_environment

    importlib.import_module("decidim_py.tenancy")
    importlib.import_module("decidim_py.accounts.models")
    importlib.import_module("decidim_py.components")
    importlib.import_module("decidim_py.transparency.models")
    importlib.import_module("decidim_py.identity.models")
    importlib.import_module("decidim_py.comments.models")
    importlib.import_module("decidim_py.moderation.models")
    importlib.import_module("decidim_py.notifications.models")
    settings = from_environment()
    for module in settings["SPACES"]:
        importlib.import_module(f"{module}.models")
    for module in settings["COMPONENTS"]:
        importlib.import_module(module)
