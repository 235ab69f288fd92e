"""Signed notes (Ed25519) and checkpoints."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from decidim_py.transparency import note

NAME = "city.example/transparency/log"
SEED = bytes(range(32))
TEXT = "city.example/transparency/log\n3\n" + base64.b64encode(b"\x07" * 32).decode() + "\n"


@pytest.fixture(scope="module")
def signer() -> note.Signer:
    return note.Signer(NAME, SEED)


@pytest.fixture(scope="module")
def other() -> note.Signer:
    return note.Signer(NAME, bytes(range(1, 33)))


def test_key_strings(signer: note.Signer) -> None:
    public = (
        Ed25519PrivateKey.from_private_bytes(SEED)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    kid = hashlib.sha256(NAME.encode() + b"\n\x01" + public).digest()[:4]
    vkey = signer.verifier().key_string()
    pub64, seed64 = base64.b64encode(b"\x01" + public).decode(), base64.b64encode(b"\x01" + SEED).decode()
    assert vkey == f"{NAME}+{kid.hex()}+{pub64}"
    skey = signer.key_string()
    assert skey == f"PRIVATE+KEY+{NAME}+{kid.hex()}+{seed64}"
    assert note.parse_signer_key(skey) == signer
    assert note.parse_verifier_key(vkey) == signer.verifier()
    assert signer.key_id == int.from_bytes(kid, "big") == note.key_id(NAME, public)
    assert "seed" not in repr(signer) or SEED.hex() not in repr(signer)


def test_generate_key_round_trip() -> None:
    skey, vkey = note.generate_key("example.com/log")
    s, v = note.parse_signer_key(skey), note.parse_verifier_key(vkey)
    assert s.verifier() == v and s.name == v.name == "example.com/log"
    signed = note.sign_note("hello\n", [skey])
    assert note.open_note(signed, [vkey]) == ("hello\n", ["example.com/log"])


@pytest.mark.parametrize(
    "vkey",
    [
        "",
        "name+00000000",
        "name+0000000+AQ==",
        "name+zzzzzzzz+" + base64.b64encode(b"\x01" + b"\x00" * 32).decode(),
        "+12345678+" + base64.b64encode(b"\x01" + b"\x00" * 32).decode(),
        "na me+12345678+" + base64.b64encode(b"\x01" + b"\x00" * 32).decode(),
        "name+12345678+" + base64.b64encode(b"\x02" + b"\x00" * 32).decode(),  # not Ed25519
        "name+12345678+" + base64.b64encode(b"\x01" + b"\x00" * 31).decode(),
        "name+12345678+not_base64",
    ],
)
def test_verifier_key_refused(vkey: str) -> None:
    with pytest.raises(note.NoteError):
        note.parse_verifier_key(vkey)


def test_key_id_mismatch_refused(signer: note.Signer) -> None:
    name, _, key = signer.verifier().key_string().split("+", 2)
    with pytest.raises(note.NoteError, match="key id"):
        note.parse_verifier_key(f"{name}+00000000+{key}")
    with pytest.raises(note.NoteError):
        note.parse_verifier_key(f"other.example+{signer.key_id:08x}+{key}")
    with pytest.raises(note.NoteError):
        note.parse_signer_key(
            "PRIVATE+KEY+" + signer.key_string().split("+", 2)[2].replace(f"{signer.key_id:08x}", "00000000")
        )
    with pytest.raises(note.NoteError):
        note.parse_signer_key(signer.verifier().key_string())
    with pytest.raises(note.NoteError):
        note.parse_verifier_key(signer.key_string())


def test_sign_and_open(signer: note.Signer) -> None:
    signed = note.sign_note(TEXT, signer)
    body, sigs = signed.split("\n\n")
    assert body + "\n" == TEXT
    assert sigs.startswith(f"\u2014 {NAME} ") and sigs.endswith("\n") and sigs.count("\n") == 1
    raw = base64.b64decode(sigs.split(" ")[2])
    assert raw[:4] == signer.key_id.to_bytes(4, "big") and len(raw) == 68
    assert note.open_note(signed, [signer.verifier()]) == (TEXT, [NAME])
    assert note.open_note(signed.encode(), [signer.verifier().key_string()]) == (TEXT, [NAME])


def test_multiple_signatures_and_rotation(signer: note.Signer, other: note.Signer) -> None:
    third = note.Signer("witness.example/w1", SEED)
    signed = note.sign_note(TEXT, [signer, other, third])
    assert signed.count("\u2014 ") == 3
    assert note.open_note(signed, [signer.verifier()])[1] == [NAME]
    assert note.open_note(signed, [other.verifier()])[1] == [NAME]
    assert note.open_note(signed, [signer.verifier(), other.verifier(), third.verifier()])[1] == [
        NAME,
        NAME,
        "witness.example/w1",
    ]


def test_tampered_text_is_refused(signer: note.Signer) -> None:
    signed = note.sign_note(TEXT, signer)
    with pytest.raises(note.InvalidSignatureError):
        note.open_note(signed.replace("\n3\n", "\n4\n"), [signer.verifier()])


def test_wrong_or_unknown_key(signer: note.Signer, other: note.Signer) -> None:
    signed = note.sign_note(TEXT, signer)
    with pytest.raises(note.UnverifiedNoteError):
        note.open_note(signed, [other.verifier()])  # same name, other id: unknown, ignored
    with pytest.raises(note.UnverifiedNoteError):
        note.open_note(signed, [])
    # same name and id as a known key but a different key: impossible to tell apart, must fail
    sig = base64.b64decode(signed.split(" ")[-1])
    forged = (
        note.sign_note(TEXT, other).rsplit(" ", 1)[0]
        + " "
        + base64.b64encode(
            signer.key_id.to_bytes(4, "big") + base64.b64decode(note.sign_note(TEXT, other).split(" ")[-1])[4:]
        ).decode()
        + "\n"
    )
    assert sig != base64.b64decode(forged.split(" ")[-1])
    with pytest.raises(note.InvalidSignatureError):
        note.open_note(forged, [signer.verifier()])


def test_known_bad_signature_poisons_note(signer: note.Signer, other: note.Signer) -> None:
    signed = note.sign_note(TEXT, [signer, other])
    lines = signed.split("\n")
    raw = bytearray(base64.b64decode(lines[-2].split(" ")[2]))
    raw[10] ^= 1
    lines[-2] = f"\u2014 {NAME} {base64.b64encode(bytes(raw)).decode()}"
    bad = "\n".join(lines)
    assert note.open_note(bad, [signer.verifier()])[1] == [NAME]  # the broken one is unknown here
    with pytest.raises(note.InvalidSignatureError):
        note.open_note(bad, [signer.verifier(), other.verifier()])


def test_duplicate_known_signature_refused(signer: note.Signer) -> None:
    signed = note.sign_note(TEXT, signer)
    line = signed.split("\n\n")[1]
    with pytest.raises(note.NoteError):
        note.open_note(signed + line, [signer.verifier()])


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s.replace("\n\n", "\n"),  # no blank line
        lambda s: s[:-1],  # no final newline
        lambda s: s + "\n",  # trailing blank line
        lambda s: s.replace("\u2014 ", "- "),
        lambda s: s.replace("\u2014 ", "\u2014"),
        lambda s: s.replace("\u2014 ", "\u2014  "),
        lambda s: s.replace(f"{NAME} ", f"{NAME}  "),
        lambda s: s.replace(f"{NAME} ", f"{NAME}\t"),
        lambda s: s.replace("\n\n", "\n\r\n"),
        lambda s: s[: s.rindex(" ") + 1] + "AAAA\n",  # signature too short
        lambda s: s[: s.rindex(" ") + 1] + "!!!!\n",
        lambda s: s[:-2] + "\n",  # missing padding
        lambda s: s.split("\n\n")[0] + "\n\n",  # no signatures
        lambda s: s + "\u2014 x " + base64.b64encode(b"\x00" * 68).decode() + " extra\n",
        lambda s: s.replace("city", "c\x01ty", 1),
        lambda s: s + ("\u2014 x " + base64.b64encode(b"\x00" * 68).decode() + "\n") * 100,
    ],
)
def test_malformed_notes(signer: note.Signer, mutate) -> None:  # type: ignore[no-untyped-def]
    signed = note.sign_note(TEXT, signer)
    with pytest.raises(note.NoteError):
        note.open_note(mutate(signed), [signer.verifier()])


def test_non_canonical_base64_signature_refused(signer: note.Signer) -> None:
    signed = note.sign_note(TEXT, signer)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    assert signed.endswith("=\n")  # 68 bytes: the last character before '=' has 2 unused bits
    last = alphabet.index(signed[-3])
    assert last & 3 == 0
    variant = signed[:-3] + alphabet[last + 1] + "=\n"
    sig = signed.rsplit(" ", 1)[1]
    assert base64.b64decode(variant.rsplit(" ", 1)[1]) == base64.b64decode(sig)  # same bytes
    with pytest.raises(note.NoteError, match="non-canonical"):
        note.open_note(variant, [signer.verifier()])


def test_invalid_utf8_and_sign_preconditions(signer: note.Signer) -> None:
    with pytest.raises(note.NoteError):
        note.open_note(note.sign_note(TEXT, signer).encode() + b"\xff", [signer.verifier()])
    with pytest.raises(note.NoteError):
        note.sign_note("no newline", signer)
    with pytest.raises(note.NoteError):
        note.sign_note("tab\there\n", signer)
    with pytest.raises(note.NoteError):
        note.sign_note(TEXT, [])
    with pytest.raises(note.NoteError):
        note.Signer("bad+name", SEED)


def test_unknown_signatures_only_are_ignored_but_not_enough(signer: note.Signer) -> None:
    unknown = "\u2014 someone.example " + base64.b64encode(b"\x01\x02\x03\x04" + b"\x00" * 64).decode() + "\n"
    signed = note.sign_note(TEXT, signer)
    assert note.open_note(signed + unknown, [signer.verifier()])[1] == [NAME]
    with pytest.raises(note.UnverifiedNoteError):
        note.open_note(TEXT + "\n" + unknown, [signer.verifier()])


def test_checkpoint_body_and_parse() -> None:
    root = hashlib.sha256(b"r").digest()
    body = note.checkpoint_body("example.com/log", 1234, root)
    assert body == f"example.com/log\n1234\n{base64.b64encode(root).decode()}\n"
    cp = note.parse_checkpoint(body)
    assert cp == note.Checkpoint("example.com/log", 1234, root, ())
    assert cp.body() == body
    ext = note.checkpoint_body("example.com/log", 0, root, ["ext one", "two"])
    assert note.parse_checkpoint(ext).extensions == ("ext one", "two")
    for bad in [
        ("", 1, root, ()),
        ("a\nb", 1, root, ()),
        ("o", -1, root, ()),
        ("o", 1 << 64, root, ()),
        ("o", True, root, ()),
        ("o", 1, root[:31], ()),
        ("o", 1, root, ("",)),
        ("o", 1, root, ("a\nb",)),
    ]:
        with pytest.raises(note.NoteError):
            note.checkpoint_body(*bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "o\n1\n{r}",  # no final newline
        "o\n1\n",
        "\n1\n{r}\n",
        "o\n01\n{r}\n",
        "o\n+1\n{r}\n",
        "o\n 1\n{r}\n",
        "o\n1_0\n{r}\n",
        "o\n١\n{r}\n",
        "o\n-0\n{r}\n",
        "o\n18446744073709551616\n{r}\n",
        "o\n1\n{r}\n\n",  # empty extension line
        "o\n1\n{short}\n",
        "o\n1\n{nopad}\n",
        "o\n1\n{r} \n",
        "o\r\n1\n{r}\n",
    ],
)
def test_checkpoint_parse_strict(text: str) -> None:
    r = base64.b64encode(b"\x01" * 32).decode()
    short = base64.b64encode(b"\x01" * 31).decode()
    with pytest.raises(note.NoteError):
        note.parse_checkpoint(text.format(r=r, short=short, nopad=r.rstrip("=")))


def test_checkpoint_accepts_zero_and_large() -> None:
    r = base64.b64encode(b"\x01" * 32).decode()
    assert note.parse_checkpoint(f"o\n0\n{r}\n").size == 0
    assert note.parse_checkpoint(f"o\n18446744073709551615\n{r}\n").size == (1 << 64) - 1
