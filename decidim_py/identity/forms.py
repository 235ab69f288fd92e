from __future__ import annotations

import json
from typing import Any

from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..forms import TranslatedField


def _json_object(form: Any, field: Any) -> None:
    if not field.data or not field.data.strip():
        return
    try:
        value = json.loads(field.data)
    except ValueError as exc:
        raise ValidationError(_("This is not valid JSON.")) from exc
    if not isinstance(value, dict):
        raise ValidationError(_("This must be a JSON object."))


class ProviderForm(FlaskForm):
    display_name = TranslatedField(_("Name shown on the sign-in button"), required=True, max_length=120)
    slug = StringField(_("Short name"), validators=[DataRequired(message=_("Please fill this in.")),
                                                    Length(max=40)],
                       description=_("Part of the callback address: /auth/<short name>/callback"))
    issuer = StringField(_("Issuer"), validators=[DataRequired(message=_("Please fill this in.")),
                                                  Length(max=500)],
                         description=_("Exactly as the provider's discovery document states it."))
    client_id = StringField(_("Client identifier"), validators=[DataRequired(message=_("Please fill this in."))])
    client_auth = SelectField(_("Client authentication"), choices=[])
    client_secret = StringField(_("Client secret"), description=_(
        "Stored encrypted. Leave empty to keep the current one."))
    private_key = TextAreaField(_("Private key (PEM) for private_key_jwt"), description=_(
        "Stored encrypted. Leave empty to keep the current one."))
    scopes = StringField(_("Scopes"), default="openid profile",
                         description=_("Separated by spaces; openid is always requested."))
    claims_request = TextAreaField(_("Claims request (JSON)"), validators=[_json_object],
                                   description=_("The OpenID Connect claims parameter, e.g. "
                                                 '{"id_token": {"birthdate": null}}'))
    acr_map = TextAreaField(_("Levels of assurance (JSON)"), validators=[_json_object], description=_(
        'The provider\'s acr values and our levels, e.g. {"urn:example:loa:2": "substantial"}'))
    claim_map = TextAreaField(_("Claims used (JSON)"), validators=[_json_object], description=_(
        'Where to find postal_code, birthdate, national_id and name, e.g. {"postal_code": "address.postal_code"}'))
    signing_algs = StringField(_("Accepted signature algorithms"), default="RS256 PS256 ES256")
    eligibility_days = IntegerField(_("Days a verification lasts"), default=90,
                                    validators=[NumberRange(min=1, max=3650)])
    backchannel_logout = BooleanField(_("Back-channel logout"))
    is_enabled = BooleanField(_("Enabled"), default=True)


class TransferForm(FlaskForm):
    reason = TextAreaField(_("Why the verification moves"), validators=[
        DataRequired(message=_("Please fill this in.")), Length(max=500)])


class ResidenceForm(FlaskForm):
    postal_codes = TextAreaField(_("Postal codes of the city"), description=_(
        "Separated by spaces or commas."))
    zones = TextAreaField(_("Zones (JSON)"), validators=[_json_object], description=_(
        'e.g. {"ciutat-vella": {"name": {"ca": "Ciutat Vella"}, "postal_codes": ["08001", "08002"]}}'))


class ManagedParticipantForm(FlaskForm):
    name = StringField(_("Name to show"), validators=[DataRequired(message=_("Please fill this in.")),
                                                      Length(max=120)])
    nickname = StringField(_("Nickname"), validators=[DataRequired(message=_("Please fill this in.")),
                                                      Length(min=3, max=40)])
    national_id = StringField(_("ID document number"), validators=[
        DataRequired(message=_("Please fill this in.")), Length(max=40)],
        description=_("Checked on the document in person. Only a one-way code of it is kept."))
    postal_code = StringField(_("Postal code on the document"), validators=[Optional(), Length(max=10)])
    birthdate = DateField(_("Birth date on the document"), validators=[Optional()])
    document_checked = BooleanField(_("I checked the ID document in person"))


class ImpersonateForm(FlaskForm):
    reason = TextAreaField(_("Reason"), validators=[DataRequired(message=_("Please fill this in.")),
                                                    Length(max=500)],
                           description=_("Recorded. The session ends after 30 minutes at most."))


class RequirementForm(FlaskForm):
    class Meta:
        csrf = False

    level = SelectField(_("Minimum level of assurance"), choices=[])
    resident = BooleanField(_("Residents only"))
    zone = SelectField(_("Zone"), choices=[])
    min_age = IntegerField(_("Minimum age"), validators=[Optional(), NumberRange(min=1, max=119)])
    person_key = BooleanField(_("One person, one voice (verified person)"))
    allow_low_assurance_person_key = BooleanField(
        _("Accept a lower-assurance sign-in as the person (issuer + subject)"))
