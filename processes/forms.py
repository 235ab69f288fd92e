from __future__ import annotations

from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from decidim_py.forms import TranslatedField

from .services import ProcessData, StepData


class ProcessForm(FlaskForm):
    title = TranslatedField(_("Title"), required=True, max_length=200)
    subtitle = TranslatedField(_("Subtitle"), max_length=200)
    slug = StringField(
        _("Address name"),
        validators=[
            DataRequired(message=_("Please fill this in.")),
            Regexp(
                r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$",
                message=_("Use 3 to 80 lower-case letters, digits or hyphens."),
            ),
        ],
        description=_("Part of the web address, e.g. budgets-2027."),
    )
    short_description = TranslatedField(_("Short description"), multiline=True, max_length=500)
    description = TranslatedField(_("Description"), multiline=True, html=True)
    start_date = DateField(_("Start date"), validators=[Optional()])
    end_date = DateField(_("End date"), validators=[Optional()])
    host_id = SelectField(_("Host"), coerce=int, choices=[])
    group_id = SelectField(_("Process group"), coerce=int, choices=[])
    is_promoted = BooleanField(_("Promoted on the home page"))
    is_private = BooleanField(
        _("Private"), description=_("Only members and people with a role can see it.")
    )

    def validate_end_date(self, field: DateField) -> None:
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_("The end date must be on or after the start date."))

    def to_data(self) -> ProcessData:
        return ProcessData(
            slug=self.slug.data.strip(),
            title=self.title.data,
            subtitle=self.subtitle.data,
            short_description=self.short_description.data,
            description=self.description.data,
            start_date=self.start_date.data,
            end_date=self.end_date.data,
            is_promoted=bool(self.is_promoted.data),
            is_private=bool(self.is_private.data),
            host_id=self.host_id.data or None,
            group_id=self.group_id.data or None,
        )


class StepForm(FlaskForm):
    title = TranslatedField(_("Title"), required=True, max_length=200)
    description = TranslatedField(_("Description"), multiline=True, html=True)
    start_date = DateField(_("Start date"), validators=[Optional()])
    end_date = DateField(_("End date"), validators=[Optional()])

    def validate_end_date(self, field: DateField) -> None:
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_("The end date must be on or after the start date."))

    def to_data(self) -> StepData:
        return StepData(
            title=self.title.data,
            description=self.description.data,
            start_date=self.start_date.data,
            end_date=self.end_date.data,
        )


class GroupForm(FlaskForm):
    title = TranslatedField(_("Title"), required=True, max_length=200)
    description = TranslatedField(_("Description"), multiline=True, html=True)


class RoleForm(FlaskForm):
    nickname = StringField(
        _("Nickname of the person"),
        validators=[DataRequired(message=_("Please fill this in.")), Length(max=40)],
    )
    role = SelectField(_("Role"), choices=[])


class MemberForm(FlaskForm):
    nickname = StringField(
        _("Nickname of the person"),
        validators=[DataRequired(message=_("Please fill this in.")), Length(max=40)],
    )


class ComponentForm(FlaskForm):
    manifest_name = SelectField(_("Component type"), choices=[])
    name = TranslatedField(_("Name"), required=True, max_length=200)


class ReasonForm(FlaskForm):
    """A bare form with CSRF and an optional reason, for POST buttons (publish, activate...)."""

    reason = TextAreaField(_("Reason (optional, shown in the record)"), validators=[Length(max=2000)])
