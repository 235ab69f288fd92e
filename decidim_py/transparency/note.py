"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519, and tlog checkpoints
(https://c2sp.org/tlog-checkpoint).

Key strings (the Go ``golang.org/x/mod/sumdb/note`` formats, understood by existing tools)::

    verifier key:  <name>+<key id, 8 hex digits>+<base64(0x01 || 32-byte public key)>
    signer key:    PRIVATE+KEY+<name>+<key id>+<base64(0x01 || 32-byte private seed)>

with key id = the first 4 bytes (big-endian uint32) of SHA-256(name || 0x0A || 0x01 || public key).

A signed note is the text (ending in a newline), a blank line, then one line per signature:
``— <name> <base64(key id || Ed25519 signature)>`` (U+2014 em dash, space). Several signatures
may sign one note, e.g. old and new key during a key rotation.

Pure library: standard library plus ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519 = 0x01
SIG_PREFIX = "\u2014 "
MAX_SIGNATURES = 100
MAX_NOTE_SIZE = 1 << 20

__all__ = [
    "ALG_ED25519",
    "Checkpoint",
    "InvalidSignatureError",
    "NoteError",
    "Signer",
    "UnverifiedNoteError",
    "Verifier",
    "checkpoint_body",
    "generate_key",
    "key_id",
    "open_note",
    "parse_checkpoint",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_note",
]


class NoteError(ValueError):
    """A malformed note, key string or checkpoint."""


class UnverifiedNoteError(NoteError):
    """No signature on the note is by a known key."""


class InvalidSignatureError(NoteError):
    """A signature claiming to be by a known key does not verify."""


def _b64decode(text: str, what: str) -> bytes:
    """Strict standard base64 (RFC 4648 §4, padded, canonical)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"{what}: invalid base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError(f"{what}: non-canonical base64")
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise NoteError("key names must be non-empty")
    if any(c == "+" or c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise NoteError(f"key name {name!r} must not contain spaces, '+' or control characters")
    return name


def _check_text(text: object, what: str = "note") -> str:
    if not isinstance(text, str):
        raise NoteError(f"{what} must be text")
    if any((ord(c) < 0x20 and c != "\n") for c in text):
        raise NoteError(f"{what} contains control characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates
        raise NoteError(f"{what} is not valid UTF-8") from exc
    return text


def key_id(name: str, public_key: bytes) -> int:
    """uint32 key id: SHA-256(name || "\\n" || 0x01 || public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True)
class Verifier:
    """A public key that can verify note signatures."""

    name: str
    public_key: bytes
    key_id: int = field(init=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not isinstance(self.public_key, bytes) or len(self.public_key) != 32:
            raise NoteError("an Ed25519 public key is 32 bytes")
        object.__setattr__(self, "key_id", key_id(self.name, self.public_key))

    def key_string(self) -> str:
        return f"{self.name}+{self.key_id:08x}+{_b64(bytes([ALG_ED25519]) + self.public_key)}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A private key that signs notes."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not isinstance(self.seed, bytes) or len(self.seed) != 32:
            raise NoteError("an Ed25519 private seed is 32 bytes")

    @property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def public_key(self) -> bytes:
        return self._private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.public_key)

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.public_key)

    def key_string(self) -> str:
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{_b64(bytes([ALG_ED25519]) + self.seed)}"

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)


def generate_key(name: str) -> tuple[str, str]:
    """A new Ed25519 key for ``name``: returns ``(signer key string, verifier key string)``."""
    seed = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    signer = Signer(_check_name(name), seed)
    return signer.key_string(), signer.verifier().key_string()


_HEX8 = re.compile(r"[0-9a-fA-F]{8}")


def _parse_key_parts(name: str, hex_id: str, b64: str, what: str) -> tuple[str, bytes]:
    _check_name(name)
    if not _HEX8.fullmatch(hex_id):
        raise NoteError(f"{what}: the key id must be 8 hex digits")
    raw = _b64decode(b64, what)
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise NoteError(f"{what}: only Ed25519 keys (type 0x01, 32 bytes) are supported")
    return hex_id, raw[1:]


def parse_verifier_key(vkey: str) -> Verifier:
    """Parse ``<name>+<hex id>+<base64(0x01 || public key)>``; the id must match the key."""
    if not isinstance(vkey, str):
        raise NoteError("a verifier key is a string")
    parts = vkey.split("+", 2)  # the base64 part may contain '+'
    if len(parts) != 3:
        raise NoteError("a verifier key looks like name+1234abcd+base64")
    hex_id, public = _parse_key_parts(parts[0], parts[1], parts[2], "verifier key")
    verifier = Verifier(parts[0], public)
    if int(hex_id, 16) != verifier.key_id:
        raise NoteError("verifier key: the key id does not match the name and key")
    return verifier


def parse_signer_key(skey: str) -> Signer:
    """Parse ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>``; the id must match the key."""
    if not isinstance(skey, str):
        raise NoteError("a signer key is a string")
    parts = skey.split("+", 4)
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise NoteError("a signer key looks like PRIVATE+KEY+name+1234abcd+base64")
    hex_id, seed = _parse_key_parts(parts[2], parts[3], parts[4], "signer key")
    signer = Signer(parts[2], seed)
    if int(hex_id, 16) != signer.key_id:
        raise NoteError("signer key: the key id does not match the name and key")
    return signer


