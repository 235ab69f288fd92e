"""Importing proposals from a CSV or JSON file (admin, issue 5 part 7), and the JSON export.

The formats are the exports' (admin.py `export_rows`): CSV with a header line (";" or ","
separated, UTF-8), or JSON: an array of objects, one per line as the export writes it. Columns
used: `title`, `body` (required), `state`, `answer`, `cost`, `state_published_at` (an answer is
published when this column is not empty; without the column, as the phase's "publish answers
immediately" says). Other columns (id, reference, supports, dates) are ignored; rows of withdrawn
or hidden proposals (`withdrawn_at` / `hidden_at` not empty) are skipped: a hidden text is not
republished by an import.

All or nothing: every row is checked first and every bad row is reported with its line number;
when one is bad, nothing is written. Imported proposals are official (no author), published at
once; each is recorded like an official proposal (and its answer like an answer), and the import
itself is one more decision on the component (how many, the file's SHA-256).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _

from decidim_py.components import Component
from decidim_py.errors import InvalidState
from decidim_py.permissions import require
from decidim_py.transparency import Visibility, record

from . import services
from .models import ProposalState

MAX_ROWS = 5000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # what the CSV export neutralises with a "'"


@dataclass
class RowError:
    line: int
    messages: list[str]

    def __str__(self) -> str:
        return str(_("Line %(line)d: %(problems)s", line=self.line, problems=" ".join(self.messages)))


class ImportInvalid(InvalidState):
    """The file cannot be imported: every problem, by line. Nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(_("Nothing was imported: %(n)d lines have problems.", n=len(errors)))
        self.errors = errors


@dataclass
class ImportResult:
    imported: int = 0
    skipped: int = 0
    proposal_ids: list[int] = field(default_factory=list)


@dataclass
class _Row:
    line: int
    values: dict[str, Any]


# --- parsing ------------------------------------------------------------------------------------


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportInvalid([RowError(1, [str(_("The file is not UTF-8 text."))])]) from None


def _unneutralise(value: str) -> str:
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_PREFIXES:
        return value[1:]
    return value


def parse_csv(data: bytes) -> list[_Row]:
    text = _text(data)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        missing = [c for c in ("title", "body") if c not in header]
        if missing:
            raise ImportInvalid([RowError(1, [str(_("The header line needs the columns %(columns)s.",
                                                     columns=", ".join(missing)))])])
        reader.fieldnames = header
        rows = []
        start = reader.line_num + 1
        for raw in reader:
            values = {k: _unneutralise(v) if isinstance(v, str) else v for k, v in raw.items() if k}
            if any((v or "").strip() for v in values.values() if isinstance(v, str)):
                rows.append(_Row(start, values))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportInvalid([RowError(reader.line_num or 1, [str(_("This is not valid CSV: %(error)s",
                                                                     error=str(exc)))])]) from None
    return rows


