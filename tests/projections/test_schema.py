"""The published projection schemas (projections/) are generated from the code."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner, Result

from outcomeledger.app.demo import build_demo
from outcomeledger.app.ledger import open_ledger
from outcomeledger.cli import cli
from outcomeledger.projections import TABLES
from outcomeledger.projections.datasette import METADATA, metadata_file
from outcomeledger.projections.schema import BEGIN, normalised, schema_files

PUBLISHED = Path(__file__).resolve().parents[2] / "projections"


def schema(*args: str) -> Result:
    return CliRunner().invoke(cli, ["schema", *args])


def test_published_schemas_match_the_code() -> None:
    result = schema("--check", "--dir", str(PUBLISHED))
    assert result.exit_code == 0, result.stderr
    for name, data in schema_files().items():
        assert (PUBLISHED / name).read_bytes() == data
    assert (PUBLISHED / METADATA).read_bytes() == metadata_file()


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    folder = tmp_path / "projections"
    shutil.copytree(PUBLISHED, folder)
    return folder


def test_check_fails_when_a_schema_drifts(copy: Path) -> None:
    path = copy / "proj_payments.schema.json"
    path.write_text(path.read_text().replace('"earned"', '"earnt"'))
    result = schema("--check", "--dir", str(copy))
    assert result.exit_code == 1
    assert "proj_payments.schema.json: differs from the code" in result.stderr


def test_check_fails_when_a_schema_is_missing_or_the_readme_drifts(copy: Path) -> None:
    (copy / "proj_audit_trail.schema.json").unlink()
    readme = copy / "README.md"
    readme.write_text(readme.read_text().replace("| `true_up` |", "| `trueup` |"))
    result = schema("--check", "--dir", str(copy))
    assert result.exit_code == 1
    assert "proj_audit_trail.schema.json: missing" in result.stderr
    assert "README.md: field tables differ from the code" in result.stderr


def test_check_fails_when_the_datasette_metadata_drifts(copy: Path) -> None:
    # Given the published Datasette metadata, edited by hand
    path = copy / "datasette-metadata.json"
    path.write_text(path.read_text().replace('"payable_minor"', '"payable"'))
    # When the published folder is checked
    result = schema("--check", "--dir", str(copy))
    # Then the drift is reported
    assert result.exit_code == 1
    assert "datasette-metadata.json: differs from the code" in result.stderr


def test_write_regenerates_exactly_what_check_expects(copy: Path) -> None:
    (copy / "proj_payments.schema.json").write_text("{}")
    (copy / "datasette-metadata.json").unlink()
    readme = copy / "README.md"
    readme.write_text(readme.read_text().split(BEGIN)[0] + BEGIN + "\n<!-- generated: "
                      "fields end -->\n")
    assert schema("--write", "--dir", str(copy)).exit_code == 0
    assert schema("--check", "--dir", str(copy)).exit_code == 0
    assert readme.read_text() == (PUBLISHED / "README.md").read_text().split(
        "<!-- generated: fields end -->")[0] + "<!-- generated: fields end -->\n"


def test_schema_prints_every_table() -> None:
    result = schema()
    assert result.exit_code == 0
    printed = msgspec.json.decode(result.stdout_bytes)
    assert list(printed) == [t.name for t in TABLES]
    assert printed["proj_payments"]["x-primary-key"] == ["contract", "period"]
    assert printed["proj_payments"]["properties"]["earned"]["pattern"]


def test_every_stored_row_is_valid_under_its_published_row_type(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with open_ledger(str(path), create=True) as ledger:
        build_demo(ledger)
    with closing(sqlite3.connect(path)) as conn:
        for table in TABLES:
            info = msgspec.inspect.type_info(table.row)
            assert isinstance(info, msgspec.inspect.StructType)
            booleans = {f.name for f in info.fields
                        if isinstance(getattr(f.type, "type", f.type), msgspec.inspect.BoolType)}
            assert table.name != "proj_payments" or booleans == {"active"}
            for values in conn.execute(f"SELECT {', '.join(table.columns)} FROM {table.name}"):
                row = dict(zip(table.columns, values, strict=True))
                row.update({f: bool(row[f]) for f in booleans})
                msgspec.convert(row, table.row)  # types, patterns, no missing fields


def test_descriptions_are_cleaned_by_our_code_not_by_the_msgspec_release() -> None:
    """msgspec 0.23 began cleaning docstring indentation in descriptions; earlier releases
    keep it. Published bytes must not depend on which release generated them."""

    class Indented(msgspec.Struct):
        """First line,
        then an indented second line."""

        a: int

    generated = {"$defs": {"Indented": {"description": "First line,\n        then an "
                                                       "indented second line."}},
                 "oneOf": ({"description": "  padded\n    body"},)}
    assert normalised(generated) == {
        "$defs": {"Indented": {"description": "First line,\nthen an indented second line."}},
        "oneOf": ({"description": "padded\nbody"},)}
    assert normalised(msgspec.json.schema(Indented))["$defs"]["Indented"]["description"] == (
        "First line,\nthen an indented second line.")
    published = [PUBLISHED / name for name in schema_files()] + [
        PUBLISHED / "report.schema.json"]
    for path in published:
        assert b"\\n " not in path.read_bytes(), f"{path}: an indented description"
