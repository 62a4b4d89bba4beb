"""Keep the message catalogs in step with the code: `python -m bot.i18n_catalog check|update`.

`check` lists message ids the code uses that a catalog lacks or leaves untranslated, ids a catalog
has that the code no longer uses, and translations whose {placeholders} differ from the English.
`english` only regenerates the English catalog (safe to run at any time).
`update` regenerates the English catalog from the code (English ids are the source text) and adds
every new id to the other languages' `messages.po` with an empty translation, for a translator
to fill in; it drops ids the code no longer uses.
"""

from __future__ import annotations

import argparse
import string
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from bot.i18n import BABEL_LOCALES, DEFAULT_LANGUAGE, LANGUAGES, LOCALE_DIR, catalog_files

ROOT: Final = Path(__file__).resolve().parent.parent
SOURCE_PACKAGES: Final = ("bot", "handlers")
# `_`/`_n` defer a message (bot/ rules); `gettext`/`ngettext` translate at once (renderers).
KEYWORDS: Final[Mapping[str, tuple[int, ...] | None]] = {
    "_": None,
    "_n": (1, 2),
    "gettext": None,
    "ngettext": (1, 2),
}
# Fixed, so regenerating a catalog changes only the messages in a diff.
_FIXED_HEADER: Final[dict[str, Any]] = {
    "creation_date": datetime(2026, 11, 27, tzinfo=UTC),
    "revision_date": datetime(2026, 11, 27, tzinfo=UTC),
    "header_comment": "# followup-bot message catalog. Edit translations here; see the README.",
    "msgid_bugs_address": "https://github.com/followup-bot/followup-bot/issues",
    "copyright_holder": "followup-bot contributors",
    "fuzzy": False,
}
NOT_SOURCES: Final = frozenset({"i18n_catalog.py"})


@dataclass(frozen=True)
class UsedMessage:
    msgid: str
    plural: str | None
    locations: tuple[tuple[str, int], ...]

    @property
    def key(self) -> str | tuple[str, str]:
        return (self.msgid, self.plural) if self.plural else self.msgid


def _source_files() -> Iterator[Path]:
    for package in SOURCE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name not in NOT_SOURCES and "migrations" not in path.parts:
                yield path


def used_messages() -> dict[str, UsedMessage]:
    """Every message id the code asks for, keyed by its (singular) id."""
    found: dict[str, tuple[str | None, list[tuple[str, int]]]] = {}
    for path in _source_files():
        relative = str(path.relative_to(ROOT))
        for line, message, _comments, _context in extract_from_file(
            "python", str(path), keywords=dict(KEYWORDS)
        ):
            singular, plural = (message, None) if isinstance(message, str) else message[:2]
            if not singular:
                continue
            previous = found.setdefault(singular, (plural, []))
            found[singular] = (previous[0] or plural, [*previous[1], (relative, line)])
    return {
        msgid: UsedMessage(msgid, plural, tuple(locations))
        for msgid, (plural, locations) in found.items()
    }


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _read(path: Path, language: str) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=BABEL_LOCALES[language])  # type: ignore[index]


def problems(language: str) -> list[str]:
    """What is wrong with one language's catalogs, in words a translator can act on."""
    used = used_messages()
    found: dict[str, tuple[Path, object]] = {}
    issues: list[str] = []
    for path in catalog_files(language):
        for message in _read(path, language):
            if not message.id:
                continue
            singular = message.id if isinstance(message.id, str) else message.id[0]
            if singular in found and found[singular][1] != message.string:
                issues.append(f"{path.name}: {singular!r} is translated differently elsewhere")
            found[singular] = (path, message.string)
            issues += _message_problems(path.name, singular, message.id, message.string, used)
    for msgid, use in used.items():
        if msgid not in found:
            file, line = use.locations[0]
            issues.append(f"missing: {msgid!r} (used at {file}:{line})")
    return issues


def _message_problems(
    file: str,
    singular: str,
    msgid: object,
    translation: object,
    used: Mapping[str, UsedMessage],
) -> list[str]:
    if singular not in used:
        return [f"{file}: {singular!r} is no longer used by the code"]
    forms = [translation] if isinstance(translation, str) else list(translation or ())  # type: ignore[call-overload]
    if not forms or not all(forms):
        return [f"{file}: {singular!r} is not translated"]
    if (used[singular].plural is None) != isinstance(msgid, str):
        return [f"{file}: {singular!r} singular/plural differs from the code"]
    expected = placeholders(singular) | placeholders(used[singular].plural or "")
    return [
        f"{file}: {singular!r} → {form!r} has placeholders {sorted(placeholders(form))},"
        f" expected {sorted(expected)}"
        for form in forms
        if not placeholders(form) <= expected
        or (used[singular].plural is None and placeholders(form) != expected)
    ]


def update() -> None:
    used = used_messages()
    _write_english(used)
    for language in LANGUAGES:
        if language != DEFAULT_LANGUAGE:
            _update_translation(language, used)


def _write_english(used: Mapping[str, UsedMessage]) -> None:
    catalog = Catalog(
        locale=BABEL_LOCALES[DEFAULT_LANGUAGE], project="followup-bot", **_FIXED_HEADER
    )
    for use in sorted(used.values(), key=lambda item: item.locations[0]):
        text = (use.msgid, use.plural) if use.plural else use.msgid
        catalog.add(text, string=text, locations=use.locations)
    _write(catalog, LOCALE_DIR / DEFAULT_LANGUAGE / "LC_MESSAGES" / "messages.po")


def _update_translation(language: str, used: Mapping[str, UsedMessage]) -> None:
    known: dict[str, str | tuple[str, ...] | list[str] | None] = {}
    for path in catalog_files(language):
        for message in _read(path, language):
            if message.id:
                singular = message.id if isinstance(message.id, str) else message.id[0]
                known[singular] = message.string
    catalog = Catalog(
        locale=BABEL_LOCALES[language],  # type: ignore[index]
        project="followup-bot",
        **_FIXED_HEADER,
    )
    for use in sorted(used.values(), key=lambda item: item.locations[0]):
        text = (use.msgid, use.plural) if use.plural else use.msgid
        translation = known.get(use.msgid)
        if use.plural and isinstance(translation, str):
            translation = (translation,)
        if not use.plural and not isinstance(translation, str):
            translation = None
        catalog.add(
            text, string=translation or ("" if not use.plural else ("",)), locations=use.locations
        )
    for path in catalog_files(language):
        path.unlink()
    _write(catalog, LOCALE_DIR / language / "LC_MESSAGES" / "messages.po")


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, sort_output=False, include_lineno=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.i18n_catalog", description=__doc__)
    parser.add_argument("command", choices=["check", "english", "update"])
    args = parser.parse_args(argv)
    if args.command == "update":
        update()
    elif args.command == "english":
        _write_english(used_messages())
    failures = {language: problems(language) for language in LANGUAGES}
    for language, issues in failures.items():
        for issue in issues:
            print(f"[{language}] {issue}")
    total = sum(len(issues) for issues in failures.values())
    print(f"{len(used_messages())} messages; {total} problem(s)")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
