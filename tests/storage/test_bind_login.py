"""PostgreSQL: ``recorded_by`` bound to the database login (sql/bind_login.sql, opt-in).

Given a ledger with sql/roles.sql and sql/bind_login.sql installed and two people logging
in as themselves (each login granted the writer role), when one of them writes claiming
the other's name (``--actor``), then the database refuses the row, the command says so in
one line with exit 1, and nothing is written; claiming their own login, the write goes in.
Every kind of event is bound: a programme's as well as a contract's.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result

from backends import Db, Server, new_db
from ledgered import CONTRACT
from outcomeledger.cli import cli

pytestmark = pytest.mark.postgresql

SQL = Path(__file__).resolve().parents[2] / "sql"
PROGRAMME = """\
reference = "PRG-LOGIN"
title = "Bound programme"
currency = "GBP"
start = 2020-04-01
end = 2024-03-31
budget = "1000"
"""


@dataclass(frozen=True)
class Logins:
    """The ledger's URL as each login, and the login names."""

    ann: str
    bob: str
    ann_url: str
    bob_url: str
    db: Db


def _psql(script: Path, url: str, *variables: str) -> None:
    psql = shutil.which("psql")
    assert psql is not None
    subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", *variables, "-f", str(script),
                    url], check=True, capture_output=True, timeout=60)


@pytest.fixture
def logins(pg_server: Server, request: pytest.FixtureRequest,
           tmp_path: Path) -> Iterator[Logins]:
    if shutil.which("psql") is None:
        pytest.skip("psql (the PostgreSQL client) is needed to run the sql/ scripts")
    db = new_db(request, "postgresql", tmp_path)
    assert run(db.url, "tester", "init").exit_code == 0
    tag = uuid.uuid4().hex[:8]
    writer, reader, ann, bob = (f"oltest_{kind}_{tag}" for kind in
                                ("writer", "reader", "ann", "bob"))
    name = db.url.rsplit("/", 1)[1]
    host = db.url.split("@", 1)[1].split("/", 1)[0]
    admin_user = db.url.split("://", 1)[1].split("@", 1)[0]
    admin_url = f"postgresql://{admin_user}@{host}/{name}"
    admin = pg_server.admin
    try:
        _psql(SQL / "roles.sql", admin_url, "-v", f"writer={writer}", "-v",
              f"reader={reader}")
        for _ in range(2):  # and once more: the script can be re-run
            _psql(SQL / "bind_login.sql", admin_url)
        for login in (ann, bob):
            admin.execute(f"CREATE ROLE {login} LOGIN IN ROLE {writer}")
            admin.execute(f"ALTER ROLE {login} SET role = '{writer}'")
        yield Logins(ann, bob, f"postgresql://{ann}@{host}/{name}",
                     f"postgresql://{bob}@{host}/{name}", db)
    finally:
        pg_server.drop(db)  # owned objects go with the database; then the roles can go
        for role in (bob, ann, reader, writer):
            admin.execute(f"DROP ROLE IF EXISTS {role}")


def run(url: str, actor: str, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["--db", url, "--actor", actor, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception)
    assert "Traceback" not in result.output
    return result


def _events(url: str) -> list[tuple[str, bytes]]:
    with closing(psycopg.connect(url, autocommit=True)) as conn:
        return [(r[0], bytes(r[1])) for r in conn.execute(
            "SELECT topic, state FROM outcomeledger_events ORDER BY notification_id")]


@pytest.mark.slow
def test_a_write_claiming_another_login_is_refused_by_the_database(
        logins: Logins, tmp_path: Path) -> None:
    contract = tmp_path / "c.toml"
    contract.write_text(CONTRACT)
    programme = tmp_path / "p.toml"
    programme.write_text(PROGRAMME)
    before = _events(logins.ann_url)
    for args in (("contract", "agree", str(contract)), ("programme", "agree", str(programme))):
        # ann, logged in as herself, claims to be bob: the database refuses the row.
        refused = run(logins.ann_url, logins.bob, *args)
        assert refused.exit_code == 1, refused.output
        [line] = refused.stderr.splitlines()
        assert line.startswith("error: ")
        assert (f"recorded_by '{logins.bob}' is not the database login '{logins.ann}'"
                in line), line
        assert line.endswith("nothing was written"), line
        assert _events(logins.ann_url) == before
    # Claiming her own login, the same writes go in, each event naming her.
    for args in (("contract", "agree", str(contract)), ("programme", "agree", str(programme))):
        accepted = run(logins.ann_url, logins.ann, *args)
        assert accepted.exit_code == 0, accepted.output
    after = _events(logins.ann_url)
    assert len(after) == len(before) + 2
    assert all(f'"recorded_by":"{logins.ann}"'.encode() in state for _, state in after[-2:])
    # bob is bound the same way: his own name passes, ann's does not.
    adjust = ("adjust", "C-IMP", "--period", "FY2020-Q1", "--kind", "bonus", "--amount",
              "5", "--reason", "bound")
    assert run(logins.bob_url, logins.ann, *adjust).exit_code == 1
    assert run(logins.bob_url, logins.bob, *adjust).exit_code == 0
    assert len(_events(logins.ann_url)) == len(after) + 1
    verified = run(logins.ann_url, logins.ann, "audit", "verify")
    assert verified.exit_code == 0, verified.output
