"""Translation catalogs: every message in the source is translated in en, ca and es, placeholders
are kept, and the catalogs compile.

The messages are extracted from the source tree as it is now (same mapping and keywords as
`devtools/i18n extract`), not from translations/messages.pot, so a new string fails here until
`devtools/i18n extract` has been run and the new entries translated.
"""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
LOCALES = ("en", "ca", "es")
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None}
# printf-style conversions as Python's % operator reads them ("%%" is a literal percent sign)
PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<type>.)")


def extract_source_messages() -> Catalog:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, filename="babel.cfg")
    # only walk the top-level folders the mapping names (not .venv, node_modules, instance, ...)
    tops = {pattern.split("/", 1)[0] for pattern, _method in method_map}

    def wanted(path: str) -> bool:
        parts = Path(path).relative_to(ROOT).parts
        return bool(parts) and parts[0] in tops and not any(p.startswith((".", "_")) for p in parts)

    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, directory_filter=wanted
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


@pytest.fixture(scope="module")
def source_messages() -> Catalog:
    catalog = extract_source_messages()
    assert len(catalog) > 50, "message extraction found almost nothing: check babel.cfg"
    return catalog


def load(locale: str) -> Catalog:
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    assert path.exists(), f"{path} is missing: run devtools/i18n extract"
    with path.open("rb") as fh:
        return read_po(fh, locale=locale, abort_invalid=True)


@pytest.fixture(scope="module", params=LOCALES)
def catalog(request: pytest.FixtureRequest) -> Catalog:
    return load(request.param)


def describe(message_id: str | tuple[str, ...], context: str | None) -> str:
    text = repr(message_id if isinstance(message_id, str) else message_id[0])
    return f"{text} (context {context!r})" if context else text


def placeholders(text: str) -> list[tuple[str, str]]:
    return sorted(
        (m["name"] or "", m["type"]) for m in PLACEHOLDER.finditer(text) if m["type"] != "%"
    )


def test_every_source_message_is_translated(source_messages: Catalog, catalog: Catalog) -> None:
    assert not catalog.fuzzy, f"the {catalog.locale} catalog header is marked fuzzy"
    problems = []
    for msg in source_messages:
        if not msg.id:
            continue
        entry = catalog.get(msg.id, context=msg.context)
        name = describe(msg.id, msg.context)
        if entry is None:
            problems.append(f"missing: {name}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {name}")
        elif msg.pluralizable and not entry.pluralizable:
            problems.append(f"not a plural entry: {name}")
        elif msg.pluralizable and (
            len(entry.string) != catalog.num_plurals or not all(entry.string)
        ):
            problems.append(f"plural forms incomplete ({catalog.num_plurals} needed): {name}")
        elif not msg.pluralizable and (not isinstance(entry.string, str) or not entry.string):
            problems.append(f"untranslated: {name}")
    if problems:
        print(f"\n{catalog.locale} catalog problems (run devtools/i18n extract, then translate):")
        print("\n".join(f"  {p}" for p in problems))
    assert not problems, f"{len(problems)} messages missing or untranslated in the {catalog.locale} catalog"


def test_translations_keep_the_placeholders(catalog: Catalog) -> None:
    problems = []
    for entry in catalog:
        if not entry.id or not entry.string:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        expected = placeholders(ids[-1])
        if any(placeholders(i) != expected for i in ids):
            problems.append(f"singular and plural use different placeholders: {describe(entry.id, None)}")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for text in strings:
            if text and placeholders(text) != expected:
                problems.append(f"{describe(entry.id, entry.context)} -> {text!r}")
    if problems:
        print(f"\n{catalog.locale} translations whose placeholders differ from the message:")
        print("\n".join(f"  {p}" for p in problems))
    assert not problems


def test_catalogs_compile(catalog: Catalog) -> None:
    errors = [
        f"{describe(entry.id, entry.context)}: {', '.join(map(str, errs))}"
        for entry, errs in catalog.check()
    ]
    assert not errors, "\n".join(errors)
    out = BytesIO()
    write_mo(out, catalog)
    compiled = read_mo(BytesIO(out.getvalue()))
    lost = [describe(e.id, e.context) for e in catalog
            if e.id and e.string and not e.fuzzy and compiled.get(e.id, context=e.context) is None]
    assert not lost, f"translations left out of the compiled {catalog.locale} catalog: {lost}"
