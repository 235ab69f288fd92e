"""The verifiable public record on the database: outbox, integrator, tiles, checkpoints, triggers,
serving, pages, erasure, key rotation — and the verifier against the served log."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from decidim_py.accounts.system import SystemActor
from decidim_py.db import db
from decidim_py.testing import login_as, make_admin, make_process, make_user
from decidim_py.transparency import merkle, note
from decidim_py.transparency.canonical import parse_entry
from decidim_py.transparency.log import integrate, latest_checkpoint
from decidim_py.transparency.models import LogCheckpoint, LogEntry, LogOpening, LogOutbox, LogTile


@pytest.fixture(autouse=True)
def keys(app):
    app.config.update(IDENTITY_SECRET="i", PERSON_SECRET="p", ENCRYPTION_SECRET="e", LOG_SECRET="log")
    app.extensions.pop("decidim_keys", None)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_decision_is_covered_by_a_signed_checkpoint_after_its_request(app, org, client):
    admin = make_admin(org)
    make_process(org, slug="published-one", steps=2, published=False)
    db.session.commit()
    integrate(org)
    before = latest_checkpoint(db.session, org.id).size
    login_as(client, admin)
    assert client.post("/admin/processes/published-one/publish").status_code == 303
    db.session.rollback()
    db.session.expire_all()
    cp = latest_checkpoint(db.session, org.id)
    assert cp.size == before + 1 and _count(LogOutbox) == 0  # integrated inline, right after the commit
    entry = db.session.scalar(select(LogEntry).where(LogEntry.index == before))
    data = parse_entry(entry.entry)
    assert data["kind"] == "processes.process.publish" and data["actor"]["role"] == "organization_admin"
    assert "@" not in entry.entry.decode() and admin.nickname not in entry.entry.decode()
    # the checkpoint is a signed note that verifies with the published key
    info = client.get("/transparency/log/log-info").get_json()
    body, names = note.open_note(client.get("/transparency/log/checkpoint").get_data(as_text=True),
                                 info["public_keys"])
    checkpoint = note.parse_checkpoint(body)
    assert checkpoint.origin == f"{org.host}/transparency/log" and checkpoint.size == cp.size
    proof = client.get(f"/transparency/log/api/proof/inclusion?index={before}&size={cp.size}").get_json()
    assert merkle.verify_inclusion(merkle.leaf_hash(entry.entry), before, cp.size,
                                   [base64.b64decode(p) for p in proof["proof"]], checkpoint.root)


def test_a_rolled_back_decision_leaves_no_entry(app, org, client):
    admin = make_admin(org)
    make_process(org, slug="already", steps=1)
    db.session.commit()
    integrate(org)
    size = latest_checkpoint(db.session, org.id).size
    login_as(client, admin)
    assert client.post("/admin/processes/already/publish").status_code == 409
    db.session.rollback()
    assert latest_checkpoint(db.session, org.id).size == size and _count(LogOutbox) == 0


def test_a_crash_between_commit_and_integration_loses_nothing(app, org):
    app.config["LOG_INTEGRATE_INLINE"] = False
    make_process(org, steps=3)
    db.session.commit()
    pending = _count(LogOutbox)
    assert pending >= 5 and _count(LogEntry) == 0
    result = app.test_cli_runner().invoke(args=["transparency", "integrate"])  # the worker, after a restart
    assert result.exit_code == 0, result.output
    db.session.rollback()
    assert _count(LogOutbox) == 0 and _count(LogEntry) == pending
    assert latest_checkpoint(db.session, org.id).size == pending


def test_entries_and_checkpoints_are_append_only_and_tiles_only_grow(app, org):
    make_process(org, steps=2)
    db.session.commit()
    integrate(org)
    for statement in ("UPDATE transparency_entries SET kind = 'x'", "DELETE FROM transparency_entries",
                      "UPDATE transparency_checkpoints SET size = 99", "DELETE FROM transparency_checkpoints",
                      "UPDATE transparency_tiles SET data = X'00'", "DELETE FROM transparency_tiles"):
        with pytest.raises(DBAPIError):
            db.session.execute(text(statement))
        db.session.rollback()
    tile = db.session.scalar(select(LogTile))
    tile.data = tile.data + b"\x00" * 32  # growing as a prefix is what the integrator does
    db.session.flush()
    db.session.rollback()


def test_many_batches_and_every_proof_verifies(app, org):
    app.config["LOG_INTEGRATE_INLINE"] = False
    system = SystemActor(org.id)
    from decidim_py.transparency import record

    for i in range(600):  # three batches of 256 and more, crossing a tile boundary
        record(system, "processes.process.update", org, organization_id=org.id, changes={"n": i})
    db.session.commit()
    result = integrate(org)
    assert result.integrated == 600 and result.size == 600
    assert db.session.scalar(select(func.count()).select_from(LogCheckpoint)) >= 3
    rows = db.session.scalars(select(LogEntry).order_by(LogEntry.index)).all()
    leaves = [merkle.leaf_hash(r.entry) for r in rows]
    from decidim_py.transparency.log import TileStore

    get = TileStore(db.session, org.id).get
    for size in (1, 255, 256, 257, 511, 512, 600):
        root = merkle.tree_hash(size, get)
        for index in (0, size // 2, size - 1):
            assert merkle.verify_inclusion(leaves[index], index, size, merkle.inclusion_proof(index, size, get), root)
        assert merkle.verify_consistency(size, 600, root, result.root, merkle.consistency_proof(size, 600, get))


def test_the_integrator_refuses_to_sign_over_a_tampered_tree(app, org):
    make_process(org, steps=1)
    db.session.commit()
    integrate(org)
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("DROP TRIGGER transparency_tiles_grow_only"))
    else:
        db.session.execute(text("ALTER TABLE transparency_tiles DISABLE TRIGGER transparency_tiles_grow_only"))
    forged = "ab" * 32
    db.session.execute(text(f"UPDATE transparency_tiles SET data = CAST(X'{forged}' || substr(data, 33) AS BLOB)"
                            if db.session.get_bind().dialect.name == "sqlite" else
                            "UPDATE transparency_tiles SET data = overlay(data placing '\\x" + "ab" * 32
                            + "'::bytea from 1 for 32)"))
    db.session.commit()
    make_process(org, steps=1)
    db.session.commit()
    with pytest.raises(RuntimeError, match="refusing to sign"):
        integrate(org)


def test_public_pages_feed_and_explainer(app, org, client):
    make_process(org, slug="visible", title={"en": "Visible plan"}, steps=2)
    db.session.commit()
    integrate(org)
    html = client.get("/transparency/").get_data(as_text=True)
    assert "Process published" in html and "#0" in html
    cp = latest_checkpoint(db.session, org.id)
    last = cp.size - 1
    page = client.get(f"/transparency/{last}").get_data(as_text=True)
    assert "content_sha256" in page and "Download the receipt" in page
    assert client.get("/transparency/99999").status_code == 404
    filtered = client.get("/transparency/?kind=processes.step.create").get_data(as_text=True)
    assert "Phase added" in filtered and "Process published" not in filtered.split("<tbody>")[1]
    feed = client.get("/transparency/feed.atom")
    assert feed.mimetype == "application/atom+xml" and b"<entry>" in feed.data
    for locale, words in (("en", "What the public record guarantees"), ("ca", "Què garanteix"),
                          ("es", "Qué garantiza")):
        client.set_cookie("decidim_locale", locale, domain=client.host)
        assert words in client.get("/transparency/about").get_data(as_text=True)
    # the process page links to its publication entry
    client.set_cookie("decidim_locale", "en", domain=client.host)
    assert "/transparency/" in client.get("/processes/visible").get_data(as_text=True)


def test_tiles_and_bundles_are_served_as_c2sp_says(app, org, client):
    app.config["LOG_INTEGRATE_INLINE"] = False
    from decidim_py.transparency import record

    for i in range(300):
        record(SystemActor(org.id), "processes.process.update", org, organization_id=org.id, changes={"n": i})
    db.session.commit()
    integrate(org)
    full = client.get("/transparency/log/tile/0/000")
    assert full.status_code == 200 and len(full.data) == 256 * 32 and "immutable" in full.headers["Cache-Control"]
    part = client.get("/transparency/log/tile/0/001.p/44")
    assert part.status_code == 200 and len(part.data) == 44 * 32
    assert client.get("/transparency/log/tile/0/001").status_code == 404  # not full yet
    assert client.get("/transparency/log/tile/0/001.p/45").status_code == 404
    bundle = client.get("/transparency/log/tile/entries/001.p/44")
    from decidim_py.transparency import tiles

    entries = tiles.decode_bundle(bundle.data)
    assert len(entries) == 44 and json.loads(entries[0])["kind"] == "processes.process.update"
    receipt = client.get("/transparency/log/receipt/299").get_json()
    assert receipt["index"] == 299 and receipt["checkpoint"].startswith(f"{org.host}/transparency/log\n300\n")


def test_erasure_deletes_openings_and_appends_a_redaction(app, org):
    from datetime import date

    from decidim_py.accounts.models import User
    from decidim_py.identity.services import create_managed_participant
    from decidim_py.transparency.erasure import erase_openings

    clerk = make_admin(org)
    user, _ = create_managed_participant(clerk, org, name="M", nickname="mm", national_id="X1234567",
                                         postal_code=None, birthdate=date(1960, 1, 1), document_checked=True)
    db.session.commit()
    integrate(org)
    root_before = latest_checkpoint(db.session, org.id)
    entry = db.session.scalar(select(LogEntry).where(LogEntry.kind == "identity.managed.create"))
    commitment = json.loads(entry.entry)["subject"]["commitment"]
    assert db.session.scalar(select(LogOpening).where(LogOpening.commitment == commitment)).user_id == user.id
    assert erase_openings(clerk, db.session.get(User, user.id)) == 1
    db.session.commit()
    integrate(org)
    assert _count(LogOpening) == 0
    redaction = db.session.scalar(select(LogEntry).where(LogEntry.kind == "log.redaction"))
    assert redaction is not None and redaction.index >= root_before.size
    # the tree is untouched: the old checkpoint is consistent with the new one
    from decidim_py.transparency.log import TileStore

    get = TileStore(db.session, org.id).get
    new = latest_checkpoint(db.session, org.id)
    assert merkle.verify_consistency(root_before.size, new.size, root_before.root, new.root,
                                     merkle.consistency_proof(root_before.size, new.size, get))


def test_key_rotation_dual_signs_the_overlap(app, org, client):
    from decidim_py.transparency.keys import finish_rotation, start_rotation

    make_process(org, steps=1)
    db.session.commit()
    integrate(org)
    old_key = client.get("/transparency/log/log-info").get_json()["public_keys"][0]
    new = start_rotation(org)
    db.session.commit()
    integrate(org)
    cp_note = client.get("/transparency/log/checkpoint").get_data(as_text=True)
    assert note.open_note(cp_note, [old_key])[1] and note.open_note(cp_note, [new.verifier_key])[1]
    assert cp_note.count("\u2014 ") == 2
    assert db.session.scalar(select(LogEntry).where(LogEntry.kind == "log.key_rotated")) is not None
    finish_rotation(org)
    make_process(org, steps=1)
    db.session.commit()
    integrate(org)
    cp_note = client.get("/transparency/log/checkpoint").get_data(as_text=True)
    assert cp_note.count("\u2014 ") == 1 and note.open_note(cp_note, [new.verifier_key])[1]
    info = client.get("/transparency/log/log-info").get_json()
    assert info["public_keys"] == [new.verifier_key] and info["retired_keys"] == [old_key]


def test_concurrent_integrators_run_one_at_a_time(app, org):
    """Several workers integrating at once: every entry once, every checkpoint extends the last."""
    import threading

    from decidim_py.transparency import record

    app.config["LOG_INTEGRATE_INLINE"] = False
    for i in range(700):
        record(SystemActor(org.id), "processes.process.update", org, organization_id=org.id, changes={"n": i})
    db.session.commit()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                integrate(org)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    db.session.rollback()
    indexes = db.session.scalars(select(LogEntry.index).order_by(LogEntry.index)).all()
    assert indexes == list(range(700))
    checkpoints = db.session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.size)).all()
    from decidim_py.transparency.log import TileStore

    get = TileStore(db.session, org.id, shared_cache=False).get
    for older in checkpoints:
        if older.size:
            assert merkle.verify_consistency(older.size, 700, older.root, checkpoints[-1].root,
                                             merkle.consistency_proof(older.size, 700, get))


def test_participants_never_appear_in_entries_officials_by_pseudonym(app, org):
    """A participant's act names only the role (no pseudonym, so their acts are not linkable); an
    official's act carries the role and the per-account pseudonym."""
    from proposals import services as ps
    from tests.proposals.conftest import make_component

    component = make_component(org, step={"creation_enabled": True})
    resident, admin = make_user(org), make_admin(org)
    proposal = ps.publish_proposal(resident, ps.create_proposal(
        resident, component, ps.ProposalData("A bench in the square", "Somewhere to sit in the shade, please.")))
    ps.answer_proposal(admin, proposal, "accepted", "Yes, we will.")
    db.session.commit()
    integrate(org)
    entries = {e.kind: parse_entry(e.entry) for e in db.session.scalars(select(LogEntry))}
    assert entries["proposals.proposal.publish"]["actor"] == {"role": "participant", "pseudonym": None}
    answer_actor = entries["proposals.proposal.answer"]["actor"]
    assert answer_actor["role"] != "participant" and len(answer_actor["pseudonym"]) == 20
