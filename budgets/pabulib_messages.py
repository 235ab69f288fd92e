"""The problems of a Pabulib file in the reader's language: budgets.outcomes.pabulib reports each one
as an Issue (line, stable code, params) with an English message for the command line; the platform
shows its own translated sentence for the code instead (every code has one: tests/budgets)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _

# code -> the sentence, with the issue's params as %(name)s placeholders (translated, then formatted)
MESSAGES: dict[str, Any] = {
    "section_twice": _("The %(section)s section appears twice (first on line %(first)s)."),
    "text_before_meta": _("There is text before the META section."),
    "header_missing_column": _("The %(section)s header has no “%(column)s” column."),
    "header_repeats_column": _("The %(section)s header repeats a column."),
    "field_count": _("This row has %(fields)s fields, but the %(section)s header has %(columns)s."),
    "meta_key_twice": _("The META key “%(key)s” appears twice."),
    "empty_project_id": _("A project has no project_id."),
    "project_twice": _("Project “%(project)s” appears twice (first on line %(first)s)."),
    "bad_cost": _("Project “%(project)s”: the cost “%(cost)s” is not a positive number."),
    "voter_twice": _("Voter “%(voter)s” appears twice."),
    "section_missing": _("The %(section)s section is missing."),
    "num_projects_mismatch": _("num_projects says %(declared)s, but %(listed)s projects are listed."),
    "num_votes_mismatch": _("num_votes says %(declared)s, but %(listed)s votes are listed."),
    "no_budget": _("META has no budget."),
    "bad_budget": _("The budget “%(budget)s” is not a number of at least 0."),
    "no_vote_type": _("META has no vote_type."),
    "unknown_vote_type": _("Unknown vote_type “%(vote_type)s” (expected one of %(expected)s)."),
    "meta_not_whole_number": _("%(key)s must be a whole number, not “%(value)s”."),
    "meta_not_json_object": _("%(key)s must be a JSON object, not “%(value)s”."),
    "vote_unknown_projects": _("The vote names unknown projects: %(projects)s."),
    "vote_project_twice": _("The vote names a project twice."),
    "choose_one_count": _("A choose-1 vote names exactly one project, not %(count)s."),
    "vote_too_short": _("The vote names %(count)s projects, fewer than min_length %(min_length)s."),
    "vote_too_long": _("The vote names %(count)s projects, more than max_length %(max_length)s."),
    "vote_over_max_cost": _("The voted projects cost %(total)s, more than max_sum_cost %(max_sum_cost)s."),
    "points_column_missing": _("A %(vote_type)s vote needs a points column."),
    "points_count": _("%(points)s points for %(count)s voted projects."),
    "points_not_whole": _("Points must be whole numbers of at least 0, not “%(points)s”."),
    "points_below_min": _("Some points are below min_points %(min_points)s."),
    "points_above_max": _("Some points are above max_points %(max_points)s."),
    "points_sum_below_min": _("%(total)s points in total, fewer than min_sum_points %(min_sum_points)s."),
    "points_sum_above_max": _("%(total)s points in total, more than max_sum_points %(max_sum_points)s."),
}


def issue_message(code: str, params: dict[str, Any]) -> str:
    """The sentence for one problem, in the current locale."""
    return str(MESSAGES[code]) % params
