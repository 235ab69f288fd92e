"""The Pabulib `.pb` format: read (collecting every problem with its line), write, and turn into an Election.

A file has three sections, each a line with its name then a header row then `;`-separated rows (fields
may be double-quoted, CSV style): META (key;value), PROJECTS (project_id;cost;...), VOTES
(voter_id;vote;...). `vote` lists project ids separated by commas (for ordinal ballots, best first);
cumulative and scoring ballots carry a `points` column with one number per listed project.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from .model import Ballot, Election, Project, TieBreaking

SECTIONS = ("META", "PROJECTS", "VOTES")
PB_VOTE_TYPES = ("approval", "choose-1", "cumulative", "ordinal", "scoring")


# Every problem parse() reports has a stable code; its English message is MESSAGES[code] formatted with
# the issue's params (plain strings and numbers). Applications translate from the code and params.
MESSAGES: dict[str, str] = {
    "section_twice": "section {section} appears twice (first on line {first})",
    "text_before_meta": "text before the META section",
    "header_missing_column": "the {section} header has no {column!r} column",
    "header_repeats_column": "the {section} header repeats a column",
    "field_count": "{fields} fields where the {section} header has {columns}",
    "meta_key_twice": "META key {key!r} appears twice",
    "empty_project_id": "empty project_id",
    "project_twice": "project {project!r} appears twice (first on line {first})",
    "bad_cost": "project {project!r}: bad cost {cost!r} (a positive number)",
    "voter_twice": "voter {voter!r} appears twice",
    "section_missing": "the {section} section is missing",
    "num_projects_mismatch": "num_projects is {declared} but {listed} are listed",
    "num_votes_mismatch": "num_votes is {declared} but {listed} are listed",
    "no_budget": "META has no budget",
    "bad_budget": "bad budget {budget!r} (a number of at least 0)",
    "no_vote_type": "META has no vote_type",
    "unknown_vote_type": "unknown vote_type {vote_type!r} (expected one of {expected})",
    "meta_not_whole_number": "{key} must be a whole number, not {value!r}",
    "meta_not_json_object": "{key} must be a JSON object, not {value!r}",
    "vote_unknown_projects": "vote names unknown project(s) {projects}",
    "vote_project_twice": "vote names a project twice",
    "choose_one_count": "a choose-1 vote names exactly one project, not {count}",
    "vote_too_short": "vote names {count} project(s), fewer than min_length {min_length}",
    "vote_too_long": "vote names {count} project(s), more than max_length {max_length}",
    "vote_over_max_cost": "the voted projects cost {total}, more than max_sum_cost {max_sum_cost}",
    "points_column_missing": "a {vote_type} vote needs a points column",
    "points_count": "{points} points for {count} voted project(s)",
    "points_not_whole": "points must be whole numbers of at least 0: {points!r}",
    "points_below_min": "points below min_points {min_points}",
    "points_above_max": "points above max_points {max_points}",
    "points_sum_below_min": "{total} points in total, fewer than min_sum_points {min_sum_points}",
    "points_sum_above_max": "{total} points in total, more than max_sum_points {max_sum_points}",
}


class Issue(NamedTuple):
    """One problem of a file: its line, a stable code (a key of MESSAGES) and the code's params."""

    line: int
    code: str
    params: dict[str, Any]

    @property
    def message(self) -> str:
        return MESSAGES[self.code].format(**self.params)


def _issue(line: int, code: str, **params: Any) -> Issue:
    return Issue(line, code, params)


class PabulibError(ValueError):
    """`errors`: [(line, English message)], sorted; `issues`: the same problems as Issue (line, code,
    params), in the same order."""

    def __init__(self, errors: list[tuple[int, str]] | None = None, *, issues: list[Issue] | None = None) -> None:
        self.issues = sorted(issues or [], key=lambda i: (i.line, i.message))
        self.errors = sorted(errors) if errors is not None else [(i.line, i.message) for i in self.issues]
        shown = "\n".join(f"line {n}: {msg}" for n, msg in self.errors[:50])
        more = f"\n... and {len(self.errors) - 50} more" if len(self.errors) > 50 else ""
        super().__init__(f"{len(self.errors)} problem(s) in the Pabulib file:\n{shown}{more}")


@dataclass
class PabulibFile:
    meta: dict[str, str]
    projects: dict[str, dict[str, str]]  # project_id -> its row (every column, project_id included)
    votes: list[dict[str, str]]  # rows in file order (every column, voter_id included)
    # line number of each project row and vote row (for messages); not part of equality
    project_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    vote_lines: list[int] = field(default_factory=list, compare=False, repr=False)


