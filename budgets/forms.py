from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from decidim_py.forms import TranslatedField, choices

from .ballots import RECEIPT_BITS
from .explain import COMPLETION_LABELS, PARAM_LABELS, RULE_LABELS, TIE_LABELS
from .services import BudgetData, ProjectData


def _amount(form: Any, field: Any) -> None:
    """A money amount in euros with at most two decimals ("1500", "1500.50", "1.500,50" is refused)."""
    text = (field.data or "").strip().replace(" ", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(_("Write an amount such as 1500 or 1500.50.")) from None
    if not value.is_finite() or value <= 0:
        raise ValidationError(_("The amount must be more than 0."))
    if value * 100 != (value * 100).to_integral_value():
        raise ValidationError(_("Use at most two decimals."))


def to_cents(text: str | None) -> int:
    return int(Decimal((text or "0").strip().replace(" ", "")) * 100)


def from_cents(cents: int | None) -> str:
    if cents is None:
        return ""
    return f"{cents // 100}" if cents % 100 == 0 else f"{cents // 100}.{cents % 100:02d}"


class BudgetForm(FlaskForm):
    title = TranslatedField(_("Title"), required=True, max_length=200)
    description = TranslatedField(_("Description"), multiline=True, html=True)
    total_amount = StringField(_("Total amount (euros)"), validators=[
        DataRequired(message=_("Please give the total amount.")), _amount],
        description=_("For example 250000 or 250000.50."))
    zone = SelectField(_("Zone"), choices=[], default="", description=_(
        "Optional. With the zone workflow, only residents of this zone (as their identity provider says) can vote "
        "in this budget; a budget without a zone is for the whole city."))
    weight = IntegerField(_("Position"), default=0, validators=[Optional(), NumberRange(min=0, message=_(
        "At least 0."))])

    def to_data(self) -> BudgetData:
        return BudgetData(title=self.title.data, description=self.description.data,
                          total_amount=to_cents(self.total_amount.data), zone=self.zone.data or None,
                          weight=self.weight.data or 0)


class ProjectForm(FlaskForm):
    title = TranslatedField(_("Title"), required=True, max_length=200)
    description = TranslatedField(_("Description"), multiline=True, html=True)
    cost = StringField(_("Cost (euros)"), validators=[DataRequired(message=_("Please give the cost.")), _amount],
                       description=_("For example 12000 or 12000.50."))
    address = StringField(_("Address"), validators=[Optional(), Length(max=200)],
                          description=_("Optional: where the project would be."))
    weight = IntegerField(_("Position"), default=0, validators=[Optional(), NumberRange(min=0, message=_(
        "At least 0."))])
    proposals = SelectMultipleField(_("Linked proposals"), choices=[], coerce=int, validate_choice=True,
                                    description=_("Proposals of this space this project comes from."))

    def to_data(self) -> ProjectData:
        return ProjectData(title=self.title.data, description=self.description.data,
                           cost=to_cents(self.cost.data), address=self.address.data,
                           weight=self.weight.data or 0, proposal_ids=list(self.proposals.data or []))


TIE_CHOICES = choices([("", _("(none)"))] + list(TIE_LABELS.items()))


class OutcomeRuleForm(FlaskForm):
    rule = SelectField(_("Outcome rule"), choices=[])
    completion = SelectField(PARAM_LABELS["completion"], choices=choices(COMPLETION_LABELS.items()),
                             description=_("Method of Equal Shares rules only."))
    comparison = BooleanField(PARAM_LABELS["comparison"], description=_("Method of Equal Shares rules only."))
    min_votes = IntegerField(PARAM_LABELS["min_votes"], default=0, validators=[Optional(), NumberRange(min=0)],
                             description=_("'Most votes first, with a minimum of votes' only."))
    min_share = StringField(PARAM_LABELS["min_share"], default="0", validators=[Optional(), Length(max=10)],
                            description=_("'Most votes first, with a minimum of votes' only. From 0 to 100."))
    tie_1 = SelectField(_("When projects are tied, first"), choices=TIE_CHOICES)
    tie_2 = SelectField(_("If still tied, then"), choices=TIE_CHOICES)
    tie_3 = SelectField(_("If still tied, then"), choices=TIE_CHOICES)
    lot_seed = StringField(_("Seed of the lot"), validators=[Optional(), Length(max=100)], description=_(
        "Drawn before counting and published with the rule; leave it empty to keep the current one."))

    def set_rules(self, rules: Any) -> None:
        self.rule.choices = choices((name, RULE_LABELS.get(name, spec.label)) for name, spec in rules.items()
                                    if "approval" in spec.vote_types)

    def params_for(self, spec: Any) -> dict[str, Any]:
        values = {"completion": self.completion.data, "comparison": bool(self.comparison.data),
                  "min_votes": self.min_votes.data or 0, "min_share": (self.min_share.data or "0").strip()}
        return {p.name: values[p.name] for p in spec.params if p.name in values}

    def tie_order(self) -> list[str]:
        return [v for v in (self.tie_1.data, self.tie_2.data, self.tie_3.data) if v]


class ImportProposalsForm(FlaskForm):
    component = SelectField(_("Proposals component"), choices=[], coerce=int)


class BallotsImportForm(FlaskForm):
    file = FileField(_("Pabulib file (.pb)"), validators=[FileRequired(message=_("Please choose a file."))],
                     description=_("Paper ballots or a past election in the Pabulib format (META, PROJECTS, VOTES). "
                                   "Imported ballots are counted and marked as imported."))


class ReceiptForm(FlaskForm):
    code = StringField(_("Your receipt code"), validators=[
        DataRequired(message=_("Please enter your receipt code.")), Length(max=80)],
        description=_("The code you were shown when you checked out, e.g. K7QM-2D9X-..."
                      " (%(bits)d bits, groups of four characters).", bits=RECEIPT_BITS))
