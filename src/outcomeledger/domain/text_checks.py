"""What text the ledger will not store (issue 15, item 7). Pure: no I/O.

Every event is kept for ever and shown to people (tables, ``audit log``, reports) and to
databases (PostgreSQL text cannot hold NUL: a value with one would be committed and then
break every projection). So text arriving from files or flags is refused when it holds:

* control characters (Unicode category Cc: NUL, line breaks, escape sequences that
  repaint a terminal). Tabs and line breaks are allowed only where a field is free text
  (an evidence note, a reason, a PEM public key): they are shown escaped wherever one
  line is expected (``render.shown``), never stored altered;
* in a contract reference, besides: format characters that are invisible or reorder
  text (zero-width spaces and joiners, bidi overrides), leading or trailing spaces, more
  than ``REFERENCE_MAX`` characters. A reference is normalised to NFC, and a new one is
  refused when it is *confusable* with an existing one (the same once case, compatibility
  forms and spaces are ignored: ``OPEN-1 `` and ``open-1``, ``ＯＰＥＮ-1``), since a
  return addressed to one would go to the other or to neither.

The checks are written for the import's hot loop: ``str.isprintable`` (C, and true for
almost every cell) is asked first, and only a cell it rejects is looked at closely.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal

REFERENCE_MAX = 64

#: Cc: C0 controls, DEL and C1 controls.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # \t \n \r
#: Invisible or reordering format characters (Cf) people cannot see in a reference:
#: soft hyphen, Arabic letter mark, zero-width space/non-joiner/joiner, LRM/RLM, the
#: bidi embeddings, overrides and isolates, word joiner and invisible operators, BOM.
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")
_SPACES = re.compile(r"\s+")

#: Fields of free text, which may hold tabs and line breaks (a pasted note, a PEM key).
FREE_TEXT = frozenset({"evidence", "reason", "public_key"})


def control_problem(text: str, field: str = "") -> str | None:
    """Why ``text`` cannot be stored in ``field`` (a control character), or None."""
    if text.isprintable():
        return None
    found = (_CONTROL_BUT_LINES if field in FREE_TEXT else _CONTROL).search(text)
    if found is None:
        return None
    return (f"a control character {_name(found.group())} at character {found.start() + 1}"
            f" (got {_excerpt(text, found.start())}, expected printable text"
            f"{'; tabs and line breaks are allowed' if field in FREE_TEXT else ''})")


def first_control(cells: Sequence[str], names: Iterable[str]) -> tuple[str, str] | None:
    """The first (field, problem) of a row's cells, or None: one C-level test of the
    whole row when it is clean, which nearly every row is."""
    if "".join(cells).isprintable():
        return None
    for name, cell in zip(names, cells, strict=False):
        if (problem := control_problem(cell, name)) is not None:
            return name, problem
    return None


def reference_problem(reference: str) -> str | None:
    """Why ``reference`` cannot name a contract, or None. (Given NFC-normalised.)"""
    if not reference:
        return "must not be empty"
    if (problem := control_problem(reference)) is not None:
        return problem
    if found := _INVISIBLE.search(reference):
        return (f"an invisible or text-reordering character {_name(found.group())} at "
                f"character {found.start() + 1} (got {reference!r}, expected visible "
                "characters only)")
    if reference != reference.strip():
        return (f"leading or trailing spaces (got {reference!r}, expected "
                f"{reference.strip()!r})")
    if len(reference) > REFERENCE_MAX:
        return (f"too long (got {len(reference)} characters, expected at most "
                f"{REFERENCE_MAX})")
    return None


def normal_reference(reference: str) -> str:
    """The stored form of a reference: NFC, so that the same letters typed on two
    systems (é as one code point or e + combining accent) are one contract."""
    return unicodedata.normalize("NFC", reference)


def skeleton(reference: str) -> str:
    """What a person sees: case, compatibility forms (full-width, ligatures) and spaces
    ignored. Two references with one skeleton are confusable."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", reference).casefold())


def confusable_with(reference: str, existing: Iterable[str]) -> str | None:
    """An existing reference (not ``reference`` itself) that ``reference`` would be
    confused with, or None."""
    mine = skeleton(reference)
    for other in existing:
        if other != reference and skeleton(other) == mine:
            return other
    return None


def is_negative_zero(value: Decimal) -> bool:
    """``-0``, ``-0.00``: a sign on nothing, which a typo or a spreadsheet formula writes
    and which would be stored, and shown, as ``-0``."""
    return value.is_zero() and value.is_signed()


def _name(char: str) -> str:
    return f"U+{ord(char):04X}" + (f" {unicodedata.name(char)}" if unicodedata.name(char, "")
                                    else "")


def _excerpt(text: str, at: int) -> str:
    start = max(0, at - 20)
    return repr(text[start:at + 20])


def document_problems(data: object, path: str = "") -> list[tuple[str, str]]:
    """(field path, problem) for every key and string of a decoded contract or variation
    document that holds a control character."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[str, object]] = [(path, data)]
    while stack:  # iterative: a document's depth is not ours to trust
        where, value = stack.pop()
        if isinstance(value, str):
            field = where.rsplit(".", 1)[-1].split("[", 1)[0]
            if (problem := control_problem(value, field)) is not None:
                found.append((where or "document", problem))
        elif isinstance(value, dict):
            for key, item in value.items():
                name = str(key)
                if (problem := control_problem(name)) is not None:
                    found.append((where or "document", f"a key with {problem}"))
                stack.append((f"{where}.{name}" if where else name, item))
        elif isinstance(value, list | tuple):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(value))
    return sorted(found)


def negative_zeros(value: object, path: str = "") -> list[str]:
    """The paths of every ``-0`` amount in a decoded document (Structs, sequences,
    mappings): a sign on nothing, stored and shown as ``-0.00`` for ever."""
    found: list[str] = []
    stack: list[tuple[str, object]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, Decimal):
            if is_negative_zero(item):
                found.append(where or "document")
        elif isinstance(item, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(item))
        elif hasattr(item, "__struct_fields__"):
            stack.extend((f"{where}.{name}" if where else name, getattr(item, name))
                         for name in item.__struct_fields__)
    return sorted(found)
