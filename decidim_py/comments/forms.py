from __future__ import annotations

from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Optional

from ..forms import choices

ALIGNMENT_CHOICES = [(1, _("In favour")), (0, _("Neutral")), (-1, _("Against"))]


class CommentForm(FlaskForm):
    body = TextAreaField(_("Comment"), validators=[InputRequired(message=_("Write your comment."))],
                         description=_("At most 1000 characters."))
    alignment = RadioField(_("Your position"), choices=choices(ALIGNMENT_CHOICES), coerce=int, default=0,
                           validators=[Optional()])
    parent_id = IntegerField(validators=[Optional()])
    next = HiddenField()


class EditCommentForm(FlaskForm):
    body = TextAreaField(_("Comment"), validators=[InputRequired(message=_("Write your comment."))],
                         description=_("At most 1000 characters."))
    next = HiddenField()


class VoteForm(FlaskForm):
    weight = StringField(validators=[InputRequired(), AnyOf(["up", "down"])])
    next = HiddenField()
