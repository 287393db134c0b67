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

from ..domain import text_checks
from ..domain.errors import InvalidInput, Problem
from ..domain.programme.terms import ProgrammeTerms, ProgrammeVariation
from ..domain.registry.events import ActorsDocument
from ..domain.terms import BusinessCase, ContractTerms
from ..domain.variations import Variation
from .document_problems import check, json_lines, toml_lines
from .json_rows import repeated_key

T = TypeVar("T", ContractTerms, Variation, ProgrammeTerms, ProgrammeVariation, BusinessCase,
            ActorsDocument)

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
        if refused := _refused_text(source, text, data, path.suffix.lower() == ".json"):
            raise InvalidInput(refused)
        # Every problem of the document, each on its line, before msgspec's first one.
        if problems := check(source, data, kind, lines):
            raise InvalidInput(problems)
        return _settled(source, msgspec.convert(data, kind, strict=False))
    except msgspec.ValidationError as e:
        raise InvalidInput([_problem_from_validation(source, e)]) from None
    except msgspec.DecodeError as e:
        raise InvalidInput([Problem(source, None, "document", f"invalid JSON: {e}")]) from None
    except RecursionError:
        raise InvalidInput([Problem(source, None, "document", "nested too deeply (expected "
                                    "a contract document)")]) from None


def terms_from_data(source: str, data: dict[str, Any]) -> ContractTerms:
    """A contract definition built by a reader (``import indigo``), checked exactly as a
    file's: every problem of the document, then the same conversion and settling."""
    problems = [Problem(source, None, where, problem)
                for where, problem in text_checks.document_problems(data)]
    if problems := problems or check(source, data, ContractTerms, {}):
        raise InvalidInput(problems)
    try:
        return _settled(source, msgspec.convert(data, ContractTerms, strict=False))
    except msgspec.ValidationError as e:
        raise InvalidInput([_problem_from_validation(source, e)]) from None


def _refused_text(source: str, text: str, data: Any, is_json: bool) -> list[Problem]:
    """Text no contract may hold (issue 15, item 7): a JSON key given twice (msgspec keeps
    the last, silently; TOML refuses it itself) and control characters anywhere."""
    problems = []
    if is_json and (key := repeated_key(text)) is not None:
        problems.append(Problem(source, None, key, "appears twice in one object (expected "
                                "each key once: which value counts depends on the reader)"))
    problems += [Problem(source, None, where, problem)
                 for where, problem in text_checks.document_problems(data)]
    return problems


def _settled(source: str, document: T) -> T:
    """A contract's reference in its stored form (NFC) and refused when it cannot name a
    contract; a variation refused when it changes nothing; a ``-0`` amount refused."""
    if zeros := text_checks.negative_zeros(document):
        raise InvalidInput([Problem(source, None, where, "a negative zero (got -0, expected "
                                    "0 or a number with a sign on its digits)")
                            for where in zeros])
    if isinstance(document, ContractTerms | ProgrammeTerms):
        reference = text_checks.normal_reference(document.reference)
        if (problem := text_checks.reference_problem(reference)) is not None:
            raise InvalidInput([Problem(source, None, "reference", problem)])
        if reference != document.reference:
            document = msgspec.structs.replace(document, reference=reference)
    elif document == Variation() or document == ProgrammeVariation():
        raise InvalidInput([Problem(source, None, "document", "an empty variation (expected "
                                    "at least one field that changes)")])
    return document


def _line_at(path: Path, offset: int) -> int:
    return path.read_bytes().count(b"\n", 0, offset) + 1


def _utf16_hint(data: bytes) -> str:
    """Spreadsheets and Windows tools often save UTF-16: say so rather than name a byte."""
    return "; this looks like UTF-16 text" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""


def load_terms(path: Path) -> ContractTerms:
    return load_document(path, ContractTerms)


def load_variation(path: Path) -> Variation:
    return load_document(path, Variation)


def load_business_case(path: Path) -> BusinessCase:
    return load_document(path, BusinessCase)


def load_programme(path: Path) -> ProgrammeTerms:
    return load_document(path, ProgrammeTerms)


def load_programme_variation(path: Path) -> ProgrammeVariation:
    return load_document(path, ProgrammeVariation)
