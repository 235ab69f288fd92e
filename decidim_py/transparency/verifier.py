"""Independent verifier for a decidim-py transparency log (no Flask, no database).

Usage::

    python -m decidim_py.transparency.verifier verify --log URL --key VKEY --state FILE
    python -m decidim_py.transparency.verifier inclusion --log URL --key VKEY --index I
    python -m decidim_py.transparency.verifier receipt FILE --key VKEY

``verify`` checks the signed checkpoint, then replays every entry published since your last run
(kept in the state file) onto the tree you verified last time: if the result is the signed root,
the log has only appended, never rewritten or removed anything, and every new entry is the one the
log committed to. Each new entry is also checked against its published schema.

The module also runs as a loose script next to its four sibling modules (``merkle.py``,
``tiles.py``, ``note.py``, ``canonical.py``): ``python verifier.py verify ...``. It needs only the
standard library, ``requests``, ``cryptography`` and ``rfc8785``.

Exit codes: 0 verified, 1 verification failed (evidence printed), 2 usage or network error.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import requests

if __package__:
    from . import canonical, merkle, note, tiles
else:  # run as a loose script
    import canonical  # type: ignore[no-redef]
    import merkle  # type: ignore[no-redef]
    import note  # type: ignore[no-redef]
    import tiles  # type: ignore[no-redef]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2
STATE_VERSION = 1
USER_AGENT = "decidim-py-transparency-verifier/1"
MAX_RESPONSE = 32 << 20
MAX_LISTED_PROBLEMS = 20

__all__ = ["EXIT_ERROR", "EXIT_FAILED", "EXIT_OK", "LogClient", "State", "build_parser", "main"]


class UsageError(Exception):
    """Bad arguments, unreadable files: exit 2."""


class NetworkError(Exception):
    """The log could not be reached or refused a request: exit 2."""


class NotFound(NetworkError):
    pass


class VerificationFailure(Exception):
    """The log failed a check: exit 1, with evidence."""

    def __init__(self, message: str, evidence: Sequence[tuple[str, str]] = (), details: Sequence[str] = ()):
        super().__init__(message)
        self.message = message
        self.evidence = list(evidence)
        self.details = list(details)


# --------------------------------------------------------------------------------------------
# output


class Reporter:
    def __init__(self, quiet: bool = False, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.quiet = quiet
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def say(self, message: str = "") -> None:
        print(message, file=self.out)

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.out)

    def progress(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.err, flush=True)


def _short(h: bytes) -> str:
    return base64.b64encode(h).decode("ascii")


def _n(value: int) -> str:
    return f"{value:,}"


# --------------------------------------------------------------------------------------------
# HTTP


class LogClient:
    """Fetches a log's resources below its base URL (``--log``)."""

    def __init__(self, base_url: str, timeout: float = 30.0, session: requests.Session | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise UsageError(f"--log must be an http(s) URL, got {base_url!r}")
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.requests = 0

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"

    def get(self, path: str, params: dict[str, Any] | None = None, limit: int = MAX_RESPONSE) -> bytes:
        url = self.url(path)
        self.requests += 1
        try:
            with self.session.get(url, params=params, timeout=self.timeout, stream=True) as resp:
                if resp.status_code == 404:
                    raise NotFound(f"{url}: not found (HTTP 404)")
                if resp.status_code != 200:
                    raise NetworkError(f"{url}: HTTP {resp.status_code}")
                body = bytearray()
                for chunk in resp.iter_content(65536):
                    body += chunk
                    if len(body) > limit:
                        raise NetworkError(f"{url}: response larger than {limit} bytes")
                return bytes(body)
        except requests.RequestException as exc:
            raise NetworkError(f"cannot fetch {url}: {exc}") from exc

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        data = self.get(path, params)
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise VerificationFailure(f"the log answered {self.url(path)} with invalid JSON") from exc

    def tile(self, path: str) -> bytes:
        """A hash tile; falls back to the full tile if a partial one is gone (the log grew)."""
        try:
            return self.get(path, limit=tiles.TILE_WIDTH * tiles.HASH_SIZE)
        except NotFound:
            t = tiles.parse_tile_path(path)
            if not t.is_partial:
                raise
            full = self.get(tiles.Tile(t.level, t.index).path, limit=tiles.TILE_WIDTH * tiles.HASH_SIZE)
            if len(full) != tiles.TILE_WIDTH * tiles.HASH_SIZE:
                raise VerificationFailure(f"tile {path}: the full tile has the wrong length") from None
            return full[: t.width * tiles.HASH_SIZE]

    def bundle(self, bundle: tiles.Tile) -> list[bytes]:
        """The entries of a bundle, strictly decoded; full-bundle fallback for a vanished partial."""
        try:
            data = self.get(bundle.path)
            count = bundle.width
        except NotFound:
            if not bundle.is_partial:
                raise
            data = self.get(tiles.Tile(None, bundle.index).path)
            count = tiles.TILE_WIDTH
        try:
            entries = tiles.decode_bundle(data, count)
        except ValueError as exc:
            raise VerificationFailure(f"entry bundle {bundle.path} is malformed: {exc}") from exc
        return entries[: bundle.width]


# --------------------------------------------------------------------------------------------
# checkpoints and keys


def load_keys(values: Sequence[str]) -> list[note.Verifier]:
    keys = []
    for value in values:
        try:
            keys.append(note.parse_verifier_key(value))
        except note.NoteError as exc:
            raise UsageError(f"--key {value!r}: {exc}") from exc
    if not keys:
        raise UsageError("give the log's public key with --key")
    return keys


@dataclass
class SignedCheckpoint:
    note: str
    checkpoint: note.Checkpoint
    signed_by: list[str]


def open_checkpoint(text: str, keys: Sequence[note.Verifier], origin: str | None, where: str) -> SignedCheckpoint:
    """Verify a checkpoint note's signature(s) and origin; failures are verification failures."""
    evidence = [(f"checkpoint ({where})", text)]
    try:
        body, names = note.open_note(text, keys)
    except note.InvalidSignatureError as exc:
        raise VerificationFailure(f"the checkpoint ({where}) has an invalid signature: {exc}", evidence) from exc
    except note.UnverifiedNoteError as exc:
        raise VerificationFailure(
            f"the checkpoint ({where}) is not signed by the key you trust ({', '.join(k.key_string() for k in keys)})",
            evidence,
        ) from exc
    except note.NoteError as exc:
        raise VerificationFailure(f"the checkpoint ({where}) is malformed: {exc}", evidence) from exc
    try:
        cp = note.parse_checkpoint(body)
    except note.NoteError as exc:
        raise VerificationFailure(f"the checkpoint ({where}) is malformed: {exc}", evidence) from exc
    expected = [origin] if origin else sorted({k.name for k in keys})
    if cp.origin not in expected:
        raise VerificationFailure(
            f"the checkpoint ({where}) is for log {cp.origin!r}, expected {' or '.join(map(repr, expected))}", evidence
        )
    return SignedCheckpoint(text, cp, names)


def fetch_checkpoint(client: LogClient, keys: Sequence[note.Verifier], origin: str | None) -> SignedCheckpoint:
    raw = client.get("checkpoint", limit=note.MAX_NOTE_SIZE)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VerificationFailure("the log's checkpoint is not UTF-8 text") from exc
    return open_checkpoint(text, keys, origin, "served now")


def _decode_hashes(values: Any, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise VerificationFailure(f"{what}: the proof is not a list")
    out = []
    for value in values:
        if not isinstance(value, str):
            raise VerificationFailure(f"{what}: proof elements must be base64 strings")
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise VerificationFailure(f"{what}: invalid base64 in proof") from exc
        if len(raw) != merkle.HASH_SIZE:
            raise VerificationFailure(f"{what}: proof element is not a 32-byte hash")
        out.append(raw)
    return out


def fetch_log_info(client: LogClient, origin: str) -> dict[str, Any]:
    info = client.get_json("log-info")
    if not isinstance(info, dict) or not isinstance(info.get("schemas"), dict):
        raise VerificationFailure("the log's log-info has no schemas")
    if info.get("origin") != origin:
        raise VerificationFailure(f"log-info names origin {info.get('origin')!r} but the checkpoint says {origin!r}")
    for kind, schema in info["schemas"].items():
        try:
            canonical.check_schema(kind, schema)
        except canonical.SchemaError as exc:
            raise VerificationFailure(f"the log publishes an unusable schema: {exc}") from exc
    return info


# --------------------------------------------------------------------------------------------
# state


@dataclass
class State:
    """What a previous run verified: the tree size, root, right edge and the signed checkpoint."""

    origin: str
    range: merkle.CompactRange
    checkpoint: str = ""
    log: str = ""

    @property
    def size(self) -> int:
        return self.range.size

    @property
    def root(self) -> bytes:
        return self.range.root()

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "log": self.log,
            "origin": self.origin,
            "size": self.size,
            "root": _short(self.root),
            "compact_range": self.range.to_json()["hashes"],
            "checkpoint": self.checkpoint,
            "verified_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    @classmethod
    def from_json(cls, data: Any) -> State:
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError("not a verifier state file (version 1)")
        cr = merkle.CompactRange.from_json({"size": data.get("size"), "hashes": data.get("compact_range")})
        if _short(cr.root()) != data.get("root"):
            raise ValueError("the saved root does not match the saved compact range")
        origin, checkpoint = data.get("origin"), data.get("checkpoint", "")
        if not isinstance(origin, str) or not isinstance(checkpoint, str):
            raise ValueError("bad origin or checkpoint")
        if checkpoint:
            split = checkpoint.rfind("\n\n")
            cp = note.parse_checkpoint(checkpoint[: split + 1]) if split >= 0 else None
            if cp is None or (cp.origin, cp.size, cp.root) != (origin, cr.size, cr.root()):
                raise ValueError("the saved checkpoint does not match the saved tree")
        return cls(origin, cr, checkpoint, str(data.get("log", "")))


def load_state(path: Path) -> State | None:
    if not path.exists():
        return None
    try:
        return State.from_json(json.loads(path.read_text("utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise UsageError(f"cannot use state file {path}: {exc}") from exc


def save_state(path: Path, state: State) -> None:
    """Write atomically: a temporary file in the same directory, fsync, rename."""
    directory = path.resolve().parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(state.to_json(), fh, indent=2, ensure_ascii=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# --------------------------------------------------------------------------------------------
# commands


def _check_entry(index: int, data: bytes, schemas: dict[str, Any] | None) -> str | None:
    try:
        entry = canonical.parse_entry(data)
        if schemas is not None:
            canonical.validate_entry(entry, schemas)
    except canonical.EntryError as exc:
        return f"entry #{index}: {exc}"
    return None


def _evidence(before: State | None, now: SignedCheckpoint) -> list[tuple[str, str]]:
    out = []
    if before is not None and before.checkpoint:
        out.append((f"checkpoint you verified before ({_n(before.size)} entries)", before.checkpoint))
    out.append((f"checkpoint the log serves now ({_n(now.checkpoint.size)} entries)", now.note))
    return out


def cmd_verify(args: argparse.Namespace, rep: Reporter) -> int:
    keys = load_keys(args.key)
    state_path = Path(args.state)
    state = load_state(state_path)
    client = LogClient(args.log, timeout=args.timeout)
    signed = fetch_checkpoint(client, keys, args.origin)
    cp = signed.checkpoint
    if state is not None and state.origin != cp.origin:
        raise UsageError(f"the state file {state_path} is for log {state.origin!r}, not {cp.origin!r}")
    rep.info(f"Log {cp.origin}: signed checkpoint with {_n(cp.size)} entries, signed by {', '.join(signed.signed_by)}")
    rep.info(f"  root {_short(cp.root)}")

    if state is None:
        state = State(cp.origin, merkle.CompactRange(), "", client.base)
        rep.info(f"No state file yet ({state_path}): checking the whole log from the first entry.")
    else:
        rep.info(f"Last verified: {_n(state.size)} entries (root {_short(state.root)})")
    if cp.size < state.size:
        raise VerificationFailure(
            f"ROLLBACK: the log now claims {_n(cp.size)} entries, but you already verified {_n(state.size)}. "
            "A log may only grow; entries have been removed or you are being shown an old view.",
            _evidence(state, signed),
        )
    if cp.size == state.size:
        if cp.root != state.root:
            raise VerificationFailure(
                f"FORK: the log signed two different trees of the same size ({_n(cp.size)} entries). "
                "Its history has been rewritten: the two signed checkpoints below prove it.",
                _evidence(state, signed),
            )
        state.checkpoint = signed.note
        save_state(state_path, state)
        rep.say(f"OK: no new entries since your last check; the log still has {_n(cp.size)} entries.")
        return EXIT_OK

    info = fetch_log_info(client, cp.origin)
    schemas = info["schemas"]
    problems: list[str] = []

    # 1. The server's consistency proof (a cross-check; step 2 is the real proof).
    consistent: bool | None = None
    if state.size:
        try:
            resp = client.get_json("api/proof/consistency", {"old": state.size, "new": cp.size})
            if not isinstance(resp, dict) or resp.get("old") != state.size or resp.get("new") != cp.size:
                raise VerificationFailure("the answer is for other tree sizes")
            proof = _decode_hashes(resp.get("proof"), "consistency proof")
            consistent = merkle.verify_consistency(state.size, cp.size, state.root, cp.root, proof)
        except (NetworkError, VerificationFailure) as exc:
            problems.append(f"the log did not serve a usable consistency proof: {exc}")

    # 2. Replay the new entries onto the verified tree.
    cr = state.range.copy()
    bundles = tiles.bundles_for_range(state.size, cp.size, cp.size)
    new_count = cp.size - state.size
    step = max(1, len(bundles) // 20)
    started = time.monotonic()
    for i, bundle in enumerate(bundles):
        entries = client.bundle(bundle)
        for offset, data in enumerate(entries):
            index = bundle.start + offset
            if index < cr.size:
                continue
            cr.append(merkle.leaf_hash(data))
            problem = _check_entry(index, data, schemas)
            if problem:
                problems.append(problem)
        if len(bundles) > 8 and (i + 1) % step == 0:
            done = cr.size - state.size
            rate = done / max(time.monotonic() - started, 1e-6)
            percent = 100 * done // new_count
            rep.progress(f"  checked {_n(done)} / {_n(new_count)} new entries ({percent}%, {rate:,.0f}/s)")
    if cr.size != cp.size:
        raise VerificationFailure(f"the log served {_n(cr.size)} entries, the checkpoint says {_n(cp.size)}")
    rebuilt = cr.root() == cp.root

    if not rebuilt and state.size and consistent is False:
        raise VerificationFailure(
            "FORK: the new checkpoint does not extend the tree you verified before. The log has rewritten "
            "or removed earlier entries: the new entries do not rebuild the signed root from the old tree, "
            "and the log's own consistency proof between the two signed checkpoints below fails too.",
            _evidence(state, signed),
        )
    if not rebuilt and state.size and consistent is None:
        raise VerificationFailure(
            "FORK OR TAMPERING: the entries the log serves do not rebuild its signed root from the tree you "
            "verified before, and the log gave no usable consistency proof. Either earlier entries were "
            "rewritten or the new entries were altered; keep the two signed checkpoints below.",
            _evidence(state, signed),
            problems,
        )
    if not rebuilt:
        what = "the signed root" if state.size == 0 else "the signed root from the tree you verified before"
        raise VerificationFailure(
            f"TAMPERED ENTRIES: the {_n(new_count)} entries served by the log do not hash to {what}. "
            "The published entries are not the ones the log committed to.",
            _evidence(state, signed),
        )
    if consistent is False:
        problems.append("the log's consistency proof does not verify, although its entries do: its proof API is broken")

    # 3. The tiles other tools use must give the same root.
    if not args.skip_tiles:
        reader = tiles.TileReader(cp.size, client.tile)
        try:
            tiles_root = merkle.tree_hash(cp.size, reader)
        except ValueError as exc:
            problems.append(f"the log's Merkle tiles are malformed: {exc}")
        else:
            if tiles_root != cp.root:
                problems.append("the log's Merkle tiles do not give the signed root")

    if problems:
        shown = problems[:MAX_LISTED_PROBLEMS]
        if len(problems) > len(shown):
            shown.append(f"... and {len(problems) - len(shown)} more")
        raise VerificationFailure(
            f"the log only appended (its tree is consistent), but {len(problems)} problem(s) were found:",
            _evidence(state, signed),
            shown,
        )

    state = State(cp.origin, cr, signed.note, client.base)
    save_state(state_path, state)
    if state.size and consistent is not None:
        rep.info("  consistency: the new tree extends the one you verified before (replayed entries and server proof)")
    rep.info(f"  {_n(new_count)} new entries: all canonical and valid against their schemas")
    rep.say(f"OK: log {cp.origin} verified up to {_n(cp.size)} entries; state saved to {state_path}")
    return EXIT_OK


def _print_entry(rep: Reporter, data: bytes) -> None:
    try:
        rep.info(json.dumps(json.loads(data), indent=2, ensure_ascii=False, sort_keys=True))
    except (ValueError, UnicodeDecodeError):
        rep.info(repr(data))


def cmd_inclusion(args: argparse.Namespace, rep: Reporter) -> int:
    keys = load_keys(args.key)
    if args.index < 0:
        raise UsageError("--index must be 0 or more")
    client = LogClient(args.log, timeout=args.timeout)
    signed = fetch_checkpoint(client, keys, args.origin)
    cp = signed.checkpoint
    if args.index >= cp.size:
        raise VerificationFailure(
            f"entry #{args.index} is not in the log: its signed checkpoint has {_n(cp.size)} entries"
        )
    resp = client.get_json("api/proof/inclusion", {"index": args.index, "size": cp.size})
    if not isinstance(resp, dict) or resp.get("index") != args.index or resp.get("size") != cp.size:
        raise VerificationFailure("the log's inclusion proof answer is for another entry or tree size")
    proof = _decode_hashes(resp.get("proof"), "inclusion proof")
    bundle = tiles.bundle_for_entry(args.index, cp.size)
    data = client.bundle(bundle)[args.index - bundle.start]
    if not merkle.verify_inclusion(merkle.leaf_hash(data), args.index, cp.size, proof, cp.root):
        raise VerificationFailure(
            f"entry #{args.index} as published is NOT included in the signed tree of {_n(cp.size)} entries "
            "(either the entry or the proof served by the log is wrong)",
            [("checkpoint the log serves now", signed.note)],
        )
    info = fetch_log_info(client, cp.origin)
    problem = _check_entry(args.index, data, info["schemas"])
    if problem:
        raise VerificationFailure(f"entry is included, but malformed: {problem}")
    _print_entry(rep, data)
    rep.say(f"OK: entry #{args.index} is included in log {cp.origin} at size {_n(cp.size)} (root {_short(cp.root)})")
    return EXIT_OK


def _load_receipt(source: str, timeout: float) -> Any:
    if source.startswith(("http://", "https://")):
        try:
            resp = requests.get(source, timeout=timeout, headers={"User-Agent": USER_AGENT})
        except requests.RequestException as exc:
            raise NetworkError(f"cannot fetch {source}: {exc}") from exc
        if resp.status_code != 200:
            raise NetworkError(f"{source}: HTTP {resp.status_code}")
        raw = resp.content
    else:
        try:
            raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read receipt {source}: {exc}") from exc
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VerificationFailure(f"the receipt {source} is not valid JSON") from exc


def cmd_receipt(args: argparse.Namespace, rep: Reporter) -> int:
    keys = load_keys(args.key)
    receipt = _load_receipt(args.file, args.timeout)
    fields = {"origin": str, "index": int, "entry": str, "checkpoint": str, "proof": list}
    if not isinstance(receipt, dict):
        raise VerificationFailure("the receipt is not a JSON object")
    for name, kind in fields.items():
        value = receipt.get(name)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise VerificationFailure(f"the receipt has no valid {name!r} field")
    signed = open_checkpoint(receipt["checkpoint"], keys, args.origin, "in the receipt")
    cp = signed.checkpoint
    if receipt["origin"] != cp.origin:
        raise VerificationFailure(f"the receipt says log {receipt['origin']!r} but its checkpoint is for {cp.origin!r}")
    index = receipt["index"]
    if not 0 <= index < cp.size:
        raise VerificationFailure(f"the receipt's entry #{index} is outside its checkpoint ({_n(cp.size)} entries)")
    data = receipt["entry"].encode("utf-8")
    proof = _decode_hashes(receipt["proof"], "receipt")
    if not merkle.verify_inclusion(merkle.leaf_hash(data), index, cp.size, proof, cp.root):
        raise VerificationFailure(
            f"the receipt does NOT prove that this entry is entry #{index} of the log: the entry or proof was altered",
            [("checkpoint in the receipt", signed.note)],
        )
    problem = _check_entry(index, data, None)
    if problem:
        raise VerificationFailure(f"the entry is included, but malformed: {problem}")
    _print_entry(rep, data)
    rep.say(
        f"OK: receipt verified: entry #{index} is in log {cp.origin} at size {_n(cp.size)}, "
        f"signed by {', '.join(signed.signed_by)}"
    )
    rep.info("  (offline check; run `verify` to confirm the log still shows this tree to everyone)")
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# CLI


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m decidim_py.transparency.verifier",
        description="Check a decidim-py transparency log independently of the platform that runs it.",
        epilog="Exit status: 0 verified, 1 verification failed (evidence printed), 2 usage or network error.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser, log: bool) -> None:
        if log:
            p.add_argument(
                "--log",
                required=True,
                metavar="URL",
                help="the log's base URL, e.g. https://city.example/transparency/log",
            )
        p.add_argument(
            "--key",
            action="append",
            default=[],
            metavar="VKEY",
            required=True,
            help="a trusted public key of the log (name+id+base64); repeat during a key rotation",
        )
        p.add_argument("--origin", help="the expected log origin (default: the key's name)")
        p.add_argument("--timeout", type=float, default=30.0, help="network timeout in seconds (default 30)")
        p.add_argument("-q", "--quiet", action="store_true", help="print only the result")
        p.add_argument("--evidence", metavar="FILE", help="on failure, also write the evidence as JSON to FILE")

    p = sub.add_parser("verify", help="check the log grew append-only since last time, audit the new entries")
    common(p, log=True)
    p.add_argument(
        "--state", required=True, metavar="FILE", help="where to remember what you verified (created on first run)"
    )
    p.add_argument("--skip-tiles", action="store_true", help="do not cross-check the published Merkle tiles")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("inclusion", help="check that one entry is in the current signed tree")
    common(p, log=True)
    p.add_argument("--index", required=True, type=int, metavar="I", help="the entry's index (0-based)")
    p.set_defaults(func=cmd_inclusion)

    p = sub.add_parser("receipt", help="check a downloaded receipt offline")
    p.add_argument("file", metavar="FILE", help="the receipt JSON file (or - for standard input, or its URL)")
    common(p, log=False)
    p.set_defaults(func=cmd_receipt)
    return parser


def _report_failure(rep: Reporter, failure: VerificationFailure, args: argparse.Namespace) -> None:
    rep.say(f"FAILED: {failure.message}")
    for line in failure.details:
        rep.say(f"  - {line}")
    if getattr(args, "command", None) == "verify":
        rep.say(f"Your state file ({args.state}) was not updated.")
    if failure.evidence:
        rep.say("")
        rep.say("Evidence (keep it: checkpoints are signed by the log and cannot be forged):")
        for title, text in failure.evidence:
            rep.say(f"----- {title} -----")
            rep.say(text.rstrip("\n"))
        rep.say("-----")
    path = getattr(args, "evidence", None)
    if path:
        record = {
            "problem": failure.message,
            "details": failure.details,
            "log": getattr(args, "log", None),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "checkpoints": [{"title": title, "note": text} for title, text in failure.evidence],
        }
        try:
            Path(path).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", "utf-8")
            rep.say(f"Evidence written to {path}")
        except OSError as exc:
            rep.say(f"(could not write evidence to {path}: {exc})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    rep = Reporter(quiet=args.quiet)
    try:
        return args.func(args, rep)
    except VerificationFailure as failure:
        _report_failure(rep, failure, args)
        return EXIT_FAILED
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except NetworkError as exc:
        print(f"network error: {exc}", file=sys.stderr)
        print("Nothing was verified; try again later or check the --log URL.", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted; nothing saved", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
