from __future__ import annotations

from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..forms import choices

REASON_CHOICES = [
    ("spam", _("Spam: advertising, scams or repeated messages")),
    ("offensive", _("Offensive: insults, harassment, hate or violence")),
    ("does_not_belong", _("Does not belong here: off topic, illegal or personal data")),
]


class ReportForm(FlaskForm):
    reason = RadioField(_("Why are you reporting this?"), choices=choices(REASON_CHOICES),
                        validators=[InputRequired(message=_("Choose a reason."))])
    details = TextAreaField(_("Details (optional)"), validators=[Optional(), Length(max=1000)],
                            description=_("Anything that helps the moderators. At most 1000 characters."))
    next = HiddenField()


class JustificationForm(FlaskForm):
    justification = TextAreaField(
        _("Justification"),
        validators=[InputRequired(message=_("Give a justification.")), Length(max=1000)],
        description=_("Published in the public record with the decision. Do not include personal data."),
    )
