"""The page catalogs: extract the messages of the templates and the page code, bring both catalogs up to date,
compile them, and tell what is missing or unused. `make messages` runs `sync`; `make` runs `compile`.

English is the source language (the msgid); the English catalog repeats it so a wording can change without a
template changing, and the Chinese catalog must translate every message."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from yibao.web.i18n import LOCALE_DIR, LOCALES

ROOT = Path(__file__).resolve().parents[3]
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


def extracted() -> dict[str, list[tuple[str, int]]]:
    """Every message the pages use, with where it is used (file relative to the repository, line)."""
    with (ROOT / "babel.cfg").open() as fp:
        method_map, options_map = parse_mapping_cfg(fp)
    found: dict[str, list[tuple[str, int]]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        if isinstance(message, tuple):
            message = message[0]
        if message:
            found.setdefault(message, []).append((filename, lineno))
    return found


def read(locale: str) -> Catalog:
    with po_path(locale).open("rb") as fp:
        return read_po(fp, locale=locale)


@dataclass
class Check:
    missing: dict[str, list[str]]  # locale -> messages used but not translated
    unused: dict[str, list[str]]  # locale -> messages in the catalog that no page uses


def check() -> Check:
    used = extracted()
    missing, unused = {}, {}
    for locale in LOCALES:
        catalog = read(locale)
        have = {m.id: m.string for m in catalog if m.id}
        missing[locale] = sorted(m for m in used if not have.get(m))
        unused[locale] = sorted(m for m in have if m not in used)
    return Check(missing, unused)


def sync() -> Check:
    """Add what the pages use, drop what they no longer use; English repeats the message."""
    used = extracted()
    for locale in LOCALES:
        path = po_path(locale)
        old = read(locale) if path.exists() else Catalog(locale=locale)
        new = Catalog(locale=locale, project="yibao", charset="utf-8")
        for message, places in sorted(used.items()):
            kept = old.get(message)
            string = kept.string if kept is not None and kept.string else (message if locale == "en" else "")
            new.add(message, string, locations=sorted(set(places)))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fp:
            write_po(fp, new, width=120, sort_output=True, omit_header=False)
    return check()


def compile_all() -> None:
    for locale in LOCALES:
        catalog = read(locale)
        with po_path(locale).with_suffix(".mo").open("wb") as fp:
            write_mo(fp, catalog)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "compile":
        compile_all()
        return 0
    result = sync() if command == "sync" else check()
    for locale in LOCALES:
        for message in result.missing[locale]:
            print(f"{locale}: not translated: {message}")
        for message in result.unused[locale]:
            print(f"{locale}: unused: {message}")
    return 1 if any(result.missing.values()) or any(result.unused.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
