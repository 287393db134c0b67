"""The bad-input catalogue (issue 15, items 6 and 7): every input the ledger must refuse,
run through the command line.

Each case is one line of ``CASES``: the command (``{name}`` is the path of one of the
case's files, ``{tmp}`` its folder, ``{db}`` the ledger), the files it reads, and a few
words the one error message must hold. Every case must end the same way: exit 1 or 2,
an ``error:`` message and no traceback, the ledger's events exactly as they were (count
and bytes, so its head too), and no file created, changed or left behind anywhere in
the test's folder (a 0-byte report, a half-written pack, the ledger overwritten).

To add a case, add a line. ``patch`` simulates what a test cannot arrange for real: a
full disk (every write to the case's folder fails with ENOSPC), a read-only ledger
(the process may not write the ledger's file or folder), a projection write that fails.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import io
import json
import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

import outcomeledger.projections
from ledgered import CONTRACT, COST_HEADER, FLEX, FLEX_RETURNS, RISK, Ledgered
from outcomeledger.cli import cli
from outcomeledger.domain.signing import load_private_key, new_private_key_pem, sign_digest
from outcomeledger.imports.signing import sign_file

ROOT = Path(__file__).resolve().parents[2]
Patch = Callable[[pytest.MonkeyPatch, Path, str], None]


@dataclass(frozen=True)
class Bad:
    args: tuple[str, ...]
    files: dict[str, str | bytes] = field(default_factory=dict)
    says: str = ""  # words of the error message
    db: str | None = None  # --db, when not the ledger ("{name}" allowed)
    patch: Patch | None = None


# -- what the cases simulate -------------------------------------------------------------

class _FullFile:
    """A file on a full disk: opened (and so created), every write refused."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def write(self, _data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __enter__(self) -> _FullFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._real.close()


def disk_full(monkeypatch: pytest.MonkeyPatch, folder: Path, _db: str) -> None:
    """Every file opened for writing in ``folder`` is on a full disk (``io.open`` is what
    ``open``, ``Path.open``/``write_text`` and ``os.fdopen`` all call)."""
    real_open = io.open

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        f = real_open(file, mode, *args, **kwargs)
        name = Path(f"/proc/self/fd/{file}").readlink() if isinstance(file, int) else file
        if any(m in mode for m in "wax+") and Path(name).resolve().is_relative_to(folder):
            return _FullFile(f)
        return f

    monkeypatch.setattr(io, "open", fake_open)


def read_only(monkeypatch: pytest.MonkeyPatch, _folder: Path, db: str) -> None:
    """The ledger is on a read-only mount (tests may run as root, where chmod does not
    stop a write): what ``os.access`` and ``os.statvfs`` say is all the ledger asks."""
    real_access, real_statvfs = os.access, os.statvfs
    ledger = Path(db).resolve()

    def access(path: Any, mode: int, *args: Any, **kwargs: Any) -> bool:
        if mode & os.W_OK and Path(path).resolve() in (ledger, ledger.parent):
            return False
        return real_access(path, mode, *args, **kwargs)

    def statvfs(path: Any) -> Any:
        found = real_statvfs(path)
        if Path(path).resolve() != ledger.parent:
            return found
        fields = {name: getattr(found, name) for name in dir(found) if name.startswith("f_")}
        return type("StatVfs", (), {**fields, "f_flag": found.f_flag | os.ST_RDONLY})()

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(os, "statvfs", statvfs)


def projection_disk_full(name: str) -> Patch:
    """The projection step ``name`` (catch_up, rebuild) fails as SQLite does on a full
    disk; its transaction rolls back."""
    def patch(monkeypatch: pytest.MonkeyPatch, _folder: Path, _db: str) -> None:
        def full(*_args: object, **_kwargs: object) -> object:
            raise sqlite3.OperationalError("database or disk is full")
        monkeypatch.setattr(outcomeledger.projections, name, full)
    return patch


# -- inputs ----------------------------------------------------------------------------------

