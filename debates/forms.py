from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext as _
from flask_babel import to_user_timezone, to_utc
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .services import DESCRIPTION_MIN, TEXT_MAX, TITLE_MAX, TITLE_MIN, DebateData


def _aware(value: datetime | None) -> datetime | None:
    """A local (organisation time zone) datetime from the form, as UTC."""
    return None if value is None else to_utc(value).replace(tzinfo=UTC)


def local(value: datetime | None) -> datetime | None:
    return None if value is None else to_user_timezone(value).replace(tzinfo=None)


class DebateForm(FlaskForm):
    title = StringField(
        _("Title"),
        validators=[DataRequired(message=_("Please give the debate a title.")),
                    Length(min=TITLE_MIN, max=TITLE_MAX,
                           message=_("The title must have between %(min)d and %(max)d characters.",
                                     min=TITLE_MIN, max=TITLE_MAX))],
        description=_("Between %(min)d and %(max)d characters.", min=TITLE_MIN, max=TITLE_MAX),
    )
    description = TextAreaField(
        _("Description"),
        validators=[DataRequired(message=_("Please describe the debate.")),
                    Length(min=DESCRIPTION_MIN, max=TEXT_MAX,
                           message=_("The description must have between %(min)d and %(max)d characters.",
                                     min=DESCRIPTION_MIN, max=TEXT_MAX))],
    )
    start_time = DateTimeLocalField(
        _("Start"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"], validators=[Optional()],
        description=_("Optional: for a time-boxed debate, give the start and the end (YYYY-MM-DD HH:MM)."),
    )
    end_time = DateTimeLocalField(
        _("End"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"], validators=[Optional()],
        description=_("Must be after the start."),
    )

    def __init__(self, *args: Any, debate: Any = None, **kwargs: Any) -> None:
        if debate is not None and "data" not in kwargs:
            kwargs["data"] = {"title": debate.title, "description": debate.description,
                              "start_time": local(debate.start_time), "end_time": local(debate.end_time)}
        super().__init__(*args, **kwargs)

    def validate_end_time(self, field: Any) -> None:
        start, end = self.start_time.data, field.data
        if (start is None) != (end is None) and not self.start_time.errors:
            raise ValidationError(_("Give both the start and the end of a time-boxed debate, or neither."))
        if start is not None and end is not None and end <= start:
            raise ValidationError(_("The end must be after the start."))

    def to_data(self) -> DebateData:
        return DebateData(title=self.title.data or "", description=self.description.data or "",
                          start_time=_aware(self.start_time.data), end_time=_aware(self.end_time.data))


class CloseForm(FlaskForm):
    conclusions = TextAreaField(
        _("Conclusions"),
        validators=[DataRequired(message=_("Please write the conclusions of the debate.")),
                    Length(max=TEXT_MAX)],
        description=_("They are published with the debate and cannot be changed afterwards."),
    )


class UpdateForm(FlaskForm):
    body = TextAreaField(_("Information update"),
                         validators=[DataRequired(message=_("Please write the update.")), Length(max=TEXT_MAX)])
