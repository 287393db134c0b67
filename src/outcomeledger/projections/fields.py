"""What a row type's fields say about themselves: JSON type, kind of value, description.

Read from the msgspec metadata of the row Structs (:mod:`.base`), so every document
generated from them (the README's field tables, the Datasette metadata) describes a
column exactly as the published schema does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from msgspec import inspect

from .base import Row

_JSON_TYPES: dict[type, str] = {inspect.StrType: "string", inspect.IntType: "integer",
                                inspect.BoolType: "boolean"}


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    json_type: str  # string, integer or boolean
    kind: str  # extra["kind"] of base.py (money, decimal, date, ...), or ""
    nullable: bool
    description: str


def type_text(t: Any) -> tuple[str, str, bool]:
    """(JSON type, kind of value, nullable) of a field's msgspec type."""
    kind = ""
    nullable = False
    while True:
        if isinstance(t, inspect.Metadata):
            kind = (t.extra or {}).get("kind", kind)
            t = t.type
        elif isinstance(t, inspect.UnionType):
            nullable = True
            t = next(x for x in t.types if not isinstance(x, inspect.NoneType))
        else:
            break
    return _JSON_TYPES[type(t)], kind, nullable


def description(t: Any) -> str:
    text = ""
    while isinstance(t, inspect.Metadata | inspect.UnionType):
        if isinstance(t, inspect.Metadata):
            text = (t.extra_json_schema or {}).get("description", text)
            t = t.type
        else:
            t = next(x for x in t.types if not isinstance(x, inspect.NoneType))
    return text


def fields(row: type[Row]) -> list[Field]:
    """The fields of ``row`` in column order."""
    info = inspect.type_info(row)
    assert isinstance(info, inspect.StructType)
    return [Field(f.name, *type_text(f.type), description(f.type)) for f in info.fields]


def doc(row: type[Row]) -> str:
    """The row type's docstring on one line (its table's description)."""
    return " ".join((row.__doc__ or "").split())
