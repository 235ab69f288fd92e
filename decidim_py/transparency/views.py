"""The public record: decision pages, filters, Atom feed, the explainer, and the log's C2SP
endpoints (checkpoint, tiles, entry bundles), proofs and receipts."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, time
from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request, url_for
from flask_babel import lazy_gettext as _
from sqlalchemy import select

from ..db import db
from ..tenancy import current_organization
from . import merkle, tiles
from .entries import public_content
from .kinds import get_kind, kinds
from .log import TILE_WIDTH, TileStore, all_keys, latest_checkpoint, origin_for
from .models import DecisionRecord, LogEntry, Visibility

bp = Blueprint("transparency", __name__, url_prefix="/transparency")
PER_PAGE = 30
IMMUTABLE = "public, max-age=31536000, immutable"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _entries_query(org_id: int) -> Any:
    q = (select(LogEntry, DecisionRecord).join(DecisionRecord, DecisionRecord.id == LogEntry.record_id)
         .where(LogEntry.organization_id == org_id))
    args = request.args
    if args.get("kind"):
        q = q.where(LogEntry.kind == args["kind"])
    for name, column in (("process", DecisionRecord.space_id), ("component", DecisionRecord.component_id)):
        try:
            value = int(args.get(name, ""))
        except ValueError:
            continue
        q = q.where(column == value)
        if name == "process":
            q = q.where(DecisionRecord.space_type == "processes")
    for name, op in (("from", "ge"), ("to", "le")):
        try:
            day = date.fromisoformat(args.get(name, ""))
        except ValueError:
            continue
        moment = datetime.combine(day, time.max if op == "le" else time.min).astimezone()
        q = q.where(DecisionRecord.created_at >= moment if op == "ge" else DecisionRecord.created_at <= moment)
    return q.order_by(LogEntry.index.desc())


@bp.get("/")
def index() -> Any:
    org = current_organization()
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    rows = db.session.execute(_entries_query(org.id).limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)).all()
    from ..spaces import space_type

    processes = db.session.scalars(select(space_type("processes").model).where(
        space_type("processes").model.organization_id == org.id,
        space_type("processes").model.published_at.is_not(None)).order_by(space_type("processes").model.id)).all()
    checkpoint = latest_checkpoint(db.session, org.id)
    return render_template("transparency/index.html", rows=rows[:PER_PAGE], has_next=len(rows) > PER_PAGE,
                           page=page, kinds=kinds(), processes=processes, checkpoint=checkpoint,
                           args=request.args, kind_label=_kind_label, role_label=role_label,
                           page_args={k: v for k, v in request.args.items() if k != "page"})


def _entry_or_404(index: int) -> tuple[LogEntry, DecisionRecord | None]:
    org = current_organization()
    entry = db.session.scalar(select(LogEntry).where(LogEntry.organization_id == org.id, LogEntry.index == index))
    if entry is None:
        abort(404)
    record = db.session.get(DecisionRecord, entry.record_id) if entry.record_id else None
    return entry, record


@bp.get("/<int:index>")
def show(index: int) -> Any:
    entry, record = _entry_or_404(index)
    data = json.loads(entry.entry)
    content = public_content(record) if record is not None else {}
    superseded_by = db.session.scalar(select(LogEntry.index).where(
        LogEntry.organization_id == entry.organization_id, LogEntry.kind == entry.kind,
        LogEntry.index > entry.index).where(LogEntry.entry.contains(f'"supersedes":{entry.index}'.encode()))
        .limit(1))
    return render_template("transparency/show.html", entry=entry, data=data, record=record, content=content,
                           content_json=json.dumps(content, ensure_ascii=False, indent=1, sort_keys=True),
                           leaf_hash=merkle.leaf_hash(entry.entry).hex(), kind=_kind_label(entry.kind),
                           is_public=record is not None and record.visibility == Visibility.PUBLIC,
                           superseded_by=superseded_by, resource_url=_resource_url(record),
                           role_label=role_label)


ROLE_LABELS = {
    "system": _("The platform (automatic)"),
    "organization_admin": _("An organisation administrator"),
    "host_admin": _("An administrator of the host"),
    "space_admin": _("An administrator of the process"),
    "space_moderator": _("A moderator of the process"),
    "space_evaluator": _("An evaluator of the process"),
    "space_collaborator": _("A collaborator of the process"),
    "participant": _("A participant"),
}


def role_label(role: str) -> Any:
    return ROLE_LABELS.get(role, role)


def _kind_label(name: str) -> Any:
    try:
        return get_kind(name).label
    except LookupError:
        return name


def _resource_url(record: DecisionRecord | None) -> str | None:
    if record is None or record.visibility != Visibility.PUBLIC or record.space_type != "processes":
        return None
    from ..spaces import get_space

    space = get_space("processes", record.space_id) if record.space_id else None
    if space is None or not space.is_published:
        return None
    return url_for("processes.show", slug=space.slug)


@bp.get("/feed.atom")
def feed() -> Any:
    org = current_organization()
    rows = db.session.execute(_entries_query(org.id).limit(50)).all()
    body = render_template("transparency/feed.atom", rows=rows, org=org, kind_label=_kind_label,
                           updated=rows[0][1].created_at if rows else None)
    return Response(body, mimetype="application/atom+xml")


@bp.get("/about")
def about() -> Any:
    org = current_organization()
    keys = all_keys(db.session, org.id)
    return render_template("transparency/about.html", origin=origin_for(org), keys=keys,
                           log_url=url_for("transparency.checkpoint", _external=True).rsplit("/", 1)[0])


# --- the log (C2SP tlog-tiles, tlog-checkpoint, signed-note) -----------------------------------


@bp.get("/log/checkpoint")
def checkpoint() -> Any:
    org = current_organization()
    cp = latest_checkpoint(db.session, org.id)
    if cp is None:
        abort(404)
    return Response(cp.note, mimetype="text/plain", headers={"Cache-Control": "no-cache, max-age=5"})


@bp.get("/log/tile/<path:path>")
def tile(path: str) -> Any:
    org = current_organization()
    cp = latest_checkpoint(db.session, org.id)
    try:
        parsed = tiles.parse_tile_path("tile/" + path)
    except ValueError:
        abort(404)
    if cp is None:
        abort(404)
    if parsed.is_entries:
        return _entries_bundle(org.id, cp.size, parsed.index, parsed.width)
    # A full tile, or a partial one of exactly the width the current tree gives it, is served; a
    # partial tile is a prefix of the later full one, so every served tile is immutable.
    available = tiles.level_count(cp.size, parsed.level) - parsed.index * TILE_WIDTH
    if available <= 0 or parsed.width > available:
        abort(404)
    data = TileStore(db.session, org.id).tile(parsed.level, parsed.index)
    if len(data) < parsed.width * 32:
        abort(404)
    return Response(data[: parsed.width * 32], mimetype="application/octet-stream",
                    headers={"Cache-Control": IMMUTABLE})


def _entries_bundle(org_id: int, size: int, index: int, width: int) -> Response:
    start = index * TILE_WIDTH
    want = width
    if start + want > size:
        abort(404)
    rows = db.session.scalars(select(LogEntry.entry).where(
        LogEntry.organization_id == org_id, LogEntry.index >= start, LogEntry.index < start + want)
        .order_by(LogEntry.index)).all()
    return Response(tiles.encode_bundle(list(rows)), mimetype="application/octet-stream",
                    headers={"Cache-Control": IMMUTABLE})


@bp.get("/log/log-info")
def log_info() -> Any:
    org = current_organization()
    keys = all_keys(db.session, org.id)
    return jsonify({
        "origin": origin_for(org),
        "public_keys": [k.verifier_key for k in keys if k.retired_at is None],
        "retired_keys": [k.verifier_key for k in keys if k.retired_at is not None],
        "hash": "SHA-256", "tree": "RFC 9162 §2.1", "entry_format": "RFC 8785 canonical JSON",
        "tile_height": 8,
        "schemas": {k.name: k.as_schema() for k in kinds()},
    })


def _size_arg(name: str, cp_size: int) -> int:
    try:
        value = int(request.args.get(name, cp_size))
    except ValueError:
        abort(400)
    if value < 0 or value > cp_size:
        abort(400)
    return value


@bp.get("/log/api/entries/<int:index>")
def api_entry(index: int) -> Any:
    entry, _record = _entry_or_404(index)
    return jsonify({"index": entry.index, "entry": entry.entry.decode("utf-8"),
                    "leaf_hash": _b64(merkle.leaf_hash(entry.entry))})


@bp.get("/log/api/proof/inclusion")
def api_inclusion() -> Any:
    org = current_organization()
    cp = latest_checkpoint(db.session, org.id)
    if cp is None:
        abort(404)
    size = _size_arg("size", cp.size)
    try:
        index = int(request.args.get("index", ""))
    except ValueError:
        abort(400)
    if not 0 <= index < size:
        abort(400)
    proof = _proof(merkle.inclusion_proof, org.id, index, size)
    return jsonify({"index": index, "size": size, "proof": proof})


@bp.get("/log/api/proof/consistency")
def api_consistency() -> Any:
    org = current_organization()
    cp = latest_checkpoint(db.session, org.id)
    if cp is None:
        abort(404)
    new = _size_arg("new", cp.size)
    old = _size_arg("old", new)
    proof = _proof(merkle.consistency_proof, org.id, old, new)
    return jsonify({"old": old, "new": new, "proof": proof})


def _proof(make: Any, org_id: int, a: int, b: int) -> list[str]:
    """An RFC 9162 proof from the stored tiles, base64; a request the RFC does not define is a 400."""
    try:
        return [_b64(h) for h in make(a, b, get_many=TileStore(db.session, org_id).get_many)]
    except ValueError:
        abort(400)


@bp.get("/log/receipt/<int:index>")
def receipt(index: int) -> Any:
    """A downloadable receipt: the entry, a signed checkpoint and the inclusion proof."""
    entry, _record = _entry_or_404(index)
    org = current_organization()
    cp = latest_checkpoint(db.session, org.id)
    assert cp is not None and cp.size > index
    body = {"origin": origin_for(org), "index": index, "entry": entry.entry.decode("utf-8"),
            "checkpoint": cp.note, "proof": _proof(merkle.inclusion_proof, org.id, index, cp.size)}
    response = jsonify(body)
    response.headers["Content-Disposition"] = f'attachment; filename="decision-{index}-receipt.json"'
    return response


def entry_for_record(record_id: int) -> int | None:
    """The log index of a decision, for links from elsewhere on the site."""
    return db.session.scalar(select(LogEntry.index).where(LogEntry.record_id == record_id))


__all__ = ["bp", "entry_for_record", "_"]
