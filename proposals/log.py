"""How proposal decisions read in the public record: their kinds (each with the envelope schema)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _

from decidim_py.transparency.kinds import register_kind

KINDS = {
    "proposals.proposal.publish": _("Proposal published"),
    "proposals.proposal.update": _("Proposal edited"),
    "proposals.proposal.withdraw": _("Proposal withdrawn"),
    "proposals.proposal.answer": _("Proposal answered"),
    "proposals.proposal.hide": _("Proposal hidden"),
    "proposals.proposal.import": _("Proposals imported"),
    "proposals.evaluator.assign": _("Evaluator assigned to a proposal"),
    "proposals.evaluator.unassign": _("Evaluator removed from a proposal"),
    "proposals.note.create": _("Private note added to a proposal"),
    "proposals.amendment.publish": _("Amendment published"),
    "proposals.amendment.withdraw": _("Amendment withdrawn"),
    "proposals.amendment.accept": _("Amendment accepted"),
    "proposals.amendment.reject": _("Amendment rejected"),
    "proposals.amendment.promote": _("Rejected amendment turned into a proposal"),
}

for _name, _label in KINDS.items():
    register_kind(_name, _label)
