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
from typing import Any

from .model import Ballot, Election, Project, TieBreaking

SECTIONS = ("META", "PROJECTS", "VOTES")
PB_VOTE_TYPES = ("approval", "choose-1", "cumulative", "ordinal", "scoring")


class PabulibError(ValueError):
    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = sorted(errors)
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
    errors: list[tuple[int, str]] = []
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
                errors.append((n, f"section {upper} appears twice (first on line {seen[upper]})"))
            seen[upper] = n
            section, header = upper, None
            continue
        if section is None:
            errors.append((n, "text before the META section"))
            continue
        fields = _split(line)
        if header is None:
            header = [f.lower() for f in fields]
            required = {"META": ("key", "value"), "PROJECTS": ("project_id", "cost"), "VOTES": ("voter_id", "vote")}
            for col in required[section]:
                if col not in header:
                    errors.append((n, f"the {section} header has no {col!r} column"))
            if len(set(header)) != len(header):
                errors.append((n, f"the {section} header repeats a column"))
            continue
        if len(fields) != len(header):
            errors.append((n, f"{len(fields)} fields where the {section} header has {len(header)}"))
            continue
        row = dict(zip(header, fields, strict=True))
        if section == "META":
            key = row.get("key", "")
            if key in meta:
                errors.append((n, f"META key {key!r} appears twice"))
            meta[key] = row.get("value", "")
        elif section == "PROJECTS":
            pid = row.get("project_id", "")
            if not pid:
                errors.append((n, "empty project_id"))
            elif pid in projects:
                errors.append((n, f"project {pid!r} appears twice (first on line {project_lines[pid]})"))
            else:
                projects[pid] = row
                project_lines[pid] = n
            cost = _decimal(row.get("cost", ""))
            if cost is None or cost <= 0:
                errors.append((n, f"project {pid!r}: bad cost {row.get('cost', '')!r} (a positive number)"))
        else:
            vid = row.get("voter_id", "")
            if vid in voter_ids:
                errors.append((n, f"voter {vid!r} appears twice"))
            voter_ids.add(vid)
            votes.append(row)
            vote_lines.append(n)
    for name in SECTIONS:
        if name not in seen:
            errors.append((last_line + 1, f"the {name} section is missing"))
    errors.extend(_check_meta(meta, seen.get("META", 1)))
    errors.extend(_check_votes(meta, projects, votes, vote_lines))
    if "num_projects" in meta and _int(meta["num_projects"]) not in (None, len(projects)):
        errors.append((seen.get("META", 1), f"num_projects is {meta['num_projects']} but {len(projects)} are listed"))
    if "num_votes" in meta and _int(meta["num_votes"]) not in (None, len(votes)):
        errors.append((seen.get("META", 1), f"num_votes is {meta['num_votes']} but {len(votes)} are listed"))
    if errors:
        raise PabulibError(errors)
    return PabulibFile(meta, projects, votes, project_lines, vote_lines)


def _check_meta(meta: dict[str, str], line: int) -> list[tuple[int, str]]:
    errors = []
    if "budget" not in meta:
        errors.append((line, "META has no budget"))
    else:
        budget = _decimal(meta["budget"])
        if budget is None or budget < 0:
            errors.append((line, f"bad budget {meta['budget']!r} (a number of at least 0)"))
    vote_type = meta.get("vote_type")
    if vote_type is None:
        errors.append((line, "META has no vote_type"))
    elif vote_type not in PB_VOTE_TYPES:
        errors.append((line, f"unknown vote_type {vote_type!r} (expected one of {', '.join(PB_VOTE_TYPES)})"))
    for key in ("min_length", "max_length", "min_sum_points", "max_sum_points", "min_points", "max_points"):
        if key in meta and _int(meta[key]) is None:
            errors.append((line, f"{key} must be a whole number, not {meta[key]!r}"))
    for key in ("rule_params", "tie_breaking"):
        if key in meta:
            try:
                value = json.loads(meta[key])
                if not isinstance(value, dict):
                    raise ValueError
            except ValueError:
                errors.append((line, f"{key} must be a JSON object, not {meta[key]!r}"))
    return errors


def _limit(meta: dict[str, str], key: str) -> int | None:
    return _int(meta[key]) if key in meta else None


def _check_votes(
    meta: dict[str, str], projects: dict[str, dict[str, str]], votes: list[dict[str, str]], lines: list[int]
) -> list[tuple[int, str]]:
    errors: list[tuple[int, str]] = []
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
            errors.append((n, f"vote names unknown project(s) {', '.join(unknown)}"))
        if len(set(ids)) != len(ids):
            errors.append((n, "vote names a project twice"))
        if vote_type == "choose-1" and len(ids) != 1:
            errors.append((n, f"a choose-1 vote names exactly one project, not {len(ids)}"))
        if min_len is not None and len(ids) < min_len:
            errors.append((n, f"vote names {len(ids)} project(s), fewer than min_length {min_len}"))
        if max_len is not None and len(ids) > max_len:
            errors.append((n, f"vote names {len(ids)} project(s), more than max_length {max_len}"))
        if max_sum_cost is not None and not unknown:
            total = sum((costs[pid] or 0 for pid in ids), Decimal(0))
            if total > max_sum_cost:
                errors.append((n, f"the voted projects cost {total}, more than max_sum_cost {max_sum_cost}"))
        if pointed:
            if "points" not in row:
                errors.append((n, f"a {vote_type} vote needs a points column"))
                continue
            raw = row["points"]
            pts_text = [part.strip() for part in raw.split(",")] if raw.strip() else []
            if len(pts_text) != len(ids):
                errors.append((n, f"{len(pts_text)} points for {len(ids)} voted project(s)"))
                continue
            pts = [_int(t) for t in pts_text]
            if any(p is None or p < 0 for p in pts):
                errors.append((n, f"points must be whole numbers of at least 0: {raw!r}"))
                continue
            values = [p for p in pts if p is not None]
            if min_pts is not None and any(p < min_pts for p in values):
                errors.append((n, f"points below min_points {min_pts}"))
            if max_pts is not None and any(p > max_pts for p in values):
                errors.append((n, f"points above max_points {max_pts}"))
            if min_sum is not None and sum(values) < min_sum:
                errors.append((n, f"{sum(values)} points in total, fewer than min_sum_points {min_sum}"))
            if max_sum is not None and sum(values) > max_sum:
                errors.append((n, f"{sum(values)} points in total, more than max_sum_points {max_sum}"))
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
