"""The verifier CLI against a log served over HTTP on 127.0.0.1 (built in memory with the library)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from decidim_py.transparency import canonical, note, verifier

from .fakelog import ORIGIN, FakeLog, Server, entry

SIGNER = note.Signer(ORIGIN, b"\x11" * 32)
VKEY = SIGNER.verifier().key_string()
NEW_SIGNER = note.Signer(ORIGIN, b"\x22" * 32)
NEW_VKEY = NEW_SIGNER.verifier().key_string()
PACKAGE = Path(verifier.__file__).resolve().parent


@pytest.fixture
def log() -> FakeLog:
    log = FakeLog([SIGNER])
    log.append([entry(i) for i in range(700)])
    return log


@pytest.fixture
def server(log: FakeLog) -> Iterator[Server]:
    with Server(log).running() as srv:
        yield srv


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state" / "city.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = verifier.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def verify(capsys: pytest.CaptureFixture[str], server: Server, state: Path, *extra: str) -> tuple[int, str, str]:
    return run(capsys, "verify", "--log", server.url, "--key", VKEY, "--state", str(state), *extra)


def test_verify_then_incremental(capsys: pytest.CaptureFixture[str], server: Server, log: FakeLog, state: Path) -> None:
    code, out, _ = verify(capsys, server, state)
    assert code == 0, out
    assert "OK: log city.example/transparency/log verified up to 700 entries" in out
    saved = json.loads(state.read_text())
    assert saved["size"] == 700 and saved["root"] and saved["checkpoint"] == log.notes[700]
    assert not list(state.parent.glob(".*.tmp"))

    log.append([entry(i) for i in range(700, 1000)])
    log.requests.clear()
    code, out, _ = verify(capsys, server, state)
    assert code == 0, out
    assert "verified up to 1,000 entries" in out and "extends the one you verified before" in out
    bundles = [p for p in log.requests if p.startswith("tile/entries/")]
    assert bundles == ["tile/entries/002", "tile/entries/003.p/232"]  # only those with new entries
    assert "api/proof/consistency" in log.requests

    code, out, _ = verify(capsys, server, state)
    assert code == 0 and "no new entries" in out
    assert json.loads(state.read_text())["size"] == 1000


def test_progress_for_long_runs(capsys: pytest.CaptureFixture[str], log: FakeLog, state: Path) -> None:
    log.append([entry(i) for i in range(700, 2600)])
    with Server(log).running() as srv:
        code, out, err = verify(capsys, srv, state)
    assert code == 0, out
    assert "checked" in err and "2,600 new entries (100%" in err


def test_tampered_entry_bytes(capsys: pytest.CaptureFixture[str], server: Server, log: FakeLog, state: Path) -> None:
    assert verify(capsys, server, state)[0] == 0
    log.append([entry(i) for i in range(700, 720)])
    log.served_entries[711] = log.entries[711].replace(b'"process":711', b'"process":712')
    assert log.served_entries[711] != log.entries[711]
    code, out, _ = verify(capsys, server, state)
    assert code == 1
    assert "TAMPERED ENTRIES" in out and log.notes[720] in out
    assert json.loads(state.read_text())["size"] == 700  # state untouched on failure


def test_tampered_entry_on_first_run(
    capsys: pytest.CaptureFixture[str], server: Server, log: FakeLog, state: Path
) -> None:
    log.served_entries[3] = canonical.encode_entry(entry(4))
    code, out, _ = verify(capsys, server, state)
    assert code == 1 and "TAMPERED ENTRIES" in out
    assert not state.exists()


def test_rollback(capsys: pytest.CaptureFixture[str], server: Server, log: FakeLog, state: Path) -> None:
    old_note = log.notes[700]
    log.append([entry(i) for i in range(700, 710)])
    assert verify(capsys, server, state)[0] == 0
    log.checkpoint_override = old_note  # a validly signed, older checkpoint
    code, out, _ = verify(capsys, server, state)
    assert code == 1
    assert "ROLLBACK" in out and old_note.strip() in out and log.notes[710].strip() in out


def test_fork_same_size(
    capsys: pytest.CaptureFixture[str], server: Server, log: FakeLog, state: Path, tmp_path: Path
) -> None:
    assert verify(capsys, server, state)[0] == 0
    forked = FakeLog([SIGNER])
    forked.append([entry(i, salt="f") if i == 123 else entry(i) for i in range(700)])  # one decision rewritten
    server.log = forked
    evidence = tmp_path / "evidence.json"
    code, out, _ = verify(capsys, server, state, "--evidence", str(evidence))
    assert code == 1
    assert "FORK" in out and log.notes[700].strip() in out and forked.notes[700].strip() in out
    record = json.loads(evidence.read_text())
    assert [c["note"] for c in record["checkpoints"]] == [log.notes[700], forked.notes[700]]
    # both checkpoints are genuinely signed by the log's key: that is the evidence
    for c in record["checkpoints"]:
        note.open_note(c["note"], [VKEY])


def test_fork_larger_size(capsys: pytest.CaptureFixture[str], server: Server, log: FakeLog, state: Path) -> None:
    assert verify(capsys, server, state)[0] == 0
    forked = FakeLog([SIGNER])
    forked.append([entry(i) for i in range(600)] + [entry(i, salt="f") for i in range(600, 800)])
    server.log = forked
    code, out, _ = verify(capsys, server, state)
    assert code == 1
    assert "FORK" in out and forked.notes[800].strip() in out and log.notes[700].strip() in out
    assert "consistency proof" in out


def test_bad_signatures(capsys: pytest.CaptureFixture[str], server: Server, log: FakeLog, state: Path) -> None:
    impostor = note.Signer(ORIGIN, b"\x33" * 32)
    body = note.checkpoint_body(ORIGIN, log.size, log.root())
    log.checkpoint_override = note.sign_note(body, impostor)
    code, out, _ = verify(capsys, server, state)
    assert code == 1 and "not signed by the key you trust" in out

    signed = note.sign_note(body, SIGNER)
    sig = signed.rsplit(" ", 1)[1]
    broken = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    log.checkpoint_override = signed.replace(sig, broken)
    code, out, _ = verify(capsys, server, state)
    assert code == 1 and "invalid signature" in out

    log.checkpoint_override = note.sign_note(note.checkpoint_body(ORIGIN, log.size, b"\x00" * 32), SIGNER)
    code, out, _ = verify(capsys, server, state)
    assert code == 1 and "TAMPERED" in out  # right key, wrong root: entries do not give it
    assert not state.exists()


def test_origin_must_match(capsys: pytest.CaptureFixture[str], log: FakeLog, state: Path) -> None:
    other = FakeLog([note.Signer("elsewhere.example/log", b"\x11" * 32)], origin="elsewhere.example/log")
    with Server(other).running() as srv:
        code, out, _ = run(
            capsys,
            "verify",
            "--log",
            srv.url,
            "--key",
            other.signers[0].verifier().key_string(),
            "--state",
            str(state),
            "--origin",
            ORIGIN,
        )
    assert code == 1 and "expected 'city.example/transparency/log'" in out


def test_schema_violation(capsys: pytest.CaptureFixture[str], server: Server, log: FakeLog, state: Path) -> None:
    assert verify(capsys, server, state)[0] == 0
    log.append(
        [
            entry(700),
            {"kind": "process.published", "schema": 1, "process": 1, "content_sha256": "x", "participant": "Jane Doe"},
        ]
    )
    code, out, _ = verify(capsys, server, state)
    assert code == 1
    assert "entry #701" in out and "'participant' is not allowed" in out
    log.append_raw([b'{"kind":"process.published", "schema":1}'])  # not canonical
    code, out, _ = verify(capsys, server, state)
    assert code == 1 and "entry #702" in out and "canonical" in out
    log.append_raw([canonical.encode_entry({"kind": "budget.result", "schema": 1, "budget": 1, "tally": {}})])
    code, out, _ = verify(capsys, server, state)
    assert code == 1 and "entry #703: budget.result: schema version 1" in out


def test_broken_tiles_and_proofs_are_reported(
    capsys: pytest.CaptureFixture[str], server: Server, log: FakeLog, state: Path
) -> None:
    handle = log.handle

    def bad_tiles(path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        status, ctype, body = handle(path, query)
        if path.startswith("tile/0/"):
            body = bytes(32) + body[32:]
        return status, ctype, body

    log.handle = bad_tiles  # type: ignore[method-assign]
    code, out, _ = verify(capsys, server, state)
    assert code == 1 and "tiles do not give the signed root" in out
    assert verify(capsys, server, state, "--skip-tiles")[0] == 0

    def bad_proof(path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        if path == "api/proof/consistency":
            return 200, "application/json", json.dumps({"old": 700, "new": 710, "proof": []}).encode()
        return handle(path, query)

    log.append([entry(i) for i in range(700, 710)])
    log.handle = bad_proof  # type: ignore[method-assign]
    code, out, _ = verify(capsys, server, state)
    assert code == 1 and "proof API is broken" in out


def test_log_growing_during_a_run(
    capsys: pytest.CaptureFixture[str], server: Server, log: FakeLog, state: Path
) -> None:
    """The checkpoint says 700, but by the time bundles are fetched the log has 800 entries and has
    deleted the partial tiles of size 700 whose full tile now exists: fall back to the full tile."""
    log.append([entry(i) for i in range(700, 800)])
    log.checkpoint_override = log.notes[700]
    log.drop_superseded_partials = True
    code, out, _ = verify(capsys, server, state)
    assert code == 0, out
    assert "tile/entries/002.p/188" in log.requests and "tile/entries/002" in log.requests
    assert "tile/0/002" in log.requests
    assert json.loads(state.read_text())["size"] == 700


def test_fork_without_consistency_proof(
    capsys: pytest.CaptureFixture[str], server: Server, log: FakeLog, state: Path
) -> None:
    assert verify(capsys, server, state)[0] == 0
    forked = FakeLog([SIGNER])
    forked.append([entry(i, salt="f") for i in range(710)])
    handle = forked.handle

    def no_proofs(path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        if path.startswith("api/proof/"):
            return 500, "text/plain", b"oops"
        return handle(path, query)

    forked.handle = no_proofs  # type: ignore[method-assign]
    server.log = forked
    code, out, _ = verify(capsys, server, state)
    assert code == 1 and "FORK OR TAMPERING" in out and "HTTP 500" in out


def test_key_rotation(capsys: pytest.CaptureFixture[str], server: Server, log: FakeLog, state: Path) -> None:
    assert verify(capsys, server, state)[0] == 0
    log.signers = [SIGNER, NEW_SIGNER]  # overlap: dual-signed checkpoints
    log.append([entry(i) for i in range(700, 705)])
    code, out, _ = run(capsys, "verify", "--log", server.url, "--key", NEW_VKEY, "--key", VKEY, "--state", str(state))
    assert code == 0, out
    log.signers = [NEW_SIGNER]
    log.append([entry(i) for i in range(705, 710)])
    code, out, _ = run(capsys, "verify", "--log", server.url, "--key", NEW_VKEY, "--state", str(state))
    assert code == 0, out
    code, out, _ = verify(capsys, server, state)  # only the retired key
    assert code == 1 and "not signed by the key you trust" in out


def test_inclusion(capsys: pytest.CaptureFixture[str], server: Server, log: FakeLog) -> None:
    for index in (0, 255, 256, 699):
        code, out, _ = run(capsys, "inclusion", "--log", server.url, "--key", VKEY, "--index", str(index))
        assert code == 0, out
        assert f"OK: entry #{index} is included" in out
    code, out, _ = run(capsys, "inclusion", "--log", server.url, "--key", VKEY, "--index", "700")
    assert code == 1 and "not in the log" in out
    log.served_entries[300] = canonical.encode_entry(entry(301))
    code, out, _ = run(capsys, "inclusion", "--log", server.url, "--key", VKEY, "--index", "300")
    assert code == 1 and "NOT included" in out


def test_receipt(capsys: pytest.CaptureFixture[str], server: Server, log: FakeLog, tmp_path: Path) -> None:
    path = tmp_path / "receipt.json"
    receipt = log.receipt(42)
    path.write_text(json.dumps(receipt))
    code, out, _ = run(capsys, "receipt", str(path), "--key", VKEY)
    assert code == 0 and "OK: receipt verified: entry #42" in out
    code, out, _ = run(capsys, "receipt", f"{server.url}/receipt/42", "--key", VKEY)
    assert code == 0, out

    tampered = [
        dict(receipt, entry=receipt["entry"].replace('"process":42', '"process":43')),
        dict(receipt, index=43),
        dict(receipt, proof=receipt["proof"][:-1]),
        dict(receipt, proof=list(reversed(receipt["proof"]))),
        dict(receipt, origin="elsewhere.example/log"),
        dict(receipt, checkpoint=receipt["checkpoint"].replace("\n700\n", "\n701\n")),
        dict(receipt, index="42"),
        {k: v for k, v in receipt.items() if k != "proof"},
    ]
    assert tampered[0]["entry"] != receipt["entry"]
    for bad in tampered:
        path.write_text(json.dumps(bad))
        code, out, _ = run(capsys, "receipt", str(path), "--key", VKEY)
        assert code == 1, bad
        assert out.startswith("FAILED:")
    path.write_text(json.dumps(receipt))
    assert run(capsys, "receipt", str(path), "--key", NEW_VKEY)[0] == 1


def test_usage_and_network_errors(
    capsys: pytest.CaptureFixture[str], server: Server, state: Path, tmp_path: Path
) -> None:
    assert run(capsys, "--help")[0] == 0
    assert run(capsys)[0] == 2
    assert run(capsys, "verify", "--log", server.url, "--state", str(state))[0] == 2  # no key
    code, _, err = run(capsys, "verify", "--log", server.url, "--key", "nonsense", "--state", str(state))
    assert code == 2 and "--key" in err
    code, _, err = run(capsys, "verify", "--log", "ftp://x", "--key", VKEY, "--state", str(state))
    assert code == 2
    code, _, err = run(capsys, "verify", "--log", server.url + "/nowhere", "--key", VKEY, "--state", str(state))
    assert code == 2 and "HTTP 404" in err
    code, _, err = run(
        capsys, "verify", "--log", "http://127.0.0.1:9/log", "--key", VKEY, "--state", str(state), "--timeout", "2"
    )
    assert code == 2 and "network error" in err
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text("{not json")
    code, _, err = verify(capsys, server, state)
    assert code == 2 and "state file" in err
    state.write_text(json.dumps({"version": 1, "origin": ORIGIN, "size": 1, "root": "x", "compact_range": []}))
    assert verify(capsys, server, state)[0] == 2
    assert run(capsys, "receipt", str(tmp_path / "missing.json"), "--key", VKEY)[0] == 2


def test_state_from_another_log_is_refused(capsys: pytest.CaptureFixture[str], server: Server, state: Path) -> None:
    other_signer = note.Signer("elsewhere.example/log", b"\x44" * 32)
    other = FakeLog([other_signer], origin="elsewhere.example/log")
    other.append([entry(1)])
    with Server(other).running() as srv:
        argv = ["verify", "--log", srv.url, "--key", other_signer.verifier().key_string(), "--state", str(state)]
        assert run(capsys, *argv)[0] == 0
    code, _, err = verify(capsys, server, state)
    assert code == 2 and "is for log 'elsewhere.example/log'" in err
    saved = json.loads(state.read_text())
    saved["origin"] = ORIGIN  # no longer matches its own checkpoint
    state.write_text(json.dumps(saved))
    assert verify(capsys, server, state)[0] == 2


def test_runs_without_flask_or_the_package(server: Server, tmp_path: Path) -> None:
    """The verifier and its four modules, copied alone, run with Flask and SQLAlchemy unimportable."""
    for name in ("verifier.py", "merkle.py", "tiles.py", "note.py", "canonical.py"):
        shutil.copy(PACKAGE / name, tmp_path / name)
    state = tmp_path / "state.json"
    runner = tmp_path / "run.py"
    runner.write_text(
        "import runpy, sys\n"
        "for blocked in ('flask', 'sqlalchemy', 'werkzeug', 'decidim_py'):\n"
        "    sys.modules[blocked] = None\n"
        f"sys.argv = ['verifier.py', 'verify', '--log', {server.url!r}, '--key', {VKEY!r}, '--state', {str(state)!r}]\n"
        "runpy.run_path('verifier.py', run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, str(runner)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "NO_PROXY": "127.0.0.1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified up to 700 entries" in done.stdout
    assert json.loads(state.read_text())["size"] == 700
