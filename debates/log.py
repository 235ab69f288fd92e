"""How debate decisions read in the public record."""

from __future__ import annotations

from flask_babel import lazy_gettext as _

from decidim_py.transparency.kinds import register_kind

KINDS = {
    "debates.debate.create": _("Debate created"),
    "debates.debate.update": _("Debate edited"),
    "debates.debate.add_update": _("Debate information updated"),
    "debates.debate.close": _("Debate closed"),
}

for _name, _label in KINDS.items():
    register_kind(_name, _label)
