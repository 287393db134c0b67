"""Every problem of a contract or variation document, each with the line it is on.

msgspec stops at the first error of a document and names it by path only
(``$.outcomes[2].price``). Users fix files better with the whole list, located as
returns files are (``FILE:LINE: field: message (got …, expected …)``): this module walks
the decoded document against the Structs of :mod:`outcomeledger.domain.terms`, field by field,
and finds each field's line by locating its key in the text (TOML headers and
``key =`` lines; JSON keys by a small scanner that tracks where it is in the tree).
"""

from __future__ import annotations

import dataclasses
import difflib
import pathlib
import re
import types
from decimal import Decimal
from typing import Any, Literal, Union, get_args, get_origin

import msgspec
from msgspec import Struct, UnsetType

from ..domain.errors import Problem
from .key_meanings import TABLE_KEYS

Path = tuple[str | int, ...]
Lines = dict[Path, int]


def check(source: str, data: Any, kind: type[Struct], lines: Lines) -> list[Problem]:
    """Every problem of ``data`` (decoded TOML or JSON) read as a ``kind`` document."""
    found: list[tuple[Path, str]] = []
    _struct(data, kind, (), found)
    return [Problem(source, line_of(lines, path), dotted(path) or "document", message)
            for path, message in found]


def dotted(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def line_of(lines: Lines, path: Path) -> int | None:
    """The line of the deepest part of ``path`` located in the text."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _struct(data: Any, kind: type[Struct], path: Path, found: list[tuple[Path, str]]) -> None:
    if not isinstance(data, dict):
        found.append((path, f"expected a table of {kind.__name__} keys (got "
                            f"{_shown(data)})"))
        return
    fields = {f.encode_name: f for f in msgspec.structs.fields(kind)}
    for key, value in data.items():
        field = fields.get(key)
        if field is None:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            found.append(((*path, key), f"unknown key (got {key!r}, expected one of "
                                        f"{', '.join(fields)}){hint}"))
            continue
        _value(value, field.type, (*path, key), found)
    for name, field in fields.items():
        if field.required and name not in data:
            found.append(((*path, name), f"missing required key {name!r}"))


def _members(annotation: Any) -> list[Any]:
    """The types a value may have, without None and UNSET (an absent key)."""
    if get_origin(annotation) in (Union, types.UnionType):
        return [t for t in get_args(annotation) if t not in (type(None), UnsetType)]
    return [annotation]


def _value(value: Any, annotation: Any, path: Path, found: list[tuple[Path, str]]) -> None:
    members = _members(annotation)
    for member in members:  # a nested table, or a list of them: every problem inside
        if isinstance(member, type) and issubclass(member, Struct) and isinstance(value, dict):
            _struct(value, member, path, found)
            return
        args = get_args(member)
        if (get_origin(member) is tuple and args and isinstance(args[0], type)
                and issubclass(args[0], Struct) and isinstance(value, list)):
            for index, item in enumerate(value):
                _struct(item, args[0], (*path, index), found)
            return
    try:
        msgspec.convert(value, annotation, strict=False)
    except msgspec.ValidationError as e:
        found.append((path, _message(value, members, e, path[-1] if path else "")))


def _message(value: Any, members: list[Any], error: msgspec.ValidationError,
             key: str | int) -> str:
    choices = [c for m in members if get_origin(m) is Literal for c in get_args(m)]
    if choices:
        return (f"not one of the allowed values (got {_shown(value)}, expected one of "
                f"{', '.join(repr(c) for c in choices)})")
    text = re.sub(r" - at `\$[^`]*`$", "", str(error))
    text = text[:1].lower() + text[1:]
    return f"{text} (got {_shown(value)}, expected {_expected(members, key)})"


_NAMES = {str: "text", int: "a whole number", bool: "true or false", Decimal: "a number",
          dict: "a table"}


def _expected(members: list[Any], key: str | int) -> str:
    names = []
    for m in members:
        origin = get_origin(m)
        if m in _NAMES:
            names.append(_NAMES[m])
        elif origin is tuple:
            names.append("a list")
        elif origin is dict:
            names.append(f"a table of {TABLE_KEYS.get(str(key), 'period')}: number")
        else:
            names.append(getattr(m, "__name__", str(m)).replace("date", "an ISO date "
                                                                 "YYYY-MM-DD"))
    return " or ".join(names)


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    text = repr(str(value) if isinstance(value, Decimal) else value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- where each key is ------------------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\".]+?)\s*=")
_INLINE_KEY = re.compile(r"[{,]\s*([A-Za-z0-9_\-]+)\s*=")


def toml_lines(text: str) -> Lines:
    """The line of each key path of a TOML document (first occurrence), found from its
    table headers (``[a]``, ``[[a]]`` counted per array) and ``key =`` lines; keys of
    inline tables on one line (``providers = [{ id = "P1" }, { id = "P2" }]``) are
    placed on that line, counted per ``{``."""
    lines: Lines = {}
    counts: dict[Path, int] = {}
    table: Path = ()
    array: Path | None = None  # an array of inline tables written one per line
    item = 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0].strip()
        if array is not None:
            if stripped.startswith("{"):
                lines.setdefault((*array, item), number)
                for inner in _INLINE_KEY.finditer(stripped):
                    lines.setdefault((*array, item, inner[1]), number)
                item += 1
            if stripped.startswith("]") or stripped.endswith("]"):
                array = None
            continue
        if m := _HEADER.match(line):
            names = [n.strip().strip('"') for n in m[2].split(".")]
            table = ()
            for i, name in enumerate(names):
                table = (*table, name)
                last = i == len(names) - 1
                if last and m[1] == "[[":
                    index = counts.get(table, -1) + 1
                    counts[table] = index
                    lines.setdefault(table, number)
                    table = (*table, index)
                elif table in counts:  # a sub-table of the latest array element
                    table = (*table, counts[table])
                lines.setdefault(table, number)
            continue
        if m := _KEY.match(line):
            key: Path = (*table, *(k.strip('"') for k in m[1].split(".")))
            lines.setdefault(key, number)
            rest = line[m.end():]
            value = rest.split("#", 1)[0].strip()
            if value.startswith("[") and value.count("[") > value.count("]"):
                array, item = key, value.count("{")  # elements on the lines below
            for index, element in enumerate(re.split(r"}\s*,\s*{", rest)):
                for inner in _INLINE_KEY.finditer("{" + element.lstrip(" [{")):
                    at: Path = ((*key, index, inner[1]) if rest.lstrip().startswith("[")
                                else (*key, inner[1]))
                    lines.setdefault(at, number)
    return lines


def json_lines(text: str) -> Lines:
    """The line of each key path (and array element) of a JSON document."""
    lines: Lines = {}
    stack: list[tuple[Path, int | None]] = []  # (path of the container, next index)
    path: Path = ()
    number = 1
    i, n = 0, len(text)
    key: str | None = None
    while i < n:
        ch = text[i]
        if ch == "\n":
            number += 1
        elif ch == '"':
            j = _string_end(text, i)
            if stack and stack[-1][1] is None and _colon_after(text, j + 1):
                key = text[i + 1:j]
                lines.setdefault((*stack[-1][0], key), number)
            elif stack and stack[-1][1] is not None:  # a string in an array
                _element(stack, lines, number)
            number += text.count("\n", i, j)
            i = j
        elif ch in "{[":
            if stack and stack[-1][1] is None and key is not None:
                path = (*stack[-1][0], key)
            elif stack and stack[-1][1] is not None:
                path = _element(stack, lines, number)
            else:
                path = ()
            stack.append((path, None if ch == "{" else 0))
            key = None
        elif ch in "}]":
            if stack:
                stack.pop()
        elif ch not in " \t\r,:" and stack and stack[-1][1] is not None:
            _element(stack, lines, number)  # a scalar element of an array
            while i + 1 < n and text[i + 1] not in ",]\n":
                i += 1
        i += 1
    return lines


def _string_end(text: str, start: int) -> int:
    """The closing quote of the JSON string opened at ``start`` (or the text's end)."""
    j = start + 1
    while j < len(text) and text[j] != '"':
        j += 2 if text[j] == "\\" else 1
    return j


def _colon_after(text: str, start: int) -> bool:
    """Whether the next character from ``start`` that is not white space is a colon."""
    k = start
    while k < len(text) and text[k] in " \t\r\n":
        k += 1
    return k < len(text) and text[k] == ":"


def _element(stack: list[tuple[Path, int | None]], lines: Lines, number: int) -> Path:
    """The path of the next element of the array open on top of ``stack``, found on
    line ``number``; the array's index moves on to the element after it."""
    here, index = stack[-1]
    assert index is not None
    path = (*here, index)
    lines.setdefault(path, number)
    stack[-1] = (here, index + 1)
    return path


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(field: str) -> Path:
    """``outcomes[1].price`` -> ("outcomes", 1, "price")."""
    return tuple(int(m[2]) if m[2] is not None else m[1] for m in _PART.finditer(field))


def locate(document: pathlib.Path, problems: list[Problem], *, sources: tuple[str, ...],
           nested: bool = True) -> list[Problem]:
    """``problems`` found in ``document`` after it was read (the semantic checks of the
    terms), each put on the line of its field. ``sources``: the names the checks gave the
    document. ``nested=False`` (a variation, whose checks name fields of the varied terms,
    not of the file) locates only the top-level key."""
    try:
        text = document.read_text(encoding="utf-8")
    except (OSError, UnicodeError):
        return problems
    lines = json_lines(text) if document.suffix.lower() == ".json" else toml_lines(text)
    out = []
    for p in problems:
        if p.line is None and p.source in sources:
            path = parse_path(p.field)
            line = line_of(lines, path if nested else path[:1])
            out.append(dataclasses.replace(p, source=str(document), line=line))
        else:
            out.append(p)
    return out
