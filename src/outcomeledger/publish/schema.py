"""The OCDS 1.1.5 release schema with the metrics, performance-failures and UK extensions,
compiled once into one committed file and validated against offline.

OCDS applies an extension by merging its ``release-schema.json`` into the core schema as a
JSON Merge Patch (RFC 7386); :func:`compile_release_schema` does exactly that, in the
order of :data:`EXTENSIONS` (the UK extension patches the metrics extension's
``Observation`` and the performance-failures extension's ``PerformanceFailure``, so it
comes last). ``tests/publish/test_ocds_schema.py`` requires the committed file to equal a fresh
compilation; after updating a vendored file, rewrite it with
``python -m outcomeledger.publish.schema``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SCHEMAS = Path(__file__).resolve().parent / "schemas"
CORE = "release-schema.json"
PACKAGE = "release-package-schema.json"
#: Merge order: each may patch what an earlier one defined.
EXTENSIONS = ("metrics-extension.json", "performance-failures-extension.json",
              "uk-extension.json")
COMPILED = "release-schema-compiled.json"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: an object patch merges key by key, ``null`` removes a key, anything
    else (arrays included) replaces the target."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _read(name: str) -> Any:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def compile_release_schema() -> dict[str, Any]:
    """The core release schema with every extension of :data:`EXTENSIONS` merged in."""
    schema: dict[str, Any] = _read(CORE)
    for name in EXTENSIONS:
        schema = merge_patch(schema, _read(name))
    return schema


def schema_text(schema: dict[str, Any]) -> str:
    """The committed form: two-space indent, keys in schema order, a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


@cache
def validator() -> Draft4Validator:
    """A validator of release packages whose releases are checked against the compiled
    schema: the package schema refers to the release schema by its canonical URL, which
    the registry answers from the committed file, so nothing is fetched."""
    release = _read(COMPILED)
    registry: Registry[Any] = Registry().with_resource(
        release["id"], Resource.from_contents(release, default_specification=DRAFT4))
    return Draft4Validator(_read(PACKAGE), registry=registry)


def problems(package: Any) -> list[str]:
    """Every way ``package`` breaks the compiled schema, as ``path: message`` lines
    (none: it validates)."""
    found = sorted(validator().iter_errors(package), key=lambda e: list(map(str, e.path)))
    return [f"{'/'.join(map(str, e.path)) or '(package)'}: {e.message}" for e in found]


def write_compiled() -> Path:
    """Rewrite the committed compiled schema from the vendored files."""
    path = SCHEMAS / COMPILED
    path.write_text(schema_text(compile_release_schema()), encoding="utf-8")
    return path


if __name__ == "__main__":
    write_compiled()
