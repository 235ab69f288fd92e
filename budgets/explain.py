"""Why each project won or lost, in plain translated language, built from the outcome's reason codes
(budgets.outcomes gives codes and data; the sentences are ours, so they can be translated)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask_babel import format_currency
from flask_babel import lazy_gettext as _

from decidim_py.i18n import translated


def format_money(cents: int | Fraction) -> str:
    """An amount in cents, in the reader's locale ("1.500,00 €")."""
    value = Fraction(cents) / 100
    amount = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"))
    return format_currency(amount, "EUR")


def _cents(value: Any, scale: int) -> Fraction:
    """An amount of the outcome (units of 1/scale of the file's euros) in cents."""
    return Fraction(str(value)) * 100 / scale


def sentence(reason: str, data: dict[str, Any], *, votes: int, cost: int, scale: int) -> Any:
    """One project's explanation; `cost` is in cents."""
    def money_of(key: str) -> str:
        return format_money(_cents(data.get(key, 0), scale))

    if reason == "selected_by_votes":
        return _("Selected: with %(votes)d votes it was the most voted of the remaining projects, and its cost of "
                 "%(cost)s fitted in the %(left)s left.", votes=votes, cost=format_money(cost),
                 left=money_of("money_left"))
    if reason == "did_not_fit":
        return _("Not selected: it costs %(cost)s, but only %(left)s were left when its turn came "
                 "(%(votes)d votes).", cost=format_money(cost), left=money_of("money_left"), votes=votes)
    if reason == "below_threshold":
        return _("Not selected: it had %(votes)d votes, fewer than the %(threshold)d a project needed.",
                 votes=votes, threshold=int(data.get("threshold", 0)))
    if reason == "not_reached":
        return _("Not selected: counting stopped at an earlier project that did not fit, before its turn came "
                 "(%(votes)d votes).", votes=votes)
    if reason == "mes_selected":
        return _("Selected in round %(round)d of the Method of Equal Shares: its %(supporters)d supporters shared "
                 "its cost of %(cost)s. %(equal)d of them paid %(price)s each; %(all)d paid all the money they "
                 "had left (%(all_total)s together).", round=int(data.get("round", 0)),
                 supporters=int(data.get("supporters", votes)), cost=format_money(cost),
                 equal=int(data.get("paid_in_full_share", 0)), price=money_of("price_per_supporter"),
                 all=int(data.get("paid_all_they_had", 0)), all_total=money_of("paid_all_they_had_total"))
    if reason == "mes_not_affordable":
        return _("Not selected by the Method of Equal Shares: in round %(round)d its %(votes)d supporters had "
                 "%(money)s left together, not enough to pay its cost of %(cost)s.",
                 round=int(data.get("round", 0)), votes=votes, money=money_of("supporters_money"),
                 cost=format_money(cost))
    if reason == "selected_in_completion":
        return _("Selected after the Method of Equal Shares, when the money left was given by votes: its cost of "
                 "%(cost)s fitted in the %(left)s left (%(votes)d votes).", cost=format_money(cost),
                 left=money_of("money_left"), votes=votes)
    return _("Selected.") if data.get("selected") else _("Not selected.")


def explain(budget: Any, outcome: dict[str, Any]) -> dict[int, Any]:
    """{project id: sentence} for a stored outcome (Outcome.to_dict() plus the file's "scale")."""
    scale = int(outcome.get("scale", 1)) or 1
    out = {}
    costs = {p.id: p.cost for p in budget.projects}
    for pid, expl in (outcome.get("explanations") or {}).items():
        project_id = int(pid)
        data = dict(expl.get("data") or {}, selected=expl.get("selected"))
        out[project_id] = sentence(expl.get("reason", ""), data, votes=int(expl.get("votes", 0)),
                                   cost=costs.get(project_id, 0), scale=scale)
    return out


