"""Every reader survives every byte: random bytes and damaged files through the CLI.

For each file a user hands us (returns as CSV, NDJSON and JSON; contract and variation
documents as TOML and JSON; adjustment files; detached signatures) the command either
imports cleanly or refuses cleanly: exit 0 or 1, no traceback, and on refusal the ledger's
event count is what it was. Inputs are random bytes, and valid files with bytes spliced in
(invalid UTF-8, a UTF-16 re-encoding, NUL bytes, a multi-byte character cut short).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgered import CONTRACT, Ledgered

RETURNS_CSV = b"contract,period,outcome,value,evidence\nC-IMP,FY2020-Q1,WB,2,caf\xc3\xa9\n"
RETURNS_NDJSON = (b'{"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB","value":2,'
                  b'"evidence":"caf\xc3\xa9"}\n')
RETURNS_JSON = b"[\n" + RETURNS_NDJSON.strip() + b"\n]\n"
ADJUST_CSV = b"contract,period,kind,amount,reason\nC-IMP,FY2020-Q1,bonus,10.00,caf\xc3\xa9\n"
ADJUST_NDJSON = (b'{"contract":"C-IMP","period":"FY2020-Q1","kind":"bonus","amount":"10.00",'
                 b'"reason":"caf\xc3\xa9"}\n')
CONTRACT_TOML = CONTRACT.replace('"C-IMP"', '"C-NEW"').encode()
CONTRACT_JSON = (b'{"reference":"C-NEW","title":"T","buyer":"B","supplier":"S",'
                 b'"start":"2020-04-01","end":"2021-03-31","cadence":"quarter",'
                 b'"outcomes":[{"code":"A","name":"caf\xc3\xa9","price":"10"}]}')
VARIATION_TOML = b'max_value = "5000"\n[[outcomes]]\ncode = "WB"\nprice = "11"\n'

# (file name, a valid example, the command that reads it)
Reader = tuple[str, bytes, Callable[[str], tuple[str, ...]]]
READERS: dict[str, Reader] = {
    "returns csv": ("r.csv", RETURNS_CSV, lambda f: ("returns", "import", f)),
    "returns ndjson": ("r.ndjson", RETURNS_NDJSON, lambda f: ("returns", "import", f)),
    "returns json": ("r.json", RETURNS_JSON, lambda f: ("returns", "import", f)),
    "contract toml": ("c.toml", CONTRACT_TOML, lambda f: ("contract", "agree", f)),
    "contract json": ("c.json", CONTRACT_JSON, lambda f: ("contract", "agree", f)),
    "variation toml": ("v.toml", VARIATION_TOML, lambda f: (
        "contract", "vary", "C-IMP", f, "--effective", "2020-07-01", "--reason", "fuzz")),
    "adjustments csv": ("a.csv", ADJUST_CSV, lambda f: ("adjust", "--file", f)),
    "adjustments ndjson": ("a.ndjson", ADJUST_NDJSON, lambda f: ("adjust", "--file", f)),
}


def damaged(valid: bytes) -> st.SearchStrategy[bytes]:
    """``valid`` with a hostile run of bytes spliced in at a random place."""
    hostile = st.sampled_from([b"\xe9", b"\xff\xfe", b"\x00", b"\xc3", b"\xe2\x82",
                               b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\r", b'"', b"\\u"])
    return st.builds(lambda at, run: valid[:at] + run + valid[at:],
                     st.integers(0, len(valid)), hostile | st.binary(min_size=1, max_size=8))


def variants(valid: bytes) -> st.SearchStrategy[bytes]:
    utf16 = valid.decode("utf-8").encode("utf-16")
    cut = valid[: valid.index(b"\xc3\xa9") + 1] if b"\xc3\xa9" in valid else valid[:-1]
    return st.one_of(st.binary(max_size=200), damaged(valid), st.just(utf16), st.just(cut),
                     st.just(b"\x00" * 16), st.just(valid.replace(b"\n", b"\r\n")))


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledgered:
    ledgered = Ledgered(tmp_path_factory.mktemp("bytes"))
    assert ledgered("init").exit_code == 0
    result = ledgered("contract", "agree", ledgered.write("base.toml", CONTRACT))
    assert result.exit_code == 0, result.stderr
    return ledgered


def assert_clean(ledger: Ledgered, args: tuple[str, ...]) -> None:
    before = ledger.events()
    result = ledger(*args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args}: {result.exception!r}")
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert ledger.events() == before, "a refused file wrote events"
        assert result.stderr.strip(), "a refusal must say why"


@pytest.mark.parametrize("reader", list(READERS))
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_bytes_are_imported_or_refused_cleanly(ledger: Ledgered, reader: str,
                                                    data: st.DataObject) -> None:
    name, valid, command = READERS[reader]
    content = data.draw(variants(valid))
    assert_clean(ledger, command(ledger.write(name, content)))


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(signature=st.binary(max_size=120))
def test_any_bytes_in_a_signature_file_are_refused_cleanly(ledger: Ledgered,
                                                           signature: bytes) -> None:
    path = ledger.write("s.csv", RETURNS_CSV.replace(b"2,", b"3,"))
    Path(path + ".sig").write_bytes(signature)
    assert_clean(ledger, ("returns", "import", path))


@pytest.mark.parametrize(("name", "content", "line", "field"), [
    ("bad.json", b'[\n{"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB","value":1,\n'
                 b' "evidence":"caf\xe9"}\n]\n', 3, "evidence"),
    ("bad.ndjson", b'{"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB","value":1}\n'
                   b'{"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB","evidence":"\xe9"}\n',
     2, "evidence"),
    ("utf16.json", RETURNS_JSON.decode().encode("utf-16"), 1, "row"),
])
def test_invalid_utf8_in_json_names_the_file_line_and_field(
        ledger: Ledgered, name: str, content: bytes, line: int, field: str) -> None:
    before = ledger.events()
    path = ledger.write(name, content)
    result = ledger("returns", "import", path)
    assert result.exit_code == 1, result.output
    assert f"{path}:{line}: {field}: invalid UTF-8" in result.stderr
    assert ledger.events() == before


@pytest.mark.parametrize(("content", "line", "field", "hint"), [
    (RETURNS_CSV.decode().encode("utf-16"), 1, "header", "this looks like UTF-16"),
    (RETURNS_CSV.replace(b"caf\xc3\xa9", b"caf\xe9"), 2, "evidence",
     "this looks like Windows-1252"),
])
def test_a_csv_in_another_encoding_is_named_once_with_what_to_do(
        ledger: Ledgered, content: bytes, line: int, field: str, hint: str) -> None:
    before = ledger.events()
    path = ledger.write("enc.csv", content)
    result = ledger("returns", "import", path)
    assert result.exit_code == 1
    errors = [e for e in result.stderr.splitlines() if e.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert f"{path}:{line}: {field}: invalid UTF-8" in errors[0]
    assert hint in errors[0]
    assert ledger.events() == before