def _split(line: str) -> list[str]:
    if '"' not in line:
        return [part.strip() for part in line.split(";")]
    return [part.strip() for part in next(csv.reader([line], delimiter=";"))]


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _int(text: str) -> int | None:
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    dec = _decimal(text)
    if dec is not None and dec == dec.to_integral_value():
        return int(dec)
    return None


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Physical lines joined where a quoted field spans a line break; with their first line number."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for n, raw in enumerate(text.splitlines(), start=1):
        if pending:
            pending.append(raw)
            joined = "\n".join(pending)
            if joined.count('"') % 2 == 0:
                out.append((start, joined))
                pending = []
            continue
        if '"' in raw and raw.count('"') % 2 == 1:
            pending, start = [raw], n
            continue
        out.append((n, raw))
    if pending:
        out.append((start, "\n".join(pending)))
    return out


def parse(text: str) -> PabulibFile:
    """Parse a Pabulib file. Raises PabulibError listing every problem found (line, message)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    errors: list[Issue] = []
    section: str | None = None
    header: list[str] | None = None
    seen: dict[str, int] = {}
    meta: dict[str, str] = {}
    projects: dict[str, dict[str, str]] = {}
    project_lines: dict[str, int] = {}
    votes: list[dict[str, str]] = []
    vote_lines: list[int] = []
    voter_ids: set[str] = set()
    last_line = 0
    for n, line in _logical_lines(text):
        last_line = n
        stripped = line.strip()
        if not stripped:
            continue
        upper = stripped.upper()
        if upper in SECTIONS:
            if upper in seen:
                errors.append(_issue(n, "section_twice", section=upper, first=seen[upper]))
            seen[upper] = n
            section, header = upper, None
            continue
        if section is None:
            errors.append(_issue(n, "text_before_meta"))
            continue
        fields = _split(line)
        if header is None:
            header = [f.lower() for f in fields]
            required = {"META": ("key", "value"), "PROJECTS": ("project_id", "cost"), "VOTES": ("voter_id", "vote")}
            for col in required[section]:
                if col not in header:
                    errors.append(_issue(n, "header_missing_column", section=section, column=col))
            if len(set(header)) != len(header):
                errors.append(_issue(n, "header_repeats_column", section=section))
            continue
        if len(fields) != len(header):
            errors.append(_issue(n, "field_count", fields=len(fields), section=section, columns=len(header)))
            continue
        row = dict(zip(header, fields, strict=True))
        if section == "META":
            key = row.get("key", "")
            if key in meta:
                errors.append(_issue(n, "meta_key_twice", key=key))
            meta[key] = row.get("value", "")
        elif section == "PROJECTS":
            pid = row.get("project_id", "")
            if not pid:
                errors.append(_issue(n, "empty_project_id"))
            elif pid in projects:
                errors.append(_issue(n, "project_twice", project=pid, first=project_lines[pid]))
            else:
                projects[pid] = row
                project_lines[pid] = n
            cost = _decimal(row.get("cost", ""))
            if cost is None or cost <= 0:
                errors.append(_issue(n, "bad_cost", project=pid, cost=row.get("cost", "")))
        else:
            vid = row.get("voter_id", "")
            if vid in voter_ids:
                errors.append(_issue(n, "voter_twice", voter=vid))
            voter_ids.add(vid)
            votes.append(row)
            vote_lines.append(n)
    for name in SECTIONS:
        if name not in seen:
            errors.append(_issue(last_line + 1, "section_missing", section=name))
    errors.extend(_check_meta(meta, seen.get("META", 1)))
    errors.extend(_check_votes(meta, projects, votes, vote_lines))
    if "num_projects" in meta and _int(meta["num_projects"]) not in (None, len(projects)):
        errors.append(
            _issue(seen.get("META", 1), "num_projects_mismatch", declared=meta["num_projects"], listed=len(projects))
        )
    if "num_votes" in meta and _int(meta["num_votes"]) not in (None, len(votes)):
        errors.append(_issue(seen.get("META", 1), "num_votes_mismatch", declared=meta["num_votes"], listed=len(votes)))
    if errors:
        raise PabulibError(issues=errors)
    return PabulibFile(meta, projects, votes, project_lines, vote_lines)


def _check_meta(meta: dict[str, str], line: int) -> list[Issue]:
    errors = []
    if "budget" not in meta:
        errors.append(_issue(line, "no_budget"))
    else:
        budget = _decimal(meta["budget"])
        if budget is None or budget < 0:
            errors.append(_issue(line, "bad_budget", budget=meta["budget"]))
    vote_type = meta.get("vote_type")
    if vote_type is None:
        errors.append(_issue(line, "no_vote_type"))
    elif vote_type not in PB_VOTE_TYPES:
        errors.append(_issue(line, "unknown_vote_type", vote_type=vote_type, expected=", ".join(PB_VOTE_TYPES)))
    for key in ("min_length", "max_length", "min_sum_points", "max_sum_points", "min_points", "max_points"):
        if key in meta and _int(meta[key]) is None:
            errors.append(_issue(line, "meta_not_whole_number", key=key, value=meta[key]))
    for key in ("rule_params", "tie_breaking"):
        if key in meta:
            try:
                value = json.loads(meta[key])
                if not isinstance(value, dict):
                    raise ValueError
            except ValueError:
                errors.append(_issue(line, "meta_not_json_object", key=key, value=meta[key]))
    return errors


def _limit(meta: dict[str, str], key: str) -> int | None:
    return _int(meta[key]) if key in meta else None


def _check_votes(
    meta: dict[str, str], projects: dict[str, dict[str, str]], votes: list[dict[str, str]], lines: list[int]
) -> list[Issue]:
    errors: list[Issue] = []
    vote_type = meta.get("vote_type", "approval")
    pointed = vote_type in ("cumulative", "scoring")
    min_len, max_len = _limit(meta, "min_length"), _limit(meta, "max_length")
    min_sum, max_sum = _limit(meta, "min_sum_points"), _limit(meta, "max_sum_points")
    min_pts, max_pts = _limit(meta, "min_points"), _limit(meta, "max_points")
    max_sum_cost = _decimal(meta["max_sum_cost"]) if "max_sum_cost" in meta else None
    costs = {pid: _decimal(row.get("cost", "")) for pid, row in projects.items()}
    for row, n in zip(votes, lines, strict=True):
        vote = row.get("vote", "")
        ids = [part.strip() for part in vote.split(",")] if vote.strip() else []
        unknown = [pid for pid in ids if pid not in projects]
        if unknown:
            errors.append(_issue(n, "vote_unknown_projects", projects=", ".join(unknown)))
        if len(set(ids)) != len(ids):
            errors.append(_issue(n, "vote_project_twice"))
        if vote_type == "choose-1" and len(ids) != 1:
            errors.append(_issue(n, "choose_one_count", count=len(ids)))
        if min_len is not None and len(ids) < min_len:
            errors.append(_issue(n, "vote_too_short", count=len(ids), min_length=min_len))
        if max_len is not None and len(ids) > max_len:
            errors.append(_issue(n, "vote_too_long", count=len(ids), max_length=max_len))
        if max_sum_cost is not None and not unknown:
            total = sum((costs[pid] or 0 for pid in ids), Decimal(0))
            if total > max_sum_cost:
                errors.append(_issue(n, "vote_over_max_cost", total=str(total), max_sum_cost=str(max_sum_cost)))
        if pointed:
            if "points" not in row:
                errors.append(_issue(n, "points_column_missing", vote_type=vote_type))
                continue
            raw = row["points"]
            pts_text = [part.strip() for part in raw.split(",")] if raw.strip() else []
            if len(pts_text) != len(ids):
                errors.append(_issue(n, "points_count", points=len(pts_text), count=len(ids)))
                continue
            pts = [_int(t) for t in pts_text]
            if any(p is None or p < 0 for p in pts):
                errors.append(_issue(n, "points_not_whole", points=raw))
                continue
            values = [p for p in pts if p is not None]
            if min_pts is not None and any(p < min_pts for p in values):
                errors.append(_issue(n, "points_below_min", min_points=min_pts))
            if max_pts is not None and any(p > max_pts for p in values):
                errors.append(_issue(n, "points_above_max", max_points=max_pts))
            if min_sum is not None and sum(values) < min_sum:
                errors.append(_issue(n, "points_sum_below_min", total=sum(values), min_sum_points=min_sum))
            if max_sum is not None and sum(values) > max_sum:
                errors.append(_issue(n, "points_sum_above_max", total=sum(values), max_sum_points=max_sum))
    return errors


def _write_row(writer: Any, fields: list[str]) -> None:
    writer.writerow(fields)


def write(meta: dict[str, str], projects: dict[str, dict[str, str]], votes: list[dict[str, str]]) -> str:
    """A Pabulib file for the given sections (rows as parse() returns them: every row of a section has
    the same columns, project_id / voter_id included). parse(write(m, p, v)) gives back m, p, v."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)

    def columns(rows: list[dict[str, str]], first: str, second: str) -> list[str]:
        cols = [first, second]
        for row in rows:
            for key in row:
                if key not in cols:
                    cols.append(key)
        for row in rows:
            if set(row) != set(cols):
                raise ValueError(f"every row needs the same columns ({', '.join(cols)})")
        return cols

    def clean(value: str) -> str:
        value = str(value)
        if value != value.strip() or "\n" in value or "\r" in value:
            raise ValueError(f"field values cannot start or end with spaces or hold line breaks: {value!r}")
        return value

    buf.write("META\n")
    writer.writerow(["key", "value"])
    for key, value in meta.items():
        writer.writerow([clean(key), clean(value)])
    buf.write("PROJECTS\n")
    prow = list(projects.values())
    for pid, row in projects.items():
        if row.get("project_id") != pid:
            raise ValueError(f"project {pid!r}: its row's project_id differs")
    pcols = columns(prow, "project_id", "cost")
    writer.writerow(pcols)
    for row in prow:
        writer.writerow([clean(row[c]) for c in pcols])
    buf.write("VOTES\n")
    vcols = columns(votes, "voter_id", "vote")
    writer.writerow(vcols)
    for row in votes:
        writer.writerow([clean(row[c]) for c in vcols])
    return buf.getvalue()


