"""An in-memory transparency log built with the library, served over HTTP on 127.0.0.1 for the
verifier tests. It follows the URL layout the real server implements (see verifier.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from decidim_py.transparency import canonical, merkle, note, tiles

ORIGIN = "city.example/transparency/log"
PREFIX = "/transparency/log/"

SCHEMAS: dict[str, Any] = {
    "process.published": {
        "version": 1,
        "required": ["kind", "schema", "process", "content_sha256"],
        "properties": {
            "process": {"type": "integer"},
            "content_sha256": {"type": "string"},
            "official": {"type": ["string", "null"]},
        },
        "additionalProperties": False,
    },
    "budget.result": {
        "version": 2,
        "required": ["kind", "schema", "budget", "tally"],
        "properties": {"budget": {"type": "integer"}, "tally": {"type": "object"}, "final": {"type": "boolean"}},
        "additionalProperties": False,
    },
}


def entry(i: int, salt: str = "") -> dict[str, Any]:
    if i % 3 == 2:
        return {"kind": "budget.result", "schema": 2, "budget": i, "tally": {"yes": i, "no": 1}, "final": True}
    digest = hashlib.sha256(f"{salt}{i}".encode()).hexdigest()
    return {"kind": "process.published", "schema": 1, "process": i, "content_sha256": digest}


class FakeLog:
    def __init__(self, signers: list[note.Signer], origin: str = ORIGIN) -> None:
        self.origin = origin
        self.signers = signers
        self.entries: list[bytes] = []
        self.hashes: dict[tuple[int, int], bytes] = {}
        self.notes: dict[int, str] = {}
        self.served_entries: dict[int, bytes] = {}  # tampering: index -> bytes served instead
        self.checkpoint_override: str | None = None
        # Partial tiles are served for every width that exists (so for every checkpointed size);
        # with this flag, only while the full tile does not exist yet.
        self.drop_superseded_partials = False
        self.schemas = SCHEMAS
        self.requests: list[str] = []
        self.sign()

    @property
    def size(self) -> int:
        return len(self.entries)

    def get(self, level: int, index: int) -> bytes:
        return self.hashes[(level, index)]

    def get_many(self, coords: list[tuple[int, int]]) -> list[bytes]:
        return [self.hashes[c] for c in coords]

    def root(self, size: int | None = None) -> bytes:
        return merkle.tree_hash(self.size if size is None else size, self.get)

    def sign(self) -> str:
        body = note.checkpoint_body(self.origin, self.size, self.root())
        self.notes[self.size] = note.sign_note(body, self.signers)
        return self.notes[self.size]

    def append_raw(self, datas: list[bytes]) -> None:
        new = merkle.append_batch(self.size, [merkle.leaf_hash(d) for d in datas], self.get)
        for level, index, h in new:
            self.hashes[(level, index)] = h
        self.entries.extend(datas)
        self.sign()

    def append(self, values: list[dict[str, Any]]) -> None:
        self.append_raw([canonical.encode_entry(v) for v in values])

    def served(self, index: int) -> bytes:
        return self.served_entries.get(index, self.entries[index])

    # -- HTTP
    def handle(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        self.requests.append(path)
        size = self.size
        if path == "checkpoint":
            text = self.checkpoint_override if self.checkpoint_override is not None else self.notes[size]
            return 200, "text/plain; charset=utf-8", text.encode()
        if path == "log-info":
            keys = [s.verifier().key_string() for s in self.signers]
            body = {"origin": self.origin, "public_keys": keys, "schemas": self.schemas}
            return 200, "application/json", json.dumps(body).encode()
        if path.startswith("tile/"):
            try:
                t = tiles.parse_tile_path(path)
            except ValueError:
                return 404, "text/plain", b"bad path"
            available = size if t.is_entries else size >> (8 * t.level)
            if t.start + t.width > available:
                return 404, "text/plain", b"no such tile"
            if t.is_partial and self.drop_superseded_partials and t.start + 256 <= available:
                return 404, "text/plain", b"partial tile superseded by the full tile"
            if t.is_entries:
                data = tiles.encode_bundle([self.served(i) for i in range(t.start, t.start + t.width)])
            else:
                data = tiles.tile_bytes(t, self.get)
            return 200, "application/octet-stream", data
        if path == "api/proof/inclusion":
            index, at = int(query["index"][0]), int(query["size"][0])
            proof = merkle.inclusion_proof(index, at, self.get)
            return self._json({"index": index, "size": at, "proof": [_b64(p) for p in proof]})
        if path == "api/proof/consistency":
            old, new = int(query["old"][0]), int(query["new"][0])
            if new > size or old > new or old == 0:
                return 400, "text/plain", b"bad sizes"
            proof = merkle.consistency_proof(old, new, self.get)
            return self._json({"old": old, "new": new, "proof": [_b64(p) for p in proof]})
        if path.startswith("receipt/"):
            index = int(path.split("/", 1)[1])
            return self._json(self.receipt(index))
        return 404, "text/plain", b"not found"

    def receipt(self, index: int) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "index": index,
            "entry": self.entries[index].decode(),
            "checkpoint": self.notes[self.size],
            "proof": [_b64(p) for p in merkle.inclusion_proof(index, self.size, self.get)],
        }

    @staticmethod
    def _json(value: Any) -> tuple[int, str, bytes]:
        return 200, "application/json", json.dumps(value).encode()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class Server:
    """Serves whichever FakeLog is in ``self.log`` (swap it to simulate a fork)."""

    def __init__(self, log: FakeLog) -> None:
        self.log = log
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                if not url.path.startswith(PREFIX):
                    status, ctype, body = 404, "text/plain", b"not found"
                else:
                    status, ctype, body = outer.log.handle(url.path[len(PREFIX) :], parse_qs(url.query))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}{PREFIX.rstrip('/')}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    @contextmanager
    def running(self) -> Iterator[Server]:
        self.thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
