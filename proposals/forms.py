from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from decidim_py.forms import choices

from .models import ProposalState
from .services import BODY_MIN, TITLE_MAX, TITLE_MIN, ProposalData

STATE_LABELS = {
    ProposalState.NOT_ANSWERED: _("Not answered"),
    ProposalState.EVALUATING: _("Evaluating"),
    ProposalState.ACCEPTED: _("Accepted"),
    ProposalState.REJECTED: _("Rejected"),
}


class ProposalForm(FlaskForm):
    title = StringField(
        _("Title"),
        validators=[DataRequired(message=_("Please give your proposal a title.")),
                    Length(min=TITLE_MIN, max=TITLE_MAX,
                           message=_("The title must have between %(min)d and %(max)d characters.",
                                     min=TITLE_MIN, max=TITLE_MAX))],
        description=_("Between %(min)d and %(max)d characters.", min=TITLE_MIN, max=TITLE_MAX),
    )
    body = TextAreaField(_("Description"))
    # shown to members of a host (the view sets the choices); the service checks the membership
    author_host_id = SelectField(_("Propose as"), coerce=int, choices=choices([(0, _("Myself"))]), default=0,
                                 validate_choice=False)

    def __init__(self, *args: Any, body_max: int = 500, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.body.validators = [
            DataRequired(message=_("Please describe your proposal.")),
            Length(min=BODY_MIN, max=body_max,
                   message=_("The description must have between %(min)d and %(max)d characters.",
                             min=BODY_MIN, max=body_max)),
        ]
        self.body.description = _("Between %(min)d and %(max)d characters.", min=BODY_MIN, max=body_max)

    def to_data(self) -> ProposalData:
        host = getattr(self, "author_host_id", None)
        return ProposalData(title=self.title.data or "", body=self.body.data or "",
                            host_id=(host.data or None) if host is not None else None)


class AnswerForm(FlaskForm):
    state = SelectField(_("Answer"), choices=choices((s.value, label) for s, label in STATE_LABELS.items()))
    answer = TextAreaField(_("Answer text"), validators=[Optional(), Length(max=5000)],
                           description=_("Required when rejecting a proposal."))
    cost = IntegerField(_("Cost"), validators=[Optional(), NumberRange(min=0, message=_("At least 0."))],
                        description=_("In whole currency units, for accepted proposals."))


class HideForm(FlaskForm):
    reason = StringField(_("Reason"), validators=[DataRequired(message=_("Please give the reason.")),
                                                  Length(max=500)])


class OfficialProposalForm(ProposalForm):
    """The admin's "new official proposal" screen: title and description only."""

    author_host_id = None  # type: ignore[assignment]


class NoteForm(FlaskForm):
    body = TextAreaField(_("Private note"), validators=[
        DataRequired(message=_("Write the note before saving it.")), Length(max=2000)],
        description=_("Only the administrators of this space and the evaluators of this proposal see it."))


class EvaluatorForm(FlaskForm):
    evaluator_id = SelectField(_("Evaluator"), coerce=int, choices=[],
                               validators=[DataRequired(message=_("Choose an evaluator."))])


class ImportForm(FlaskForm):
    format = SelectField(_("Format"), choices=choices([("csv", _("CSV")), ("json", _("JSON"))]))
    file = FileField(_("File"), validators=[FileRequired(message=_("Please choose a file."))],
                     description=_("The columns (or keys) of the export: title and body are required; state, "
                                   "answer, cost and state_published_at are optional."))