def _scale_of(values: list[str]) -> int:
    decimals = 0
    for text in values:
        dec = Decimal(text).normalize()
        exp = dec.as_tuple().exponent
        if isinstance(exp, int) and exp < 0:
            decimals = max(decimals, -exp)
    return 10**decimals


def to_election(pb: PabulibFile) -> Election:
    """The Election of a parsed file. Decimal costs: costs and budget are multiplied by the same power of
    ten (Election.scale) so that every amount is an integer."""
    scale = _scale_of([pb.meta["budget"]] + [row["cost"] for row in pb.projects.values()])
    projects = tuple(
        Project(pid, int(Decimal(row["cost"]) * scale), row.get("name", "")) for pid, row in pb.projects.items()
    )
    vote_type = pb.meta.get("vote_type", "approval")
    ballots = []
    for row in pb.votes:
        ids = [part.strip() for part in row["vote"].split(",")] if row["vote"].strip() else []
        if vote_type in ("cumulative", "scoring"):
            pts = [_int(t) or 0 for t in row["points"].split(",")] if ids else []
            ballots.append(Ballot.cumulative(dict(zip(ids, pts, strict=True))))
        elif vote_type == "ordinal":
            ballots.append(Ballot.ordinal(ids))
        else:
            ballots.append(Ballot.approval(ids))
    kind = "cumulative" if vote_type == "scoring" else vote_type
    max_length = _limit(pb.meta, "max_length")
    return Election(
        budget=int(Decimal(pb.meta["budget"]) * scale),
        projects=projects,
        ballots=tuple(ballots),
        vote_type=kind,
        max_length=max_length,
        scale=scale,
    )


