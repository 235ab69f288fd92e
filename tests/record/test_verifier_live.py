"""The independent verifier (no Flask) against the log the platform really serves over HTTP: it
passes on a fresh demo, and catches each kind of tampering done directly in the database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, text

from decidim_py.db import db
from decidim_py.demo import seed_demo
from decidim_py.tenancy import Organization
from decidim_py.testing import make_app, make_process
from decidim_py.transparency import merkle
from decidim_py.transparency.log import TileStore, _sign, integrate, latest_checkpoint
from decidim_py.transparency.models import LogEntry
from decidim_py.transparency.verifier import main as verifier

from ..identity.live import LiveApp, free_port

TABLES = ("transparency_entries", "transparency_tiles", "transparency_checkpoints")


@pytest.fixture
def live(database_url) -> Iterator[tuple[LiveApp, Organization]]:
    port = free_port()
    app = make_app(database_url, IDENTITY_SECRET="i", PERSON_SECRET="p", ENCRYPTION_SECRET="e", LOG_SECRET="l")
    ctx = app.app_context()
    ctx.push()
    seed_demo("127.0.0.1")
    db.session.commit()
    org = db.session.scalar(select(Organization))
    integrate(org)
    server = LiveApp(app, port)
    try:
        yield server, org
    finally:
        server.stop()
        db.session.remove()
        ctx.pop()
        app.extensions["decidim_db"].engine.dispose()


def _run(server: LiveApp, key: str, state, *extra: str) -> int:
    return verifier(["verify", "--log", f"{server.base}/transparency/log", "--key", key, "--state", str(state),
                     *extra])


def _key(org: Organization) -> str:
    from decidim_py.transparency.log import all_keys

    db.session.rollback()  # see what the integrator committed on its own connection
    return all_keys(db.session, org.id)[0].verifier_key


def _unprotect() -> None:
    """What an attacker with database access would do first: switch the triggers off."""
    if db.session.get_bind().dialect.name == "sqlite":
        for name in ("transparency_entries_no_update", "transparency_entries_no_delete", "transparency_tiles_grow_only",
                     "transparency_tiles_no_delete", "transparency_checkpoints_no_update",
                     "transparency_checkpoints_no_delete"):
            db.session.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
    else:
        for table in TABLES:
            db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    db.session.commit()


def test_verifier_passes_on_a_fresh_demo_and_again_after_new_decisions(live, tmp_path, capsys):
    server, org = live
    state = tmp_path / "state.json"
    assert _run(server, _key(org), state) == 0
    make_process(org, steps=2)
    db.session.commit()
    integrate(org)
    assert _run(server, _key(org), state) == 0  # incremental: consistent with what was verified
    db.session.rollback()
    index = latest_checkpoint(db.session, org.id).size - 1
    assert verifier(["inclusion", "--log", f"{server.base}/transparency/log", "--key", _key(org),
                     "--index", str(index)]) == 0
    import requests

    receipt = tmp_path / "receipt.json"
    receipt.write_bytes(requests.get(f"{server.base}/transparency/log/receipt/{index}", timeout=10).content)
    assert verifier(["receipt", str(receipt), "--key", _key(org)]) == 0
    receipt.write_text(receipt.read_text().replace('"kind\\":\\"processes', '"kind\\":\\"xprocesses'))
    assert verifier(["receipt", str(receipt), "--key", _key(org)]) != 0


@pytest.mark.parametrize("tamper", ["entry", "tile", "deleted_entry"])
def test_direct_sql_tampering_is_caught(live, tmp_path, tamper):
    server, org = live
    key = _key(org)
    _unprotect()
    if tamper == "entry":
        db.session.execute(text("UPDATE transparency_entries SET entry = :e WHERE \"index\" = 3"),
                           {"e": b'{"kind":"processes.process.publish","schema":1}'})
    elif tamper == "tile":
        first_tile = "SELECT id, data FROM transparency_tiles WHERE level = 0 ORDER BY id LIMIT 1"
        row = db.session.execute(text(first_tile)).one()
        db.session.execute(text("UPDATE transparency_tiles SET data = :d WHERE id = :i"),
                           {"d": bytes(32) + row.data[32:], "i": row.id})
    else:
        db.session.execute(text("DELETE FROM transparency_entries WHERE \"index\" = 5"))
    db.session.commit()
    assert _run(server, key, tmp_path / "state.json") == 1


def test_a_rolled_back_checkpoint_is_caught(live, tmp_path, capsys):
    server, org = live
    key, state = _key(org), tmp_path / "state.json"
    make_process(org, steps=1)
    db.session.commit()
    integrate(org)
    assert _run(server, key, state) == 0
    _unprotect()
    db.session.rollback()
    newest = latest_checkpoint(db.session, org.id)
    db.session.execute(text("DELETE FROM transparency_checkpoints WHERE id = :i"), {"i": newest.id})
    db.session.commit()
    assert _run(server, key, state) == 1
    assert "ROLLBACK" in capsys.readouterr().out


def test_a_re_signed_forked_history_is_caught(live, tmp_path, capsys):
    """An insider with the signing key rewrites an old decision, rebuilds the tree and signs it."""
    server, org = live
    key, state = _key(org), tmp_path / "state.json"
    assert _run(server, key, state) == 0
    _unprotect()
    db.session.execute(text("UPDATE transparency_entries SET entry = :e WHERE \"index\" = 2"),
                       {"e": b'{"kind":"processes.process.create","schema":1,"rewritten":true}'})
    db.session.execute(text("DELETE FROM transparency_tiles"))
    db.session.commit()
    store = TileStore(db.session, org.id)
    leaves = [merkle.leaf_hash(e) for e in db.session.scalars(select(LogEntry.entry).order_by(LogEntry.index))]
    for level, index, value in merkle.append_batch(0, leaves, store.get):
        store.put(level, index, value)
    store.flush()
    db.session.execute(text("DELETE FROM transparency_checkpoints"))
    _sign(db.session, org, len(leaves), merkle.tree_hash(len(leaves), store.get))
    db.session.commit()
    assert _run(server, key, state) == 1
    out = capsys.readouterr().out
    assert "FORK" in out