def _as_signer(s: Signer | str) -> Signer:
    return s if isinstance(s, Signer) else parse_signer_key(s)


def _as_verifier(v: Verifier | Signer | str) -> Verifier:
    if isinstance(v, Verifier):
        return v
    if isinstance(v, Signer):
        return v.verifier()
    return parse_verifier_key(v)


def sign_note(text: str, signers: Sequence[Signer | str] | Signer | str) -> str:
    """Sign ``text`` (must end with a newline) with each signer: text, blank line, one line per key."""
    _check_text(text, "note text")
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if isinstance(signers, Signer | str):
        signers = [signers]
    keys = [_as_signer(s) for s in signers]
    if not keys:
        raise NoteError("at least one signer is required")
    message = text.encode("utf-8")
    lines = [f"{SIG_PREFIX}{k.name} {_b64(k.key_id.to_bytes(4, 'big') + k.sign(message))}\n" for k in keys]
    return text + "\n" + "".join(lines)


def open_note(note: str | bytes, verifiers: Iterable[Verifier | Signer | str]) -> tuple[str, list[str]]:
    """Verify a signed note; returns ``(text, names of the known keys whose signatures verified)``.

    Signatures by unknown keys (name and id not both matching a known key) are ignored; a known
    key's invalid signature raises :class:`InvalidSignatureError`; no verified known signature
    raises :class:`UnverifiedNoteError`; anything malformed raises :class:`NoteError`.
    """
    if isinstance(note, bytes | bytearray):
        if len(note) > MAX_NOTE_SIZE:
            raise NoteError("note is too large")
        try:
            note = bytes(note).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("note is not valid UTF-8") from exc
    _check_text(note)
    if len(note) > MAX_NOTE_SIZE:
        raise NoteError("note is too large")
    known: dict[tuple[str, int], Verifier] = {}
    for v in verifiers:
        ver = _as_verifier(v)
        known[(ver.name, ver.key_id)] = ver
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("malformed note: signature block must be non-empty and end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    verified: list[str] = []
    seen: set[tuple[str, int]] = set()
    message = text.encode("utf-8")
    for line in lines:
        if not line.startswith(SIG_PREFIX):
            raise NoteError(f"malformed signature line: {line!r}")
        parts = line[len(SIG_PREFIX) :].split(" ")
        if len(parts) != 2:
            raise NoteError(f"malformed signature line: {line!r}")
        name, b64 = parts
        _check_name(name)
        raw = _b64decode(b64, "signature")
        if len(raw) < 5:
            raise NoteError("malformed signature: too short")
        kid = int.from_bytes(raw[:4], "big")
        verifier = known.get((name, kid))
        if verifier is None:
            continue
        if (name, kid) in seen:
            raise NoteError(f"malformed note: two signatures by key {name}+{kid:08x}")
        seen.add((name, kid))
        if not verifier.verify(message, raw[4:]):
            raise InvalidSignatureError(f"the signature by {name} (key {kid:08x}) does not verify")
        verified.append(name)
    if not verified:
        raise UnverifiedNoteError("the note carries no signature by a known key")
    return text, verified


# --------------------------------------------------------------------------------------------
# checkpoints


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        return checkpoint_body(self.origin, self.size, self.root, self.extensions)


_SIZE_RE = re.compile(r"0|[1-9][0-9]*")


def checkpoint_body(origin: str, size: int, root: bytes, extensions: Iterable[str] = ()) -> str:
    """The checkpoint note text: ``<origin>\\n<size>\\n<base64 root>\\n`` then one line per extension."""
    _check_text(origin, "origin")
    if not origin or "\n" in origin:
        raise NoteError("the origin must be a non-empty single line")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < 1 << 64:
        raise NoteError("the tree size must be a non-negative 64-bit integer")
    if not isinstance(root, bytes) or len(root) != 32:
        raise NoteError("the root hash is 32 bytes")
    ext = list(extensions)
    for line in ext:
        _check_text(line, "extension line")
        if not line or "\n" in line:
            raise NoteError("extension lines must be non-empty single lines")
    return "".join(f"{line}\n" for line in [origin, str(size), _b64(root), *ext])


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint note text (the verified text from :func:`open_note`), strictly."""
    _check_text(text, "checkpoint")
    if not text.endswith("\n"):
        raise NoteError("checkpoint must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("checkpoint needs an origin, a size and a root hash")
    origin, size_text, root_text, *ext = lines
    if not origin:
        raise NoteError("checkpoint origin is empty")
    if not _SIZE_RE.fullmatch(size_text) or int(size_text) >= 1 << 64:
        raise NoteError(f"checkpoint size {size_text!r} is not a decimal number without leading zeros")
    root = _b64decode(root_text, "checkpoint root")
    if len(root) != 32:
        raise NoteError("checkpoint root hash is not 32 bytes")
    if any(not line for line in ext):
        raise NoteError("checkpoint extension lines must be non-empty")
    return Checkpoint(origin, int(size_text), root, tuple(ext))