def ndjson(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


def ret(**fields: object) -> str:
    """One NDJSON return row of C-IMP (fields added at the end, repeated keys allowed by
    writing them out as given)."""
    extra = "".join(f',"{k.rstrip("_")}":{v}' for k, v in fields.items())
    return f'{{"contract":"C-IMP","period":"FY2020-Q1","outcome":"WB","value":1{extra}}}'


def contract(reference: str = "C-NEW", title: str = "T") -> str:
    return (CONTRACT.replace('"C-IMP"', f'"{reference}"')
            .replace('"Import test contract"', f'"{title}"'))


HEADER = "contract,period,outcome,value\n"
PARTICIPANT_HEADER = "contract,period,outcome,value,participant\n"
PSEUDO = 'participant_ids = "pseudonymised"\n' + CONTRACT.replace('reference = "C-IMP"',
                                                                  'reference = "C-PSEUDO"')
P_HEADER = "contract,period,outcome,value,participant,evidence\n"
A_HEADER = "contract,period,kind,amount,reason\n"
CONTRACT_JSON = ('{"reference":"J-1","title":"T","buyer":"B","supplier":"S",'
                 '"start":"2020-04-01","end":"2021-03-31","cadence":"quarter",'
                 '"outcomes":[{"code":"A","name":"n","price":"10"}]}')
DEEP = "[" * 100_000 + "]" * 100_000
KEY_PEM = new_private_key_pem()[0]
# Issue 21: C-SIGNED takes signed returns from P1 (a file signed with sequence 5 is in);
# C-KEYED's commissioner ann signs every write with her key.
PROVIDER_PEM, PROVIDER_PUBLIC = new_private_key_pem()
ANN_PEM, ANN_PUBLIC = new_private_key_pem()
SIGNED = CONTRACT.replace('reference = "C-IMP"', 'reference = "C-SIGNED"').replace(
    'providers = [{ id = "P1", name = "Provider one" }, { id = "P2", name = "Provider two" }]',
    f'signed_returns = true\nproviders = [{{ id = "P1", name = "One", public_key = '
    f'"{PROVIDER_PUBLIC}" }}]')
KEYED = CONTRACT.replace('reference = "C-IMP"', 'reference = "C-KEYED"').replace(
    'cadence = "quarter"\n', f'cadence = "quarter"\nactors = [{{ name = "ann", role = '
    f'"commissioner", public_key = "{ANN_PUBLIC}" }}]\n')
S_HEADER = "contract,period,outcome,value,provider\n"
S_ROWS = S_HEADER + "C-SIGNED,FY2020-Q1,WB,1,P1\n"


def signature_file(rows: str, sequence: int) -> str:
    return sign_file(rows.encode(), "s.csv", load_private_key(PROVIDER_PEM), sequence)


# Issue 21, the actor registry: ada administers it, cora commissions programmes
# (REGISTRY_CASES run on a ledger whose registry holds them; CASES on one with none).
ADA_PEM, ADA_PUBLIC = new_private_key_pem()
CORA_PEM, CORA_PUBLIC = new_private_key_pem()


def actors_file(*entries: tuple[str, str, str], extra: str = "") -> str:
    """An ``actors register`` file of (name, role, public key) entries."""
    return "".join(f'[[actors]]\nname = "{name}"\nrole = "{role}"\npublic_key = "{key}"\n'
                   f"{extra}\n" for name, role, key in entries)


REGISTRY = actors_file(("ada", "administrator", ADA_PUBLIC),
                       ("cora", "commissioner", CORA_PUBLIC))
REGISTER = ("actors", "register", "{a.toml}", "--reason", "r")


KEYED_ADJUST = ("adjust", "C-KEYED", "--period", "FY2020-Q1", "--kind", "bonus", "--amount",
                "5", "--reason", "r")
ADJUST = ("adjust", "C-IMP", "--period", "FY2020-Q1", "--kind", "indexation")


def flex(reference: str = "C-NEW", old: str = "", new: str = "") -> str:
    """The C-FLEX definition (extensions E1-E3, break B1) as ``reference``, the first
    ``old`` text swapped for ``new``."""
    return FLEX.replace('"C-FLEX"', f'"{reference}"').replace(old, new, 1)


def risky(old: str = "", new: str = "") -> str:
    """The C-RISK definition (a [risk_share] from line 14) as C-NEW, the first ``old`` text
    swapped for ``new``."""
    return RISK.replace('"C-RISK"', '"C-NEW"').replace(old, new, 1)


def cost_rows(*rows: str) -> str:
    return COST_HEADER + "".join(row + "\n" for row in rows)


def extend(option: str, *args: str, contract: str = "C-FLEX",
           command: str = "extend") -> tuple[str, ...]:
    return ("contract", command, contract, "--option", option, "--reason", "r", *args)


BUSINESS_CASE = """\
id = "BC-1"
title = "More delivery"
need = "An agreed need"
effective = 2025-04-01
budget = "5000"

[[outcomes]]
code = "N1"
name = "New outcome"
price = "100"
"""


def business_case(old: str = "", new: str = "", *args: str) -> Bad:
    """``contract business-case C-FLEX`` of BUSINESS_CASE with ``old`` swapped for ``new``
    (the first time it appears)."""
    return Bad(("contract", "business-case", "C-FLEX", "{bc.toml}", "--reason", "r", *args),
               {"bc.toml": BUSINESS_CASE.replace(old, new, 1)})


def networked(tables: str) -> str:
    """C-NEW whose network is P1 (lines 9-11) with ``tables`` from line 12."""
    return contract().replace(CONTRACT.splitlines()[8] + "\n",
                              '[[providers]]\nid = "P1"\nname = "Provider one"\n' + tables)


def vary(name: str) -> tuple[str, ...]:
    return ("contract", "vary", "C-IMP", f"{{{name}}}", "--effective", "2020-07-01",
            "--reason", "r")



def _indigo(price: object = 100, currency: str | None = "GBP", start: str = "2020-04") -> str:
    """A small INDIGO project (the API's form) with one priced metric and one result."""
    pricing: dict[str, object] = {"outcome_metric_id": {"value": "m1"},
                                  "price_per_unit": {"amount": {"value": price}}}
    if currency is not None:
        pricing["currency"] = {"value": currency}
    data = {"name": {"value": "A project"},
            "dates": {"start_date_of_service_provision": {"value": "2020-04"},
                      "anticipated_end_date_of_service_provision": {"value": "2021-03"}},
            "outcome_payment_commitments": [{"organisation_id": {"value": "ORG-1"}}],
            "service_provisions": [{"organisation_id": {"value": "ORG-2"}}],
            "outcome_metrics": [{"id": "m1", "definition": {"value": "Metric one"}}],
            "outcome_pricings": [pricing],
            "results": [{"outcome_metric_id": {"value": "m1"},
                         "period": {"start_date": {"value": start},
                                    "end_date": {"value": "2020-06"}},
                         "outcomes_achieved": {"value": "3"}}]}
    return json.dumps({"project": {"id": "INDIGO-T-1", "data": data}})


def _programme(budget: str = "15000", end: str = "2024-03-31") -> str:
    return (f'reference = "FCF"\ntitle = "Fair Chance Fund"\ncurrency = "GBP"\n'
            f'start = 2020-04-01\nend = {end}\nbudget = "{budget}"\nfunders = [\n'
            '  { id = "DCLG", name = "DCLG", commitment = "10000" },\n'
            '  { id = "CO", name = "Cabinet Office", commitment = "5000" },\n]\n')


CASES: dict[str, Bad] = {
    # readers fixed before this catalogue (tests/imports/test_reader_bytes.py)
    "returns json in UTF-16": Bad(("returns", "import", "{r.json}"),
                                  {"r.json": ("[" + ret() + "]").encode("utf-16")}, "UTF-8"),
    "returns ndjson nested too deeply": Bad(("returns", "import", "{r.ndjson}"),
                                            {"r.ndjson": DEEP + "\n"}, "nested too deeply"),
    "contract toml nested too deeply": Bad(("contract", "agree", "{c.toml}"),
                                           {"c.toml": "x = " + "[" * 100_000}, "c.toml"),
    "contract agree a directory": Bad(("contract", "agree", "{tmp}"), {}, "directory"),
    # --output: never over the ledger, whole or not at all
    "report over the ledger": Bad(("report", "C-IMP", "--format", "json", "--output", "{db}"),
                                  {}, "ledger's database file"),
    "report over the ledger's WAL": Bad(("report", "C-IMP", "--format", "json", "--output",
                                         "{db}-wal"), {}, "ledger's database file"),
    "export over the ledger": Bad(("audit", "export", "--output", "{db}"), {},
                                  "ledger's database file"),
    "signature over the ledger": Bad(("returns", "sign", "{r.csv}", "--key", "{k.pem}",
                                      "--out", "{db}"), {"r.csv": HEADER, "k.pem": KEY_PEM},
                                     "ledger's database file"),
    "report into a missing folder": Bad(("report", "C-IMP", "--output", "{tmp}/no/r.html"),
                                        {}, "no directory"),
    "export into a missing folder": Bad(("audit", "export", "--output", "{tmp}/no/p.ndjson"),
                                        {}, "no directory"),
    "demo --output into a missing folder": Bad(("demo", "--output", "{tmp}/no/d.txt"), {},
                                               "no directory", db="{tmp}/demo.db"),
    "demo --output over its own ledger": Bad(("demo", "--output", "{tmp}/demo.db"), {},
                                             "ledger's database file", db="{tmp}/demo.db"),
    "report on a full disk": Bad(("report", "C-IMP", "--output", "{tmp}/r.html"), {},
                                 "No space left", patch=disk_full),
    "report over an older one on a full disk": Bad(("report", "C-IMP", "--output", "{r.html}"),
                                                   {"r.html": "<p>last month's</p>"},
                                                   "No space left", patch=disk_full),
    "report csv folder on a full disk": Bad(("report", "C-IMP", "--format", "csv",
                                             "--output", "{tmp}/"), {}, "No space left",
                                            patch=disk_full),
    # the finance workbook (issue 20): a file, written whole, never to a terminal
    "report xlsx to stdout": Bad(("report", "C-IMP", "--format", "xlsx"), {}, "--output"),
    "report xlsx into a folder": Bad(("report", "C-IMP", "--format", "xlsx", "--output",
                                      "{tmp}/"), {}, "it is a directory"),
    "report xlsx over the ledger": Bad(("report", "C-IMP", "--output", "{db}", "--format",
                                        "xlsx"), {}, "ledger"),
    "report xlsx into a missing folder": Bad(("report", "C-IMP", "--output",
                                              "{tmp}/no/r.xlsx"), {}, "no directory"),
    "report xlsx on a full disk": Bad(("report", "C-IMP", "--output", "{tmp}/r.xlsx"), {},
                                      "No space left", patch=disk_full),
    # tables that fit a terminal (issue 20)
    "table width of 0": Bad(("--width", "0", "contract", "list"), {}, "--width"),
    "table width narrower than a table can be": Bad(("--width", "19", "payments", "C-IMP"),
                                                    {}, "20"),
    "table width not a number": Bad(("--width", "wide", "contract", "list"), {}, "--width"),
    "export on a full disk": Bad(("audit", "export", "--output", "{tmp}/p.ndjson"), {},
                                 "No space left", patch=disk_full),
    "keygen on a full disk": Bad(("returns", "keygen", "--out", "{tmp}/k.pem"), {},
                                 "No space left", patch=disk_full),
    "schema --write on a full disk": Bad(
        ("schema", "--write", "--dir", "{tmp}/projections"),
        {"projections/README.md": (ROOT / "projections" / "README.md").read_bytes()},
        "No space left", patch=disk_full),
    "schema --write into a missing folder": Bad(("schema", "--write", "--dir", "{tmp}/no"),
                                                {}, "no directory"),
    # project and replay on a full disk
    "project on a full disk": Bad(("project",), {}, "disk is full",
                                  patch=projection_disk_full("catch_up")),
    "replay on a full disk": Bad(("replay",), {}, "disk is full",
                                 patch=projection_disk_full("rebuild")),
    # --db that is no ledger
    "--db a text file": Bad(("contract", "list"), {"notes.txt": "hello\n"},
                            "not a ledger database", db="{notes.txt}"),
    "--db a text file, init": Bad(("init",), {"notes.txt": "hello\n"},
                                  "not a ledger database", db="{notes.txt}"),
    "--db a directory": Bad(("contract", "list"), {}, "directory", db="{tmp}"),
    "--db postgresql port out of range": Bad(("contract", "list"), {}, "malformed",
                                             db="postgresql://u@127.0.0.1:99999/x"),
    "--db postgresql bad IPv6 host": Bad(("contract", "list"), {}, "malformed",
                                         db="postgresql://u@[::1/x"),
    # a read-only ledger: reads work (test_read_only_ledger...), writes are refused
    "import into a read-only ledger": Bad(("returns", "import", "{r.csv}"),
                                          {"r.csv": HEADER + "C-IMP,FY2020-Q2,WB,3\n"},
                                          "readonly", patch=read_only),
    "agree into a read-only ledger": Bad(("contract", "agree", "{c.toml}"),
                                         {"c.toml": contract()}, "readonly", patch=read_only),
    # duplicate keys in JSON
    "returns ndjson key twice": Bad(("returns", "import", "{r.ndjson}"),
                                    {"r.ndjson": ndjson(ret(value_=9))}, "value: appears twice"),
    "returns ndjson key twice, spaced": Bad(("returns", "import", "{r.ndjson}"), {
        "r.ndjson": '{"contract":"C-IMP", "value" : 1,"period":"FY2020-Q1","outcome":"WB",'
                    ' "value":2}\n'}, "value: appears twice"),
    "returns ndjson key twice, escaped": Bad(("returns", "import", "{r.ndjson}"), {
        "r.ndjson": ndjson(ret(participant='"p"', evidence='"a:b"',
                               evid_='"c"').replace('"evid"', '"evid\\u0065nce"'))},
        "evidence: appears twice"),
    "returns json key twice": Bad(("returns", "import", "{r.json}"),
                                  {"r.json": "[\n" + ret(outcome='"ENTRY"') + "\n]\n"},
                                  "outcome: appears twice"),
    "adjustments ndjson key twice": Bad(("adjust", "--file", "{a.ndjson}"), {"a.ndjson": (
        '{"contract":"C-IMP","period":"FY2020-Q1","kind":"bonus","amount":"10",'
        '"amount":"99","reason":"r"}\n')}, "amount: appears twice"),
    "contract json key twice": Bad(("contract", "agree", "{c.json}"), {
        "c.json": CONTRACT_JSON.replace('"title":"T"', '"title":"T","title":"U"')},
        "title: appears twice"),
    "variation json key twice": Bad(vary("v.json"), {"v.json": '{"title":"A","title":"B"}'},
                                    "appears twice"),
    # numbers and periods in other scripts' digits; negative zero
    "value in Arabic-Indic digits": Bad(("returns", "import", "{r.csv}"),
                                        {"r.csv": HEADER + "C-IMP,FY2020-Q1,WB,\u0665\n"},
                                        "not a finite number"),
    "value in full-width digits, ndjson": Bad(("returns", "import", "{r.ndjson}"), {
        "r.ndjson": ndjson(ret().replace('"value":1', '"value":"\uff15"'))},
        "not a finite number"),
    "period in full-width digits": Bad(("returns", "import", "{r.csv}"), {
        "r.csv": HEADER + "C-IMP,FY\uff12\uff10\uff12\uff10-Q1,WB,1\n"}, "period"),
    "adjust --amount in full-width digits": Bad((*ADJUST, "--amount", "\uff15", "--reason",
                                                 "r"), {}, "not a number"),
    "adjust --period in Arabic-Indic digits": Bad((
        "adjust", "C-IMP", "--period", "FY\u0662\u0660\u0662\u0660-Q1", "--kind", "bonus",
        "--amount", "5", "--reason", "r"), {}, "period"),
    "adjustments file amount in full-width digits": Bad(("adjust", "--file", "{a.csv}"), {
        "a.csv": A_HEADER + "C-IMP,FY2020-Q1,bonus,\uff15,r\n"}, "not a number"),
    "value -0": Bad(("returns", "import", "{r.csv}"), {"r.csv": HEADER + "C-IMP,FY2020-Q1,WB,-0\n"},
                    "negative zero"),
    "value -0.0, ndjson number": Bad(("returns", "import", "{r.ndjson}"), {
        "r.ndjson": ndjson(ret().replace('"value":1', '"value":-0.0'))}, "negative zero"),
    "adjust --amount -0": Bad((*ADJUST, "--amount", "-0", "--reason", "r"), {}, "amount"),
    "variation price -0.00": Bad(vary("v.toml"), {
        "v.toml": '[[outcomes]]\ncode = "WB"\nprice = "-0.00"\n'}, "price: a negative zero"),
    "contract price -0.0, json number": Bad(("contract", "agree", "{c.json}"), {
        "c.json": CONTRACT_JSON.replace('"price":"10"', '"price":-0.0')}, "negative zero"),
    # an empty variation
    "empty variation toml": Bad(vary("v.toml"), {"v.toml": "# nothing\n"}, "empty variation"),
    "empty variation json": Bad(vary("v.json"), {"v.json": "{}"}, "empty variation"),
    # fields over the CSV limit, by JSON
    "evidence over the field limit, ndjson": Bad(("returns", "import", "{r.ndjson}"), {
        "r.ndjson": ndjson(ret(participant='"p1"', evidence='"' + "x" * (1 << 24) + 'y"'))},
        "evidence: longer than the limit"),
    # control characters in text
    "participant with NUL, csv": Bad(("returns", "import", "{r.csv}"), {
        "r.csv": P_HEADER + "C-IMP,FY2020-Q1,ENTRY,1,a\x00b,\n"}, "participant: a control"),
    "participant with NUL, ndjson": Bad(("returns", "import", "{r.ndjson}"), {
        "r.ndjson": ndjson(ret(participant='"a\\u0000b"'))}, "participant: a control"),
    "evidence with an escape sequence": Bad(("returns", "import", "{r.ndjson}"), {
        "r.ndjson": ndjson(ret(participant='"p"', evidence='"\\u001b[2J"'))},
        "evidence: a control"),
    "evidence with a C1 control": Bad(("returns", "import", "{r.ndjson}"), {
        "r.ndjson": ndjson(ret(participant='"p"', evidence='"a\u0085b"'))},
        "evidence: a control"),
    "evidence with a form feed, csv": Bad(("returns", "import", "{r.csv}"), {
        "r.csv": P_HEADER + 'C-IMP,FY2020-Q1,ENTRY,1,p,"one\x0cpage"\n'},
        "evidence: a control"),
    "provider with a control, csv": Bad(("returns", "import", "{r.csv}"), {
        "r.csv": "contract,period,outcome,value,provider\nC-IMP,FY2020-Q1,WB,1,P1\x07\n"},
        "provider: a control"),
    "adjustment reason with NUL": Bad(("adjust", "--file", "{a.csv}"), {
        "a.csv": A_HEADER + "C-IMP,FY2020-Q1,bonus,10,why\x00\n"}, "reason: a control"),
    "--reason with an escape sequence": Bad((*ADJUST, "--amount", "5", "--reason",
                                             "ok\x1b[2K\r#99 forged"), {}, "reason"),
    "--period with a line break": Bad(("adjust", "C-IMP", "--period", "FY2020-Q1\nX",
                                       "--kind", "bonus", "--amount", "5", "--reason", "r"),
                                      {}, "period"),
    "--reason with NUL": Bad(("contract", "close", "C-IMP", "--reason", "a\x00b"), {},
                             "reason"),
    "contract title with a control": Bad(("contract", "agree", "{c.toml}"),
                                         {"c.toml": contract(title="T\\u0007")},
                                         "title: a control"),
    "provider name with NUL, json": Bad(("contract", "agree", "{c.json}"), {
        "c.json": CONTRACT_JSON.replace('"outcomes"', '"providers":[{"id":"P","name":'
                                        '"a\\u0000"}],"outcomes"')}, "a control"),
    # contract references
    "reference with a trailing space": Bad(("contract", "agree", "{c.toml}"),
                                           {"c.toml": contract("OPEN-1 ")}, "trailing spaces"),
    "reference with a leading space": Bad(("contract", "agree", "{c.toml}"),
                                          {"c.toml": contract(" OPEN-1")}, "trailing spaces"),
    "reference with a bidi override": Bad(("contract", "agree", "{c.toml}"),
                                          {"c.toml": contract("OPEN-\\u202e1")}, "invisible"),
    "reference with a zero-width space": Bad(("contract", "agree", "{c.toml}"),
                                             {"c.toml": contract("OPEN\\u200b-1")}, "invisible"),
    "reference with a control": Bad(("contract", "agree", "{c.toml}"),
                                    {"c.toml": contract("OPEN\\u001b-1")}, "a control"),
    "reference with a line break": Bad(("contract", "agree", "{c.toml}"),
                                       {"c.toml": contract("OPEN\\n-1")}, "a control"),
    "reference too long": Bad(("contract", "agree", "{c.toml}"),
                              {"c.toml": contract("R" * 65)}, "too long"),
    "reference confusable by case": Bad(("contract", "agree", "{c.toml}"),
                                        {"c.toml": contract("c-imp")}, "too like"),
    "reference confusable by full-width forms": Bad(
        ("contract", "agree", "{c.toml}"), {"c.toml": contract("\uff23-IMP")}, "too like"),
    "reference confusable by inner space": Bad(("contract", "agree", "{c.toml}"),
                                               {"c.toml": contract("C- IMP")}, "too like"),
    "reference confusable, json": Bad(("contract", "agree", "{c.json}"), {
        "c.json": CONTRACT_JSON.replace('"J-1"', '"c-Imp"')}, "too like"),
    # the provider network (DESIGN 10): C-IMP's P2 left on 2020-11-30 (the fixture)
    "payments --provider not in the network": Bad(
        ("payments", "C-IMP", "--provider", "NOPE"), {}, "has no provider 'NOPE'"),
    # counterfactuals (DESIGN 11): positions in C-IMP's own stream
    "payments --without not a position": Bad(
        ("payments", "C-IMP", "--without", "v2,x"), {},
        "--without: not a position (got 'x', expected whole numbers"),
    "payments --without the agreement": Bad(
        ("payments", "C-IMP", "--without", "1"), {},
        "--without: position 1 is the agreement itself: without it nothing would remain"),
    "payments --without a position not this contract's": Bad(
        ("payments", "C-IMP", "--without", "2,9999", "--format", "json"), {},
        "C-IMP has no event at position 9999 (its stream holds positions 1 to"),
    "provider share above 1": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": networked("[providers.terms]\nshare = 1.5\n")},
        "c.toml:13: providers[0].terms.share: must be at most 1 (got 1.5)"),
    "provider prices an outcome the contract lacks": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": networked('[providers.terms]\nprices = { WB = 9, NOPE = "5" }\n')},
        "c.toml:13: providers[0].terms.prices.NOPE: not an outcome of the contract"),
    "provider targets an outcome the contract lacks": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": networked('[providers.terms]\ntargets = { WB = 9, NOPE = "5" }\n')},
        "c.toml:13: providers[0].terms.targets.NOPE: not an outcome of the contract"),
    "provider target below zero": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": networked('[providers.terms]\ntargets = { WB = "-1" }\n')},
        "providers[0].terms.targets.WB: must be at least 0"),
    "provider terms empty": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": networked("[providers.terms]\n")}, "c.toml:12: providers[0].terms: empty"),
    "provider leaves before it joined": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": networked("joined = 2020-10-01\nleft = 2020-09-30\n")},
        "c.toml:13: providers[0].left: leaves before it joined (got 2020-09-30"),
    "provider joins after the claims window": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": networked("joined = 2021-06-01\n")},
        "c.toml:12: providers[0].joined: outside the contract's term"),
    "provider leaves before the contract starts": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": networked("left = 2020-03-31\n")},
        "c.toml:12: providers[0].left: before the contract starts"),
    "provider of an unknown kind": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": networked('kind = "charity"\n')},
        "c.toml:12: providers[0].kind: not one of the allowed values (got 'charity'"),
    "provider local not a boolean": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": networked('local = "yes"\n')}, "c.toml:12: providers[0].local:"),
    "provider share above 1, json": Bad(("contract", "agree", "{c.json}"), {
        "c.json": CONTRACT_JSON.replace('"outcomes"', '"providers":[{"id":"P","name":"n",'
                                        '"terms":{"share":1.01}}],"outcomes"')},
        "providers[0].terms.share: must be at most 1 (got 1.01)"),
    "return for a provider after it left": Bad(("returns", "import", "{r.csv}"), {
        "r.csv": "contract,period,outcome,value,provider\nC-IMP,FY2020-Q4,WB,1,P2\n"},
        "r.csv:2: provider: P2 left the network on 2020-11-30, before FY2020-Q4"),
    "return achieved after its provider left": Bad(("returns", "import", "{r.csv}"), {
        "r.csv": "contract,period,outcome,value,provider,participant,achieved_on\n"
                 "C-IMP,FY2020-Q3,WB,1,P2,px,2020-11-30\n"
                 "C-IMP,FY2020-Q3,ENTRY,1,P2,px,2020-12-01\n"},
        "r.csv:3: achieved_on: outside P2's membership of the network (got 2020-12-01, "
        "expected left 2020-11-30)"),
    "variation retiring a provider before its recorded return": Bad(vary("v.toml"), {
        "v.toml": '[[providers]]\nid = "P2"\nleft = 2020-06-30\n'},
        "v.toml:1: providers[P2]: P2 has a return recorded for FY2020-Q3"),
    "variation naming an unknown provider without a name": Bad(vary("v.toml"), {
        "v.toml": '[[providers]]\nid = "P9"\nleft = 2020-12-31\n'},
        "v.toml:1: providers[P9]: no provider 'P9' in the network"),
    "variation moving a provider's left before the start": Bad(vary("v.toml"), {
        "v.toml": '\n[[providers]]\nid = "P1"\nleft = 2020-03-31\n'},
        "v.toml:2: providers[0].left: before the contract starts"),
    "variation adding a provider with a share above 1, json": Bad(vary("v.json"), {
        "v.json": '{"providers": [{"id": "P5", "name": "Five", "terms": {"share": 2}}]}'},
        "must be at most 1 (got 2)"),
    # publish ocds (issue 19): read-only, but every refusal is one clean line
    "publish ocds an unknown contract": Bad(
        ("publish", "ocds", "NOPE", "--notice", "uk9", "--ocid-prefix", "ocds-abc123"), {},
        "no contract with reference 'NOPE'"),
    "publish ocds an unknown notice": Bad(
        ("publish", "ocds", "C-IMP", "--notice", "uk12", "--ocid-prefix", "ocds-abc123"), {},
        "'uk12' is not one of 'uk9', 'uk10', 'uk11'"),
    "publish ocds an unreadable --as-at": Bad(
        ("publish", "ocds", "C-IMP", "--notice", "uk9", "--as-at", "2020-13-01",
         "--ocid-prefix", "ocds-abc123"), {}, "expected an ISO date YYYY-MM-DD"),
    "publish ocds nothing to publish": Bad(
        ("publish", "ocds", "C-IMP", "--notice", "uk11", "--ocid-prefix", "ocds-abc123"),
        {}, "C-IMP: nothing to publish as UK11: the contract is not closed"),
    "publish ocds an unregistered ocid prefix": Bad(
        ("publish", "ocds", "C-IMP", "--notice", "uk9", "--ocid-prefix", "OCDS-abc"), {},
        "expected a registered OCDS prefix"),
    "publish ocds without an ocid prefix": Bad(
        ("publish", "ocds", "C-IMP", "--notice", "uk9"), {}, "no ocid prefix"),
    # the events feed and its follower (issue 19): refused before anything is read
    "events --after negative": Bad(("events", "--after", "-1"), {}, "--after"),
    "events --after not a number": Bad(("events", "--follow", "--after", "12a"), {},
                                       "'12a' is not a valid integer"),
    "events --follow --after beyond the ledger": Bad(
        ("events", "--follow", "--after", "99"), {},
        "--after: no such position (got 99, expected 0 to 24"),
    "events --follow --interval 0": Bad(("events", "--follow", "--interval", "0"), {},
                                        "--interval"),
    "events --follow --interval negative": Bad(("events", "--follow", "--interval", "-1"),
                                               {}, "--interval"),
    "events --interval without --follow": Bad(("events", "--interval", "5"), {},
                                              "--interval goes with --follow"),
    "events --follow --format json": Bad(("events", "--follow", "--format", "json"), {},
                                         "never closes"),
    "events --format unknown": Bad(("events", "--format", "xml"), {}, "--format"),
    "events of an unknown programme": Bad(("events", "--programme", "NOPE"), {},
                                          "no programme 'NOPE' in this ledger"),
    "events --contract with --programme": Bad(("events", "--contract", "C-IMP",
                                               "--programme", "FCF"), {},
                                              "--contract and --programme"),
    "events --follow an unknown contract": Bad(("events", "--follow", "--contract", "NOPE"),
                                               {}, "no contract with reference 'NOPE'"),
    "import indigo not JSON": Bad(("import", "indigo", "{p.json}"),
                                  {"p.json": "{not json"}, "invalid JSON"),
    "import indigo not an INDIGO project": Bad(("import", "indigo", "{p.json}"),
                                               {"p.json": '{"hello": 1}'},
                                               "not an INDIGO project"),
    "import indigo an amount as prose": Bad(("import", "indigo", "{p.json}"),
                                            {"p.json": _indigo(price="$8,000,000")},
                                            'price as prose (got "$8,000,000"'),
    "import indigo an invalid period": Bad(("import", "indigo", "{p.json}", "--dry-run"),
                                           {"p.json": _indigo(start="2018-13")},
                                           "results[0].period.start_date.value: not a date"),
    "import indigo no currency": Bad(("import", "indigo", "{p.json}"),
                                     {"p.json": _indigo(currency=None)},
                                     "outcome_pricings[0].currency.value: missing"),
    # extension and break options (DESIGN 11): C-FLEX has used E1; C-BROKEN was broken
    "contract with an extension of no months": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": flex(old="months = 12", new="months = 0")}, "c.toml:32: extensions[0].months"),
    "contract with a break outside the term": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": flex(old="on = 2026-03-31", new="on = 2027-04-01")},
        "c.toml:50: breaks[0].on: outside the term (got 2027-04-01"),
    "contract with an option id twice": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": flex(old='id = "B1"', new='id = "E1"')},
        "breaks[0].id: option id 'E1' appears twice"),
    "extend by an unknown option": Bad(extend("E9", "--on", "2025-04-30"), {},
                                       "--option: no extension option 'E9' in C-FLEX's terms"),
    "extend by a break option": Bad(extend("B1", "--on", "2025-04-30"), {},
                                    "--option: no extension option 'B1'"),
    "break by an extension option": Bad(extend("E3", "--on", "2025-04-30", command="break"),
                                        {}, "--option: no break option 'E3'"),
    "extend by an option used before": Bad(extend("E1", "--on", "2025-04-30"), {},
                                           "--option: E1: already exercised"),
    "extend after the option's decide_by": Bad(extend("E2", "--on", "2025-07-01"), {},
                                               "--on: E2: after its decide_by"),
    "extend --on in the future": Bad(extend("E3", "--on", "2200-01-01"), {},
                                     "--on: in the future"),
    "extend --on not a date": Bad(extend("E3", "--on", "soon"), {}, "--on"),
    "extend when the condition fails": Bad(extend("E3", "--on", "2025-04-30"), {},
                                           "--option: E3: O2 (Housed) not rated approaching "
                                           "target or better in every period judged (got "
                                           "FY2024-Q1 inadequate (3 against 5))"),
    "extend when too few periods are complete": Bad(extend("E3", "--on", "2024-10-01"), {},
                                                    "2 period(s) completed by 2024-10-01, 4 "
                                                    "needed"),
    "break after the break's date": Bad(extend("B1", "--on", "2026-04-01", command="break"),
                                        {}, "--on: B1: after the break's date"),
    "extend a contract closed by a break": Bad(extend("E3", "--on", "2025-04-30",
                                                      contract="C-BROKEN"), {}, "was closed"),
    "break a contract closed by a break": Bad(extend("B1", "--on", "2025-04-30",
                                                     contract="C-BROKEN", command="break"),
                                              {}, "was closed"),
    # business cases (DESIGN 11): each problem at its line of the file
    "business case reusing an outcome code": replace(business_case(
        'code = "N1"', 'code = "O1"'), says="bc.toml:8: outcomes[0].code: 'O1' is already "
        "a code of C-FLEX"),
    "business case with a budget of 0": replace(business_case('"5000"', '"0"'),
                                                says="bc.toml:5: budget: must be more than 0"),
    "business case with a negative budget": replace(business_case('"5000"', '"-1"'),
                                                    says="bc.toml:5: budget"),
    "business case effective off a period boundary": replace(business_case(
        "2025-04-01", "2025-05-01"), says="bc.toml:4: effective: not on a period boundary"),
    "business case effective outside the term": replace(business_case(
        "2025-04-01", "2029-04-01"), says="bc.toml:4: effective: outside the contract's term"),
    "business case naming an unknown provider": replace(business_case(
        'budget = "5000"', 'budget = "5000"\nproviders = ["P9"]'),
        says="bc.toml:6: providers[0]: C-FLEX has no providers (got 'P9'"),
    "business case with an unknown key": replace(business_case(
        'budget = "5000"', 'budget = "5000"\nbudgett = "1"'), says="bc.toml:6: budgett"),
    "business case without outcomes": replace(business_case(
        BUSINESS_CASE[BUSINESS_CASE.index("[[outcomes]]"):], ""), says="outcomes"),
    "business case --what-if of a bad file": replace(business_case(
        '"5000"', '"0"', "--what-if"), says="bc.toml:5: budget: must be more than 0"),
    "business case of an unknown contract": Bad(
        ("contract", "business-case", "NOPE", "{bc.toml}", "--reason", "r"),
        {"bc.toml": BUSINESS_CASE}, "NOPE"),
    "business case file missing": Bad(
        ("contract", "business-case", "C-FLEX", "{tmp}/missing.toml", "--reason", "r"), {},
        "no such file"),
    "business case without --reason": Bad(
        ("contract", "business-case", "C-FLEX", "{bc.toml}"), {"bc.toml": BUSINESS_CASE},
        "--reason"),
    "payments --business-case unknown": Bad(
        ("payments", "C-FLEX", "--business-case", "BC-9"), {},
        "--business-case: no business case 'BC-9' on C-FLEX (got 'BC-9', "
        "expected none: C-FLEX has no business cases)"),
    "payments --business-case with --provider": Bad(
        ("payments", "C-FLEX", "--business-case", "BC-1", "--provider", "P1"), {},
        "--provider and --business-case"),
    "import indigo a reference with a trailing space": Bad(
        ("import", "indigo", "{p.json}", "--reference", "C-NEW "), {"p.json": _indigo()},
        "reference"),
    # shared risk on cost (DESIGN 11): the [risk_share] table, and costs import (C-RISK
    # has staff 70000 recorded for FY2024-Q1)
    "risk share bands not increasing": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": risky('upto = "1.1"', 'upto = "0.8"')},
        "c.toml:19: risk_share.bands[1].upto: bands must increase (got 0.8 after 0.9"),
    "risk share with a share above 1": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": risky('supplier_share = "0.8"', 'supplier_share = "1.5"')},
        "risk_share.bands[2].supplier_share: must be at most 1 (got 1.5)"),
    "risk share with a negative share": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": risky('supplier_share = "0.25"', 'supplier_share = "-0.25"')},
        "risk_share.bands[0].supplier_share: must be at least 0 (got -0.25)"),
    "risk share with a target cost of 0": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": risky('target_cost = "800000"', 'target_cost = "0"')},
        "c.toml:15: risk_share.target_cost: the cost the term is expected to take (got 0"),
    "risk share with a negative pain cap": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": risky('pain_cap = "30000"', 'pain_cap = "-1"')},
        "c.toml:16: risk_share.pain_cap: must be at least 0 (got -1)"),
    "risk share with an upto on its last band": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": risky('{ supplier_share = "0.8" }', '{ upto = "2", supplier_share = "0.8" }')},
        "risk_share.bands[2].upto: the last band is open (got upto = 2"),
    "risk share with an unknown key": Bad(("contract", "agree", "{c.toml}"), {
        "c.toml": risky('pain_cap = "30000"', 'pain_capp = "30000"')},
        "c.toml:16: risk_share.pain_capp"),
    "variation with an unsound risk share": Bad(
        ("contract", "vary", "C-RISK", "{v.toml}", "--effective", "2024-07-01", "--reason",
         "r"), {"v.toml": '[risk_share]\ntarget_cost = "-5"\nbands = [{ supplier_share = '
                          '"0.5" }]\n'},
        "v.toml:1: risk_share.target_cost: the cost the term is expected to take"),
    "costs for a contract without a risk share": Bad(("costs", "import", "{k.csv}"), {
        "k.csv": cost_rows("C-IMP,FY2020-Q1,staff,100,")},
        "k.csv:2: contract: C-IMP shares no risk on cost in FY2020-Q1"),
    "costs for an unknown contract": Bad(("costs", "import", "{k.csv}"), {
        "k.csv": cost_rows("NOPE,FY2024-Q1,staff,100,")}, "k.csv:2: contract: unknown contract"),
    "costs for a period after the term": Bad(("costs", "import", "{k.csv}"), {
        "k.csv": cost_rows("C-RISK,FY2026-Q1,staff,100,")},
        "k.csv:2: period: after the claims window closes (got FY2026-Q1"),
    "costs for a period before the term": Bad(("costs", "import", "{k.csv}"), {
        "k.csv": cost_rows("C-RISK,FY2023-Q4,staff,100,")},
        "k.csv:2: period: before the contract starts"),
    "costs with an amount that is not a number": Bad(("costs", "import", "{k.csv}"), {
        "k.csv": cost_rows("C-RISK,FY2024-Q2,staff,£100,")},
        "k.csv:2: amount: not a finite number (got '£100'"),
    "costs with a negative amount": Bad(("costs", "import", "{k.ndjson}"), {
        "k.ndjson": '{"contract":"C-RISK","period":"FY2024-Q2","category":"staff",'
                    '"amount":-100}\n'}, "k.ndjson:1: amount: not money spent (got -100"),
    "costs finer than a penny": Bad(("costs", "import", "{k.csv}"), {
        "k.csv": cost_rows("C-RISK,FY2024-Q2,staff,100.001,")},
        "k.csv:2: amount: finer than the GBP minor unit"),
    "costs with a row given twice": Bad(("costs", "import", "{k.csv}"), {
        "k.csv": cost_rows("C-RISK,FY2024-Q2,staff,100,", "C-RISK,FY2024-Q2,staff,100,")},
        "k.csv:3: category: staff in C-RISK FY2024-Q2 appears twice"),
    "costs with a category twice, different amounts": Bad(("costs", "import", "{k.csv}"), {
        "k.csv": cost_rows("C-RISK,FY2024-Q2,staff,100,", "C-RISK,FY2024-Q2,staff,200,")},
        "k.csv:3: amount: staff in C-RISK FY2024-Q2 appears twice with different values"),
    "costs differing between two files": Bad(("costs", "import", "{k.csv}", "{l.csv}"), {
        "k.csv": cost_rows("C-RISK,FY2024-Q2,staff,100,"),
        "l.csv": cost_rows("C-RISK,FY2024-Q2,staff,200,")},
        "l.csv:2: amount: staff in C-RISK FY2024-Q2 differs between the files"),
    "costs changed without --restate": Bad(("costs", "import", "{k.csv}"), {
        "k.csv": cost_rows("C-RISK,FY2024-Q1,staff,75000,")},
        "k.csv:2: amount: FY2024-Q1 staff was recorded as 70000; a different amount needs "
        "--restate --reason (got 75000)"),
    "costs --restate without --reason": Bad(("costs", "import", "{k.csv}", "--restate"), {
        "k.csv": cost_rows("C-RISK,FY2024-Q1,staff,75000,")}, "--restate needs --reason"),
    "costs without an amount column": Bad(("costs", "import", "{k.csv}"), {
        "k.csv": "contract,period,category\nC-RISK,FY2024-Q2,staff\n"}, "amount"),
    "costs with an empty category": Bad(("costs", "import", "{k.csv}"), {
        "k.csv": cost_rows("C-RISK,FY2024-Q2,,100,")}, "k.csv:2: category: missing"),
    # programmes (DESIGN 10): each problem at its line of the file
    "programme whose funders do not sum to the budget": Bad(
        ("programme", "agree", "{p.toml}"), {"p.toml": _programme(budget="16000")},
        "p.toml:7: funders: commitments must sum to the budget (got 15000, expected 16000"),
    "programme with a budget of 0": Bad(("programme", "agree", "{p.toml}"),
                                        {"p.toml": _programme(budget="0")},
                                        "p.toml:6: budget: must be more than 0"),
    "programme ending before it starts": Bad(("programme", "agree", "{p.toml}"),
                                             {"p.toml": _programme(end="2019-12-31")},
                                             "p.toml:5: end: before the start"),
    "programme with a funder twice": Bad(
        ("programme", "agree", "{p.toml}"),
        {"p.toml": _programme().replace('"CO"', '"DCLG"')},
        "funders[1].id: given twice (got 'DCLG'"),
    "programme with an unknown key": Bad(("programme", "agree", "{p.toml}"),
                                         {"p.toml": _programme() + 'budgte = "1"\n'},
                                         "p.toml:11: budgte"),
    "programme file missing": Bad(("programme", "agree", "{tmp}/none.toml"), {},
                                  "none.toml: file: no such file"),
    "programme vary an unknown programme": Bad(
        ("programme", "vary", "NOPE", "{v.toml}", "--effective", "2021-04-01", "--reason",
         "r"), {"v.toml": 'budget = "1"\n'}, "no programme 'NOPE' in this ledger"),
    "programme show an unknown programme": Bad(("programme", "show", "NOPE"), {},
                                               "no programme 'NOPE' in this ledger"),
    "report of an unknown programme": Bad(("report", "--programme", "NOPE"), {},
                                          "no programme 'NOPE' in this ledger"),
    "report --programme with --as-at": Bad(("report", "--programme", "NOPE", "--as-at",
                                            "2021-01-01"), {}, "--as-at"),
    "contract naming an unknown programme": Bad(
        ("contract", "agree", "{c.toml}"),
        {"c.toml": 'programme = "NOPE"\n' + CONTRACT.replace('reference = "C-IMP"',
                                                              'reference = "C-NEW"')},
        "c.toml:1: programme: no programme 'NOPE'"),
    # issue 21: authenticated actors and signed returns that cannot be replayed
    "unsigned write to a contract with keyed actors": Bad(
        ("--actor", "ann", *KEYED_ADJUST), {}, "contract C-KEYED takes signed writes only"),
    "write signed with a key not the actor's": Bad(
        ("--actor", "ann", "--key", "{m.pem}", *KEYED_ADJUST), {"m.pem": KEY_PEM},
        "is not the key of actor 'ann' on contract C-KEYED"),
    "--key that is not a key": Bad(("--key", "{k.pem}", *ADJUST[:-1], "bonus", "--amount",
                                    "5", "--reason", "r"), {"k.pem": "junk\n"},
                                   "k.pem: --key: not an unencrypted PEM private key"),
    "--key that cannot be read": Bad(("--key", "{tmp}/none.pem", *ADJUST[:-1], "bonus",
                                      "--amount", "5", "--reason", "r"), {},
                                     "--key: cannot read"),
    "actor public key not a key": Bad(
        ("contract", "agree", "{c.toml}"),
        {"c.toml": KEYED.replace("C-KEYED", "C-NEW").replace(ANN_PUBLIC, "nope")},
        "actors[0].public_key: not an Ed25519 public key"),
    "one key for two actors": Bad(
        ("contract", "agree", "{c.toml}"),
        {"c.toml": KEYED.replace("C-KEYED", "C-NEW").replace(
            "}]\n", f'}}, {{ name = "bob", role = "commissioner", public_key = '
            f'"{ANN_PUBLIC}" }}]\n', 1)},
        "actors[1].public_key: given the key"),
    "provider key rotated without a commissioner's signature": Bad(
        ("contract", "vary", "C-SIGNED", "{v.toml}", "--effective", "2020-07-01", "--reason",
         "new key"), {"v.toml": f'[[providers]]\nid = "P1"\npublic_key = "{ANN_PUBLIC}"\n'},
        "only by a variation signed by a commissioner's key"),
    "signed returns stopped without a commissioner's signature": Bad(
        ("contract", "vary", "C-SIGNED", "{v.toml}", "--effective", "2020-07-01", "--reason",
         "unsigned"), {"v.toml": "signed_returns = false\n"},
        "signed_returns: a provider's key changes (and signed returns stop) only by"),
    "old signed returns file imported again": Bad(
        ("returns", "import", "{s.csv}"),
        {"s.csv": S_ROWS, "s.csv.sig": signature_file(S_ROWS, 3)},
        "s.csv.sig:1: sequence: given 3, expected more than 5"),
    "scheme 1 signature": Bad(
        ("returns", "import", "{s.csv}"),
        {"s.csv": S_ROWS, "s.csv.sig": sign_digest(load_private_key(PROVIDER_PEM),
                                                   hashlib.sha256(S_ROWS.encode()).hexdigest())},
        "s.csv.sig:1: signature: given a scheme 1 signature"),
    "signature file not JSON": Bad(("returns", "import", "{s.csv}"),
                                   {"s.csv": S_ROWS, "s.csv.sig": "{oops\n"},
                                   "s.csv.sig:1: signature: given '{oops', expected one JSON"),
    "signature file not ASCII": Bad(("returns", "import", "{s.csv}"),
                                    {"s.csv": S_ROWS, "s.csv.sig": "sïg\n".encode()},
                                    "s.csv.sig:1: signature: given byte 0xc3"),
    "signature file with a field it does not know": Bad(
        ("returns", "import", "{s.csv}"),
        {"s.csv": S_ROWS, "s.csv.sig": signature_file(S_ROWS, 9).replace(
            '"scheme"', '"sheme":1,"scheme"')}, "s.csv.sig:1: signature: given"),
    "period the signature does not cover": Bad(
        ("returns", "import", "{s.csv}"),
        {"s.csv": S_ROWS, "s.csv.sig": signature_file(S_ROWS, 9).replace("FY2020-Q1",
                                                                          "FY2020-Q2")},
        "s.csv:2: period: not signed (given FY2020-Q1"),
    "variation joining an unknown programme": Bad(
        ("contract", "vary", "C-IMP", "{v.toml}", "--effective", "2020-07-01", "--reason",
         "joins"), {"v.toml": 'programme = "NOPE"\n'}, "v.toml:1: programme: no programme"),
    # erasable participant data (issue 21): C-PSEUDO pseudonymises; ANN-1 is recorded,
    # BEN-2 was recorded and erased
    "erase an unknown participant": Bad(
        ("participant", "erase", "C-PSEUDO", "NOBODY", "--reason", "Art. 17"), {},
        "unknown participant (got 'NOBODY', expected the id of a participant named by a "
        "return of contract C-PSEUDO)"),
    "erase a participant of an unknown contract": Bad(
        ("participant", "erase", "NOPE", "ANN-1", "--reason", "Art. 17"), {},
        "no contract with reference 'NOPE'"),
    "erase without --reason": Bad(("participant", "erase", "C-PSEUDO", "ANN-1"), {},
                                  "--reason"),
    "erase with a blank --reason": Bad(
        ("participant", "erase", "C-PSEUDO", "ANN-1", "--reason", " "), {},
        "--reason: a reason is required for an erasure"),
    "erase with a --reason naming the participant": Bad(
        ("participant", "erase", "C-PSEUDO", "ANN-1", "--reason", "request from ann-1"), {},
        "--reason: names the participant being erased"),
    "erase a participant erased before": Bad(
        ("participant", "erase", "C-PSEUDO", "BEN-2", "--reason", "Art. 17"), {},
        "participant 'BEN-2' of contract C-PSEUDO was erased already"),
    "erase on a contract that records ids in clear": Bad(
        ("participant", "erase", "C-IMP", "ANN-1", "--reason", "Art. 17"), {},
        "records participant ids in clear"),
    "show a participant the key store never saw": Bad(
        ("participant", "show", "C-PSEUDO", "NOBODY"), {}, "unknown participant"),
    "return naming an erased participant": Bad(
        ("returns", "import", "{r.csv}"),
        {"r.csv": PARTICIPANT_HEADER + "C-PSEUDO,FY2020-Q4,WB,1,BEN-2\n"},
        "r.csv:2: participant: erased from contract C-PSEUDO on"),
    "variation changing participant_ids": Bad(
        ("contract", "vary", "C-PSEUDO", "{v.toml}", "--effective", "2020-07-01",
         "--reason", "r"), {"v.toml": 'participant_ids = "clear"\n'},
        "v.toml:1: participant_ids"),
    # issue 21: the actor registry's file (nothing registered yet: trust on first use)
    "actor registry with an unknown role": Bad(REGISTER, {"a.toml": actors_file(
        ("ada", "administrator", ADA_PUBLIC), ("cora", "treasurer", CORA_PUBLIC))},
        "a.toml:8: actors[1].role: not one of the allowed values"),
    "actor registry with a key that is not a key": Bad(REGISTER, {"a.toml": actors_file(
        ("ada", "administrator", "bm9wZQ=="))},
        "a.toml:4: actors[0].public_key: not an Ed25519 public key"),
    "actor registry without an administrator": Bad(REGISTER, {"a.toml": actors_file(
        ("cora", "commissioner", CORA_PUBLIC))}, "a.toml:1: actors: no administrator"),
    "actor registry with an actor twice in one role": Bad(REGISTER, {"a.toml": actors_file(
        ("ada", "administrator", ADA_PUBLIC), ("ada", "administrator", CORA_PUBLIC))},
        "a.toml:7: actors[1].name: given twice with role administrator"),
    "actor registry with one key for two actors": Bad(REGISTER, {"a.toml": actors_file(
        ("ada", "administrator", ADA_PUBLIC), ("cora", "commissioner", ADA_PUBLIC))},
        "a.toml:9: actors[1].public_key: also the key of 'ada'"),
    "actor registry with an unknown key": Bad(REGISTER, {"a.toml": actors_file(
        ("ada", "administrator", ADA_PUBLIC), extra="provider = \"P1\"\n")},
        "a.toml:5: actors[0].provider"),
    "actor registry change without a reason": Bad(
        ("actors", "register", "{a.toml}", "--reason", " "), {"a.toml": REGISTRY},
        "--reason: a change of the actor registry needs a reason"),
    "actor registry file missing": Bad(("actors", "register", "{tmp}/none.toml", "--reason",
                                        "r"), {}, "none.toml: file: no such file"),
    "contract with participant_ids misspelt": Bad(
        ("contract", "agree", "{c.toml}"),
        {"c.toml": 'participant_ids = "hashed"\n' + CONTRACT.replace(
            'reference = "C-IMP"', 'reference = "C-NEW"')}, "c.toml:1: participant_ids"),
}