def parse_json(data: bytes) -> list[_Row]:
    """An array of objects; each row's line is where its object starts."""
    text = _text(data)
    decoder = json.JSONDecoder()

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    def fail(pos: int, message: Any) -> ImportInvalid:
        return ImportInvalid([RowError(line_of(pos), [str(message)])])

    def skip_ws(pos: int) -> int:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        return pos

    pos = skip_ws(0)
    if pos >= len(text) or text[pos] != "[":
        raise fail(pos, _("The file must hold a JSON array of proposals."))
    rows: list[_Row] = []
    pos = skip_ws(pos + 1)
    if pos < len(text) and text[pos] == "]":
        return rows
    while True:
        try:
            item, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ImportInvalid([RowError(exc.lineno, [str(_("This is not valid JSON: %(error)s",
                                                             error=exc.msg))])]) from None
        if not isinstance(item, dict):
            raise fail(pos, _("Each proposal must be a JSON object."))
        rows.append(_Row(line_of(pos), {str(k).lower(): v for k, v in item.items()}))
        pos = skip_ws(end)
        if pos < len(text) and text[pos] == ",":
            pos = skip_ws(pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            break
        raise fail(pos, _("This is not valid JSON: a comma or the end of the array is missing."))
    if skip_ws(pos + 1) != len(text):
        raise fail(pos + 1, _("There is something after the end of the array."))
    return rows


# --- checking and writing -----------------------------------------------------------------------


def _str(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


@dataclass
class _Checked:
    data: services.ProposalData
    state: ProposalState
    answer: str | None
    cost: int | None
    published: bool | None  # None: as the phase says


def _check(component: Component, row: _Row, has_published_column: bool) -> _Checked | RowError | None:
    v = row.values
    if _str(v.get("withdrawn_at")).strip() or _str(v.get("hidden_at")).strip():
        return None  # skipped
    problems: list[str] = []
    clean = services.ProposalData(_str(v.get("title")), _str(v.get("body")))
    try:
        clean = services.validate(component, clean)
    except InvalidState as exc:
        problems.append(str(exc.message))
    cost: int | None = None
    raw_cost = _str(v.get("cost")).strip()
    if raw_cost:
        try:
            cost = int(raw_cost)
        except ValueError:
            problems.append(str(_("The cost must be a whole number.")))
    state_value = _str(v.get("state")).strip().lower() or ProposalState.NOT_ANSWERED.value
    state, answer = ProposalState.NOT_ANSWERED, None
    try:
        state, answer, cost = services.validate_answer(component, state_value, _str(v.get("answer")), cost)
    except InvalidState as exc:
        problems.append(str(exc.message))
    if problems:
        return RowError(row.line, problems)
    published = bool(_str(v.get("state_published_at")).strip()) if has_published_column else None
    return _Checked(clean, state, answer, cost if state == ProposalState.ACCEPTED else None, published)


def import_proposals(actor: Any, component: Component, data: bytes, fmt: str) -> ImportResult:
    """Import the proposals of a CSV or JSON file into `component` (see the module's docstring)."""
    require(actor, "proposals.proposal.import", component)
    if fmt not in ("csv", "json"):
        raise InvalidState(_("Choose CSV or JSON."))
    rows = parse_csv(data) if fmt == "csv" else parse_json(data)
    if not rows:
        raise InvalidState(_("The file has no proposals."))
    if len(rows) > MAX_ROWS:
        raise InvalidState(_("A file can hold at most %(max)d proposals.", max=MAX_ROWS))
    has_published_column = any("state_published_at" in r.values for r in rows)
    checked: list[_Checked] = []
    errors: list[RowError] = []
    skipped = 0
    for row in rows:
        result = _check(component, row, has_published_column)
        if result is None:
            skipped += 1
        elif isinstance(result, RowError):
            errors.append(result)
        else:
            checked.append(result)
    if errors:
        raise ImportInvalid(errors)
    outcome = ImportResult(skipped=skipped)
    immediately = bool(component.current_settings.publish_answers_immediately)
    for item in checked:
        outcome.proposal_ids.append(_write(actor, component, item, immediately).id)
    outcome.imported = len(checked)
    record(actor, "proposals.proposal.import", component, component=component,
           changes={"format": fmt, "imported": outcome.imported, "skipped": skipped,
                    "file_sha256": hashlib.sha256(data).hexdigest()})
    return outcome


def _write(actor: Any, component: Component, item: _Checked, immediately: bool) -> Any:
    from decidim_py.db import db, utcnow

    proposal = services.new_official(component, item.data)
    record(actor, "proposals.proposal.publish", proposal, component=component,
           changes={"reference": proposal.reference, "official": True, "imported": True,
                    "title_sha256": services.sha256(proposal.title), "body_sha256": services.sha256(proposal.body)})
    if item.state == ProposalState.NOT_ANSWERED:
        return proposal
    proposal.internal_state, proposal.answer, proposal.cost = item.state, item.answer, item.cost
    proposal.answered_at = utcnow()
    published = immediately if item.published is None else item.published
    if published:
        proposal.state_published_at = proposal.answered_at
    db.session.flush()
    record(actor, "proposals.proposal.answer", proposal, component=component,
           changes=services._answer_changes(proposal),
           visibility=Visibility.PUBLIC if published else Visibility.ADMIN)
    return proposal


# --- export as JSON -----------------------------------------------------------------------------


def export_json(rows: list[dict[str, Any]]) -> str:
    """The export rows as a JSON array, one proposal per line (so an import names its lines);
    empty values are null."""
    lines = [json.dumps({k: (None if v == "" else v) for k, v in row.items()}, ensure_ascii=False)
             for row in rows]
    if not lines:
        return "[]\n"
    return "[\n" + ",\n".join(lines) + "\n]\n"
