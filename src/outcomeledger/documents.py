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

from .errors import InvalidInput, Problem
from .terms import ContractTerms, Variation

T = TypeVar("T", ContractTerms, Variation)

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


def load_document(path: Path, kind: type[T]) -> T:
    """Load and type-check one document; the semantic checks live with the terms."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput([Problem(source, None, "file", "no such file")]) from None
    except UnicodeDecodeError as e:
        raise InvalidInput([Problem(source, None, "file", f"not UTF-8 text ({e.reason} at "
                                    f"byte {e.start})")]) from None
    try:
        if path.suffix.lower() == ".json":
            # JSON numbers decode straight into Decimal fields, exactly.
            return msgspec.json.decode(text.encode(), type=kind, strict=False)
        return msgspec.convert(_read_toml(path, text), kind, strict=False)
    except msgspec.ValidationError as e:
        raise InvalidInput([_problem_from_validation(source, e)]) from None
    except msgspec.DecodeError as e:
        raise InvalidInput([Problem(source, None, "document", f"invalid JSON: {e}")]) from None


def load_terms(path: Path) -> ContractTerms:
    return load_document(path, ContractTerms)


def load_variation(path: Path) -> Variation:
    return load_document(path, Variation)