#: Refusals of a ledger whose actor registry holds ada (administrator) and cora
#: (commissioner), with programme FCF agreed by cora (:func:`registry_ledger`).
REGISTRY_CASES: dict[str, Bad] = {
    "programme agreed unsigned on a keyed registry": Bad(
        ("--actor", "cora", "programme", "agree", "{p.toml}"),
        {"p.toml": _programme().replace('"FCF"', '"FCF-2"')},
        "the actor registry is keyed: to agree programmes, sign the write"),
    "programme varied with a key not the actor's": Bad(
        ("--actor", "cora", "--key", "{m.pem}", "programme", "vary", "FCF", "{v.toml}",
         "--effective", "2021-04-01", "--reason", "r"),
        {"m.pem": KEY_PEM, "v.toml": 'title = "New"\n'},
        "actor 'cora' signing with key"),
    "programme varied by an administrator": Bad(
        ("--actor", "ada", "--key", "{a.pem}", "programme", "vary", "FCF", "{v.toml}",
         "--effective", "2021-04-01", "--reason", "r"),
        {"a.pem": ADA_PEM, "v.toml": 'title = "New"\n'},
        "actor 'ada' signing with key"),
    "actor registry changed unsigned once keyed": Bad(
        ("--actor", "ada", *REGISTER), {"a.toml": actors_file(
            ("ada", "administrator", ADA_PUBLIC))},
        "the actor registry is keyed: to change the actor registry, sign the write"),
    "actor registry changed by a commissioner": Bad(
        ("--actor", "cora", "--key", "{c.pem}", *REGISTER),
        {"c.pem": CORA_PEM, "a.toml": actors_file(("ada", "administrator", ADA_PUBLIC))},
        "actor 'cora' signing with key"),
    "actor registry registered again unchanged": Bad(
        ("--actor", "ada", "--key", "{a.pem}", *REGISTER),
        {"a.pem": ADA_PEM, "a.toml": REGISTRY},
        "the actor registry already holds exactly these actors"),
}