def declared_rule(pb: PabulibFile) -> tuple[str, dict[str, Any], TieBreaking | None] | None:
    """The rule the file declares: our own META keys (rule = one of RULES, rule_params and tie_breaking
    as JSON objects), or Pabulib's rule names mapped to ours; None when unknown."""
    from .rules import RULES

    rule = pb.meta.get("rule", "")
    params: dict[str, Any] = json.loads(pb.meta["rule_params"]) if "rule_params" in pb.meta else {}
    tb = TieBreaking.from_dict(json.loads(pb.meta["tie_breaking"])) if "tie_breaking" in pb.meta else None
    scored = pb.meta.get("vote_type") in ("cumulative", "scoring", "ordinal")
    # our exports always carry rule_params; without it, "greedy" is Pabulib's (by points when scored)
    if rule in RULES and ("rule_params" in pb.meta or not (rule == "greedy" and scored)):
        return rule, params, tb
    if rule == "greedy":
        return ("greedy_score" if scored else "greedy"), {}, tb
    if rule == "greedy-no-skip":
        return "greedy_no_skip", {"by_score": scored}, tb
    if rule == "greedy-threshold":
        threshold = _int(pb.meta.get("min_project_score_threshold", "0")) or 0
        return "greedy_threshold", {"min_votes": threshold, "by_score": scored}, tb
    if rule == "equalshares/add1":
        return "mes_add1", {}, tb
    if rule == "equalshares/add1-comparison":
        return "mes_add1_noexh", {"comparison": True}, tb
    return None
