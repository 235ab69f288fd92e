"""Keys that live outside the database: identity and person HMAC keys, and the key that encrypts
client secrets at rest.

Source, in order: environment (DECIDIM_IDENTITY_SECRET, DECIDIM_PERSON_SECRET,
DECIDIM_ENCRYPTION_SECRET) or the JSON key file DECIDIM_KEY_FILE; by default
`instance/identity_keys.json`, generated (mode 0600) on first use. Per-organisation keys are derived
with HMAC from these secrets, so one organisation's keys say nothing about another's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import unicodedata
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

NAMES = ("identity", "person", "encryption")


def _secrets() -> dict[str, str]:
    cache = current_app.extensions.setdefault("decidim_keys", {})
    if cache:
        return cache
    values = {n: current_app.config.get(f"{n.upper()}_SECRET") or os.environ.get(
        f"DECIDIM_{n.upper()}_SECRET") for n in NAMES}
    if not all(values.values()):
        path = Path(current_app.config.get("KEY_FILE") or os.environ.get("DECIDIM_KEY_FILE")
                    or Path(current_app.instance_path) / "identity_keys.json")
        stored = _read_or_create(path)
        values = {n: values[n] or stored[n] for n in NAMES}
    cache.update(values)
    return cache


def _read_or_create(path: Path) -> dict[str, str]:
    if path.exists():
        data = json.loads(path.read_text())
        missing = [n for n in NAMES if not data.get(n)]
        if missing:
            raise RuntimeError(f"key file {path} lacks {missing}")
        return data
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {n: secrets.token_urlsafe(48) for n in NAMES}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    return data


def _derive(name: str, organization_id: int) -> bytes:
    master = _secrets()[name].encode()
    return hmac.new(master, f"decidim-py/{name}/organization/{organization_id}".encode(),
                    hashlib.sha256).digest()


def identity_key(organization_id: int, issuer: str, subject: str) -> str:
    """HMAC(organisation identity key, issuer ‖ subject), hex."""
    msg = f"{len(issuer)}:{issuer}|{subject}".encode()
    return hmac.new(_derive("identity", organization_id), msg, hashlib.sha256).hexdigest()


def normalise_national_id(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).upper()
    return re.sub(r"[\s.\-/]", "", text)


def person_key(organization_id: int, value: str, *, kind: str) -> str:
    """HMAC(organisation person key, kind ‖ value), hex; kind is national_id or subject."""
    if kind == "national_id":
        value = normalise_national_id(value)
    msg = f"{kind}|{value}".encode()
    return hmac.new(_derive("person", organization_id), msg, hashlib.sha256).hexdigest()


def _fernet() -> Fernet:
    raw = hashlib.sha256(("decidim-py/encryption|" + _secrets()["encryption"]).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(raw))


def encrypt(plaintext: str) -> bytes:
    return _fernet().encrypt(plaintext.encode())


def decrypt(token: bytes | None) -> str | None:
    if token is None:
        return None
    try:
        return _fernet().decrypt(token).decode()
    except InvalidToken as exc:
        raise RuntimeError("cannot decrypt a stored secret: the encryption key changed") from exc


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