# -- the test ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledgered:
    ledgered = Ledgered(tmp_path_factory.mktemp("catalogue"))
    assert ledgered("init").exit_code == 0
    result = ledgered("contract", "agree", ledgered.write("base.toml", CONTRACT))
    assert result.exit_code == 0, result.stderr
    # (In FY2020-Q3: the cases' rows, in FY2020-Q1, are refused for their fault alone.)
    result = ledgered("returns", "import", ledgered.write("base.csv",
                                                          HEADER + "C-IMP,FY2020-Q3,WB,2\n"))
    assert result.exit_code == 0, result.stderr
    # P2 leaves the network in FY2020-Q3 (October-December), after a return for it.
    result = ledgered("contract", "vary", "C-IMP", ledgered.write(
        "leaves.toml", '[[providers]]\nid = "P2"\nleft = 2020-11-30\n'),
        "--effective", "2020-07-01", "--reason", "P2 leaves")
    assert result.exit_code == 0, result.stderr
    result = ledgered("returns", "import", ledgered.write(
        "p2.csv", "contract,period,outcome,value,provider\nC-IMP,FY2020-Q3,WB,1,P2\n"))
    assert result.exit_code == 0, result.stderr
    # C-RISK shares risk on cost, with FY2024-Q1's staff cost recorded.
    assert ledgered("contract", "agree", ledgered.write("risk.toml", RISK)).exit_code == 0
    result = ledgered("costs", "import", ledgered.write(
        "risk.csv", COST_HEADER + "C-RISK,FY2024-Q1,staff,70000,\n"))
    assert result.exit_code == 0, result.stderr
    # Issue 21: C-SIGNED holds a file P1 signed with sequence 5; C-KEYED, agreed by ann.
    assert ledgered("contract", "agree", ledgered.write("signed.toml", SIGNED)).exit_code == 0
    rows = S_HEADER + "C-SIGNED,FY2020-Q3,WB,2,P1\n"
    ledgered.write("signed.csv.sig", signature_file(rows, 5))
    result = ledgered("returns", "import", ledgered.write("signed.csv", rows))
    assert result.exit_code == 0, result.stderr
    result = ledgered("--actor", "ann", "--key", ledgered.write("ann.pem", ANN_PEM),
                      "contract", "agree", ledgered.write("keyed.toml", KEYED))
    assert result.exit_code == 0, result.stderr
    # C-PSEUDO pseudonymises its participants: ANN-1 recorded, BEN-2 recorded and erased.
    assert ledgered("contract", "agree", ledgered.write("pseudo.toml", PSEUDO)).exit_code == 0
    ledgered.imported("pseudo.csv", PARTICIPANT_HEADER + "C-PSEUDO,FY2020-Q3,WB,1,ANN-1\n"
                      "C-PSEUDO,FY2020-Q3,WB,1,BEN-2\n")
    result = ledgered("participant", "erase", "C-PSEUDO", "BEN-2", "--reason", "Art. 17")
    assert result.exit_code == 0, result.stderr
    # C-FLEX with E1 exercised; C-BROKEN, the same contract, closed by its break B1.
    for ref in ("C-FLEX", "C-BROKEN"):
        assert ledgered("contract", "agree", ledgered.write(
            f"{ref}.toml", flex(ref))).exit_code == 0
        ledgered.imported(f"{ref}.csv", FLEX_RETURNS.replace("C-FLEX", ref),
                          "--received-on", "2025-04-20")
    for args in (extend("E1", "--on", "2025-04-30"),
                 extend("B1", "--on", "2025-04-30", contract="C-BROKEN", command="break")):
        result = ledgered(*args)
        assert result.exit_code == 0, result.stderr
    return ledgered


