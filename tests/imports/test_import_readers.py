"""The streaming readers under the returns import: line numbers, hashing, compactness."""

from __future__ import annotations

import hashlib
import tracemalloc
from decimal import Decimal

from outcomeledger.domain.errors import Problem
from outcomeledger.imports.returns import OPTIONAL, REQUIRED, read_returns
from outcomeledger.imports.rows import Format, read_table
from outcomeledger.imports.sources import bytes_input


def table_rows(data: bytes, fmt: Format = "csv") -> tuple[list[tuple[int, list[str]]],
                                                          list[Problem]]:
    problems: list[Problem] = []
    source = bytes_input("f", data)
    table = read_table(source.stream, "f", fmt, REQUIRED, OPTIONAL, problems)
    return list(table.rows), problems


def test_a_quoted_field_over_several_lines_is_reported_at_the_line_it_starts() -> None:
    data = (b'contract,period,outcome,value,evidence\n'
            b'C,FY2025-Q1,O1,1,"two\nlines"\n'
            b'C,FY2025-Q1,O2,2,one\n')
    found, problems = table_rows(data)
    assert [(line, cells[-1]) for line, cells in found] == [(2, "two\nlines"), (4, "one")]
    assert problems == []


def test_rows_after_a_malformed_row_are_still_read() -> None:
    data = b'contract,period,outcome,value\nC,P,"O"x,1\nC,P,O2,2\nC,P\n'
    found, problems = table_rows(data)
    assert [line for line, _ in found] == [3]
    assert [(p.line, p.field) for p in problems] == [(2, "row"), (4, "outcome")]


def test_json_array_items_are_located_by_line() -> None:
    data = (b'[\n {"contract":"C","period":"P","outcome":"O1","value":1},\n\n'
            b' {"contract":"C","period":"P","outcome":"O2","value":0.10}\n]')
    found, problems = table_rows(data, "json")
    assert [(line, cells[3]) for line, cells in found] == [(2, "1"), (4, "0.10")]
    assert problems == []


def test_the_file_hash_covers_every_byte_even_when_reading_stops_early() -> None:
    data = b"contract,period\n" + b"x" * 200_000
    source = bytes_input("f", data)
    problems: list[Problem] = []
    read_table(source.stream, "f", "csv", REQUIRED, OPTIONAL, problems)
    assert problems  # refused at the header: the rows were never read
    assert source.finish() == hashlib.sha256(data).hexdigest()


def test_a_parsed_file_holds_its_figures_compactly() -> None:
    """About 80 bytes a row (a value, a line and a key), where a Figure per row would
    take twice that: what lets a file of millions of rows import in flat memory."""
    rows = 100_000
    data = ("contract,period,outcome,value\n" + "".join(
        f"C-{c:03d},FY2020-Q{p % 4 + 1},O{o:02d},{(c + o + p) % 50}\n"
        for p in range(4) for c in range(1250) for o in range(20))).encode()
    tracemalloc.start()
    try:
        source = bytes_input("f", data)
        problems: list[Problem] = []
        parsed = read_returns(read_table(source.stream, "f", "csv", REQUIRED, OPTIONAL,
                                         problems), "f", problems)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (parsed.rows, len(parsed.returns), problems) == (rows, 5000, [])
    assert held / rows < 120
    first = parsed.returns[("C-000", "FY2020-Q1", "")].figures()
    assert [(f.outcome, f.value, f.line) for f in first[:2]] == [
        ("O00", Decimal(0), 2), ("O01", Decimal(1), 3)]