def comparison_note(outcome: dict[str, Any]) -> Any:
    comparison = (outcome.get("notes") or {}).get("comparison")
    if not comparison:
        return None
    if comparison.get("kept") == "greedy":
        return _("The comparison step kept the result of 'most votes first': %(greedy)d voters had more of their "
                 "projects funded by it, %(mes)d by the Method of Equal Shares.",
                 greedy=int(comparison.get("prefer_greedy", 0)), mes=int(comparison.get("prefer_mes", 0)))
    return _("The comparison step kept the Method of Equal Shares: %(mes)d voters had more of their projects funded "
             "by it, %(greedy)d by 'most votes first'.", greedy=int(comparison.get("prefer_greedy", 0)),
             mes=int(comparison.get("prefer_mes", 0)))


TIE_LABELS = {
    "lowest_cost": _("the cheaper project first"),
    "highest_cost": _("the more expensive project first"),
    "most_votes": _("the project with more votes first"),
    "fewest_votes": _("the project with fewer votes first"),
    "project_id": _("the project with the smaller identifier first"),
    "lot": _("a lot drawn before counting"),
}


def describe_tie_breaking(tie: dict[str, Any]) -> list[Any]:
    """The tie-breaking steps in order, translated (the identifier always ends it)."""
    order = list(tie.get("order") or [])
    if "project_id" not in order:
        order.append("project_id")
    return [TIE_LABELS.get(k, k) for k in order]


def budget_title(budget: Any) -> str:
    return translated(budget.title)


RULE_LABELS = {
    "greedy": _("Most votes first"),
    "greedy_no_skip": _("Most votes first, stopping at the first project that does not fit"),
    "greedy_threshold": _("Most votes first, with a minimum of votes"),
    "greedy_score": _("Most points first"),
    "mes": _("Method of Equal Shares"),
    "mes_add1": _("Method of Equal Shares, raising the equal shares until the budget is used"),
    "mes_add1_noexh": _("Method of Equal Shares, raising the equal shares while the result fits"),
    "es_tool_default": _("Method of Equal Shares as computed by equalshares.net"),
    "mes_add1_score": _("Method of Equal Shares with points"),
}

RULE_DESCRIPTIONS = {
    "greedy": _("Projects are taken from the most voted to the least voted. Each one is funded if it fits in the "
                "money that is left; one that does not fit is skipped and the next one is tried."),
    "greedy_no_skip": _("Projects are taken from the most voted to the least voted and funded until the first one "
                        "that does not fit in the money that is left."),
    "greedy_threshold": _("Only projects with at least the minimum of votes can be funded; they are taken from the "
                          "most voted to the least voted, each funded if it fits in the money that is left."),
    "greedy_score": _("Like 'most votes first', ordered by the points projects received."),
    "mes": _("The budget is shared equally among the voters. A project is funded when its supporters can pay for "
             "it together, each paying an equal part (or all they have left). Each round funds the project that "
             "costs its supporters least per person; it stops when no project can be paid for."),
    "mes_add1": _("The Method of Equal Shares, run again with a slightly larger equal share each time, until the "
                  "result leaves no money for any other voted project."),
    "mes_add1_noexh": _("The Method of Equal Shares, run again with a slightly larger equal share each time, for as "
                        "long as the result still fits in the budget."),
    "es_tool_default": _("The Method of Equal Shares with the defaults of the equalshares.net tool: shares raised "
                         "while the result fits, then the money left goes to projects by votes."),
    "mes_add1_score": _("The Method of Equal Shares with payments in proportion to the points given."),
}

PARAM_LABELS = {
    "completion": _("Money left after the Method of Equal Shares"),
    "comparison": _("Compare with 'most votes first' and keep the result more voters prefer"),
    "min_votes": _("Minimum number of votes a project needs"),
    "min_share": _("Minimum share of voters a project needs (%)"),
    "by_score": _("Order by points"),
}

COMPLETION_LABELS = {"none": _("stays unspent"), "greedy": _("goes to the remaining projects by votes")}


def describe_params(params: dict[str, Any]) -> list[Any]:
    """The rule's parameters in words."""
    out = []
    for name, value in sorted((params or {}).items()):
        label = PARAM_LABELS.get(name, name)
        if name == "completion":
            out.append(_("%(label)s: %(value)s", label=label, value=COMPLETION_LABELS.get(value, value)))
        elif isinstance(value, bool):
            out.append(_("%(label)s: %(value)s", label=label, value=_("yes") if value else _("no")))
        else:
            out.append(_("%(label)s: %(value)s", label=label, value=value))
    return out