def stored(db: str) -> tuple[int, str]:
    """The number of stored events and a hash of every byte of them."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT * FROM stored_events ORDER BY rowid").fetchall()
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def files(folder: Path, db: str) -> dict[str, str]:
    """Every file under ``folder`` and its hash; SQLite's own companion files aside."""
    skip = {f"{db}-wal", f"{db}-shm", f"{db}-journal"}
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*")) if str(p) not in skip}


def fill(text: str, paths: dict[str, str]) -> str:
    for name, path in paths.items():
        text = text.replace(f"{{{name}}}", path)
    return text


@pytest.fixture(scope="module")
def registry_ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledgered:
    """A ledger whose actor registry holds ada and cora; programme FCF agreed by cora."""
    ledgered = Ledgered(tmp_path_factory.mktemp("registry"))
    assert ledgered("init").exit_code == 0
    result = ledgered("--actor", "ada", "actors", "register",
                      ledgered.write("a.toml", REGISTRY), "--reason", "first")
    assert result.exit_code == 0, result.stderr
    result = ledgered("--actor", "cora", "--key", ledgered.write("cora.pem", CORA_PEM),
                      "programme", "agree", ledgered.write("p.toml", _programme()))
    assert result.exit_code == 0, result.stderr
    return ledgered


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_input_is_refused_cleanly_and_changes_nothing(
        ledger: Ledgered, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    refused_cleanly(ledger, monkeypatch, name, CASES[name])


@pytest.mark.parametrize("name", list(REGISTRY_CASES))
def test_a_bad_input_on_a_keyed_registry_is_refused_cleanly(
        registry_ledger: Ledgered, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    refused_cleanly(registry_ledger, monkeypatch, name, REGISTRY_CASES[name])


def refused_cleanly(ledger: Ledgered, monkeypatch: pytest.MonkeyPatch, name: str,
                    case: Bad) -> None:
    """Exit 1 or 2, an error message holding ``case.says``, no traceback, the events and
    every file of the test's folder exactly as they were."""
    folder = ledger.tmp / name.replace(" ", "_").replace("/", "_")
    folder.mkdir()
    paths = {"tmp": str(folder), "db": ledger.db}
    for file_name, content in case.files.items():
        (folder / file_name).parent.mkdir(parents=True, exist_ok=True)
        paths[file_name.split("/")[-1]] = ledger.write(f"{folder.name}/{file_name}", content)
    args = [fill(a, paths) for a in case.args]
    db = fill(case.db, paths) if case.db else ledger.db
    before, files_before = stored(ledger.db), files(ledger.tmp, ledger.db)
    # Finalisers of earlier cases' objects, left to run now, not inside a case's deep
    # recursion (a 100,000-deep TOML), where they would fail as unraisable exceptions.
    gc.collect()
    if case.patch is not None:
        case.patch(monkeypatch, folder.resolve(), ledger.db)
    result = ledger.runner.invoke(cli, ["--db", db, "--actor", "tester", *args])
    monkeypatch.undo()
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{name}: {result.exception!r}")
    assert "Traceback" not in result.output
    assert result.exit_code in (1, 2), result.output
    assert "rror:" in result.stderr, result.stderr  # click's "Error:" or ours
    assert case.says in result.stderr, result.stderr
    assert stored(ledger.db) == before, "the ledger's events changed"
    assert files(ledger.tmp, ledger.db) == files_before, "a file was written or changed"


# -- beside the catalogue: what must keep working, what must read well -------------------------

def test_read_commands_work_on_a_read_only_ledger(ledger: Ledgered,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only ledger (an auditor's copy, a read-only mount) opens read-only: SQLite
    is asked for ``mode=ro`` (and ``immutable`` when not even a -shm file can be made)."""
    from outcomeledger.storage.location import locate

    read_only(monkeypatch, ledger.tmp, ledger.db)
    assert locate(ledger.db).env["SQLITE_DBNAME"].endswith("?mode=ro&immutable=1")
    for args in (("contract", "list"), ("contract", "show", "C-IMP"), ("payments", "C-IMP"),
                 ("audit", "head"), ("audit", "verify"), ("audit", "log"), ("events",),
                 ("report", "C-IMP", "--format", "json")):
        result = ledger(*args)
        assert result.exit_code == 0, (args, result.output)


def test_a_line_break_in_a_reason_cannot_forge_an_audit_log_entry(tmp_path: Path) -> None:
    """A reason may run to several lines; shown, its line breaks are escaped: one entry,
    its three lines, in ``audit log`` and in every table. The stored reason is as given."""
    ledgered = Ledgered(tmp_path)
    assert ledgered("init").exit_code == 0
    assert ledgered("contract", "agree", ledgered.write("c.toml", CONTRACT)).exit_code == 0
    forged = "ok\n#99 2026-01-01 00:00 mallory  C-IMP ContractClosed\n    closed"
    result = ledgered(*ADJUST[:-1], "bonus", "--amount", "5", "--reason", forged)
    assert result.exit_code == 0, result.output
    log = ledgered("audit", "log", "--format", "table")
    assert log.exit_code == 0, log.output
    assert not any(line.startswith("#99") for line in log.stdout.splitlines())
    assert "why: ok\\n#99 2026-01-01" in log.stdout
    table = ledgered("contract", "show", "C-IMP", "--format", "table")
    assert not any(line.startswith("#99") for line in table.stdout.splitlines())
    data = ledgered("audit", "log", "--format", "json")
    assert forged in [entry["why"] for entry in json.loads(data.stdout)]  # stored as given


def test_a_reference_is_stored_in_nfc(tmp_path: Path) -> None:
    ledgered = Ledgered(tmp_path)
    assert ledgered("init").exit_code == 0
    decomposed = "CAFE\u0301-1"  # E + combining acute
    result = ledgered("contract", "agree", ledgered.write("c.toml", contract(decomposed)))
    assert result.exit_code == 0, result.output
    assert ledgered("contract", "show", "CAF\u00c9-1", "--format", "json").exit_code == 0


def test_a_clean_ndjson_line_pays_no_exact_duplicate_check(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The duplicate-key check parses a line a second time only when its colons do not
    already prove its keys distinct: the import's hot path stays one ``bytes.count``."""
    from outcomeledger.imports import json_rows

    calls: list[bytes] = []
    real = json.loads

    def counting(raw: bytes, **kwargs: Any) -> Any:
        calls.append(raw)
        return real(raw, **kwargs)

    monkeypatch.setattr(json, "loads", counting)  # the module json_rows.py calls
    clean = ret().encode()
    assert json_rows._duplicate_key(clean, json_rows._decode_json(clean)) is None
    assert calls == []
    noted = ret(participant='"p"', evidence='"at 10:30"').encode()
    assert json_rows._duplicate_key(noted, json_rows._decode_json(noted)) is None
    assert calls == [noted]



def test_a_nul_in_a_text_cell_is_refused_before_commit_on_both_backends(
        tmp_path: Path, ledger_url: str) -> None:
    """PostgreSQL text cannot hold NUL: a participant with one, once committed, stopped
    every projection there. It is refused at the edge, on both backends, and the ledger
    goes on taking returns and projecting them."""
    ledgered = Ledgered(tmp_path, ledger_url)
    assert ledgered("init").exit_code == 0
    assert ledgered("contract", "agree", ledgered.write("c.toml", CONTRACT)).exit_code == 0
    before = ledgered.events()
    bad = ret(participant='"a\\u0000b"').replace('"WB"', '"ENTRY"')
    result = ledgered("returns", "import", ledgered.write("r.ndjson", ndjson(bad)))
    assert result.exit_code == 1, result.output
    assert "participant: a control character U+0000" in result.stderr
    assert ledgered.events() == before
    good = ret(participant='"ab"').replace('"WB"', '"ENTRY"')
    assert ledgered("returns", "import", ledgered.write("g.ndjson", ndjson(good))
                    ).exit_code == 0
    status = ledgered("project", "--status", "--format", "json")
    assert status.exit_code == 0, status.output
    assert all(p["lag_events"] == 0 for p in json.loads(status.stdout)["projections"])
