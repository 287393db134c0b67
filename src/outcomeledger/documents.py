"""Reading contract definitions and variations from TOML or JSON files (DESIGN 4.1, 4.2).

Numbers are read exactly (TOML floats become Decimals, never binary floats) and
unknown keys are refused with the path of the offending key.
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from .document_problems import check, json_lines, toml_lines
from .errors import InvalidInput, Problem
from .terms import ContractTerms, Variation

T = TypeVar("T", ContractTerms, Variation)

_JSON = msgspec.json.Decoder(float_hook=Decimal)
_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def _problem_from_validation(source: str, error: msgspec.ValidationError) -> Problem:
    text = str(error)
    field = "document"
    if m := _PATH.search(text):
        field = m["path"].lstrip(".") or "document"
        text = text[: m.start()]
    return Problem(source, None, field, text)


def _read_toml(path: Path, text: str) -> Any:
    source = str(path)
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
        line = int(m[1]) if m else None
        raise InvalidInput([Problem(source, line, "document", f"invalid TOML: {e}")]) from None
    except RecursionError:  # tomllib recurses once per nesting level
        raise InvalidInput([Problem(source, None, "document", "invalid TOML: nested too "
                                    "deeply (expected a contract document)")]) from None


def load_document(path: Path, kind: type[T]) -> T:
    """Load and type-check one document; the semantic checks live with the terms."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput([Problem(source, None, "file", "no such file")]) from None
    except UnicodeDecodeError as e:
        raise InvalidInput([Problem(source, _line_at(path, e.start), "file",
                                    f"not UTF-8 text (got byte 0x{e.object[e.start]:02x}: "
                                    f"{e.reason} at byte {e.start}{_utf16_hint(e.object)}; "
                                    "expected UTF-8)")]) from None
    except IsADirectoryError:
        raise InvalidInput([Problem(source, None, "file", "is a directory (expected a TOML "
                                    "or JSON file)")]) from None
    except OSError as e:
        raise InvalidInput([Problem(source, None, "file", f"cannot read "
                                    f"({e.strerror or e})")]) from None
    if "\x00" in text:
        at = text.index("\x00")
        raise InvalidInput([Problem(source, text.count("\n", 0, at) + 1, "file",
                                    "a NUL character (expected text)")])
    try:
        if path.suffix.lower() == ".json":
            # JSON numbers decode straight into Decimal fields, exactly.
            data = _JSON.decode(text.encode())
            lines = json_lines(text)
        else:
            data = _read_toml(path, text)
            lines = toml_lines(text)
        # Every problem of the document, each on its line, before msgspec's first one.
        if problems := check(source, data, kind, lines):
            raise InvalidInput(problems)
        return msgspec.convert(data, kind, strict=False)
    except msgspec.ValidationError as e:
        raise InvalidInput([_problem_from_validation(source, e)]) from None
    except msgspec.DecodeError as e:
        raise InvalidInput([Problem(source, None, "document", f"invalid JSON: {e}")]) from None
    except RecursionError:
        raise InvalidInput([Problem(source, None, "document", "nested too deeply (expected "
                                    "a contract document)")]) from None


def _line_at(path: Path, offset: int) -> int:
    return path.read_bytes().count(b"\n", 0, offset) + 1


def _utf16_hint(data: bytes) -> str:
    """Spreadsheets and Windows tools often save UTF-16: say so rather than name a byte."""
    return "; this looks like UTF-16 text" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""


def load_terms(path: Path) -> ContractTerms:
    return load_document(path, ContractTerms)


def load_variation(path: Path) -> Variation:
    return load_document(path, Variation)
