"""Form helpers: translated fields (one input per locale) and settings forms from manifests."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional, ValidationError

from .i18n import available_locales, default_locale


class TranslatedField(Field):
    """A text in every locale of the organisation: inputs named `<name>-<locale>`.

    `data` is a dict {locale: text}. `required=True` asks for the organisation's default locale.
    """

    def __init__(
        self, label: Any = None, validators: Any = None, *, multiline: bool = False,
        html: bool = False, required: bool = False, max_length: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.multiline = multiline
        self.html = html
        self.required = required
        self.max_length = max_length
        self.locales = available_locales()

    def process(self, formdata: Any, data: Any = None, extra_filters: Any = None) -> None:  # type: ignore[override]
        self.process_errors = []
        self.data = dict(data or self.default or {})
        self.raw_data = []
        if formdata is not None:
            submitted = {}
            for loc in self.locales:
                key = f"{self.name}-{loc}"
                if key in formdata:
                    submitted[loc] = formdata.get(key, "").strip()
            if submitted:
                self.data = {k: v for k, v in submitted.items() if v}
                self.raw_data = list(submitted.values())

    def pre_validate(self, form: Any) -> None:
        if self.required and not self.data.get(default_locale()):
            raise ValidationError(_("Please fill this in, at least in the organisation's main language."))
        if self.max_length:
            for loc, text in self.data.items():
                if len(text) > self.max_length:
                    raise ValidationError(
                        _("At most %(max)d characters (%(locale)s).", max=self.max_length, locale=loc)
                    )

    def input_id(self, locale: str) -> str:
        return f"{self.id}-{locale}"

    def input_name(self, locale: str) -> str:
        return f"{self.name}-{locale}"

    def value(self, locale: str) -> str:
        return (self.data or {}).get(locale, "")


def settings_form(definitions: list[Any], values: dict[str, Any], prefix: str) -> FlaskForm:
    """Build a WTForms form from manifest settings (bool, int, str, text, enum, translated)."""

    class _SettingsForm(FlaskForm):
        class Meta:
            csrf = False  # part of a larger form that carries the token

    for setting in definitions:
        label = setting.label or setting.name
        kwargs: dict[str, Any] = {"description": setting.help or ""}
        if setting.type == "bool":
            fld: Field = BooleanField(label, **kwargs)
        elif setting.type == "int":
            validators = [Optional(), NumberRange(min=setting.min, max=setting.max)]
            fld = IntegerField(label, validators=validators, **kwargs)
        elif setting.type == "enum":
            fld = SelectField(label, choices=choices(setting.choices), **kwargs)
        elif setting.type == "text":
            fld = TextAreaField(label, **kwargs)
        elif setting.type == "translated":
            fld = TranslatedField(label, multiline=True, **kwargs)
        else:
            fld = StringField(label, **kwargs)
        setattr(_SettingsForm, setting.name, fld)
    return _SettingsForm(prefix=prefix, data=values)


def settings_values(form: FlaskForm, definitions: list[Any]) -> dict[str, Any]:
    return {s.name: form[s.name].data for s in definitions}


def choices(pairs: Any) -> list[SelectChoice]:
    """(value, label) pairs as WTForms SelectChoice objects (lazy labels stay lazy: translated when
    the form is rendered, in the request's language)."""
    return [SelectChoice(value, label) for value, label in pairs]
