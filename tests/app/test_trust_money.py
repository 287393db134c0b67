"""Money and permanent writes (issue 14 items 1-5): a dry run never writes, an adjustment's
amount is checked before it is recorded for ever, a term the data cannot carry is reported,
a participant missing a ladder rung is excluded (not the whole import refused), and an
implausible figure is flagged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import D, adjust, agreed, fig, outcome, refusal, submit, when
from ledgered import CONTRACT, Ledgered
from outcomeledger.app.ledger import open_ledger
from outcomeledger.domain.events import ReturnSubmitted, RewardAdjusted

HEADER = "contract,period,outcome,value\n"
P_HEADER = "contract,period,participant,outcome,value\n"


CAPPED = CONTRACT.replace('cadence = "quarter"\n', 'cadence = "quarter"\n'
                          'participant_cap = "1000"\n', 1)
assert CAPPED != CONTRACT


@pytest.fixture
def ledger(tmp_path: Path, ledger_url: str) -> Ledgered:
    """C-IMP with a participant cap of 1000 (SUSTAIN requires ENTRY), on both backends:
    a dry run must leave a PostgreSQL ledger as it was, too."""
    ledgered = Ledgered(tmp_path, ledger_url)
    assert ledgered("init").exit_code == 0
    result = ledgered("contract", "agree", ledgered.write("c.toml", CAPPED))
    assert result.exit_code == 0, result.stderr
    return ledgered


def warnings(receipt: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = receipt["warnings"]
    return found


def stream(ledgered: Ledgered, reference: str = "C-IMP") -> list[object]:
    with open_ledger(ledgered.db) as opened:
        return [e for e, _ in opened.stream(reference)]


# -- 1. every writing command: a working --dry-run -------------------------------------

VARIATION = 'max_value = "5000"\n'
OTHER = CAPPED.replace('reference = "C-IMP"', 'reference = "C-NEW"')


@pytest.mark.parametrize(("name", "args", "kind"), [
    ("adjust", ("adjust", "C-IMP", "--period", "FY2020-Q1", "--kind", "bonus", "--amount",
                "1", "--reason", "dry"), "RewardAdjusted"),
    ("contract agree", ("contract", "agree", "{other}"), "ContractAgreed"),
    ("contract vary", ("contract", "vary", "C-IMP", "{variation}", "--effective",
                       "2020-07-01", "--reason", "business case"), "ContractVaried"),
    ("contract close", ("contract", "close", "C-IMP", "--reason", "ended", "--on",
                        "2021-03-31"), "ContractClosed"),
    ("returns validate", ("returns", "validate", "C-IMP", "--period", "FY2020-Q1"),
     "ReturnValidated"),
    ("returns reject", ("returns", "reject", "C-IMP", "--period", "FY2020-Q1", "--reason",
                        "no evidence"), "ReturnRejected"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_dry_run_prints_what_would_be_recorded_and_writes_nothing(
        ledger: Ledgered, name: str, args: tuple[str, ...], kind: str) -> None:
    ledger.imported("r.csv", HEADER + "C-IMP,FY2020-Q1,ENTRY,3\n")
    paths = {"other": ledger.write("other.toml", OTHER),
             "variation": ledger.write("v.toml", VARIATION)}
    before = ledger.events()
    result = ledger(*(a.format(**paths) for a in args), "--dry-run")
    assert result.exit_code == 0, result.stderr
    [event] = json.loads(result.stdout)
    assert event["type"] == kind
    assert "nothing was written" in result.stderr
    assert ledger.events() == before
    # The same command without the flag records exactly that.
    assert ledger(*(a.format(**paths) for a in args)).exit_code == 0
    assert ledger.events() == before + 1


def test_a_dry_run_of_a_payment_run_shows_the_amount_and_certifies_nothing(
        ledger: Ledgered) -> None:
    ledger.imported("r.csv", HEADER + "C-IMP,FY2020-Q1,ENTRY,3\n")
    before = ledger.events()
    result = ledger("payments", "certify", "C-IMP", "--period", "FY2020-Q1", "--dry-run",
                    "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["amount"] == "300.00"
    assert ledger.events() == before


def test_a_dry_run_is_refused_as_the_write_would_be(ledger: Ledgered) -> None:
    before = ledger.events()
    result = ledger("adjust", "C-IMP", "--period", "FY2020-Q1", "--kind", "penalty",
                    "--amount", "50", "--reason", "dry", "--dry-run")
    assert result.exit_code == 1
    assert "penalty reduces what is owed" in result.stderr
    assert ledger.events() == before


# -- 2. adjustment amounts -----------------------------------------------------------------

@pytest.mark.parametrize(("kind", "amount", "message"), [
    ("bonus", "0.001", "amount: finer than the GBP minor unit (got 0.001, expected a "
                       "multiple of 0.01)"),
    ("penalty", "50", "amount: a penalty reduces what is owed (got 50, expected a negative "
                      "amount such as -50)"),
    ("service_credit", "400", "amount: a service_credit reduces what is owed"),
    ("clawback", "1", "amount: a clawback reduces what is owed"),
    ("recovery", "1", "amount: a recovery reduces what is owed"),
    ("pain_share", "1", "amount: a pain_share reduces what is owed"),
    ("bonus", "-1", "amount: a bonus is owed to the supplier (got -1, expected a positive "
                    "amount"),
    ("gain_share", "-1", "amount: a gain_share is owed to the supplier"),
])
def test_the_decider_refuses_sub_penny_amounts_and_the_wrong_sign(
        kind: str, amount: str, message: str) -> None:
    assert refusal(agreed(), adjust("FY2025-Q1", amount, kind)).startswith(message)


@pytest.mark.parametrize(("kind", "amount"), [
    ("indexation", "120.50"), ("indexation", "-120.50"), ("other", "-3"), ("other", "3"),
    ("bonus", "2500.5"), ("penalty", "-50"), ("recovery", "-1.000")])
def test_kinds_either_way_and_exact_amounts_are_recorded(kind: str, amount: str) -> None:
    [event] = when(agreed(), adjust("FY2025-Q1", amount, kind)).events
    assert isinstance(event, RewardAdjusted)
    assert event.amount == D(amount)


def test_no_amount_is_recorded_in_exponent_notation() -> None:
    [event] = when(agreed(), adjust("FY2025-Q1", "1E+3")).events
    assert isinstance(event, RewardAdjusted)
    assert str(event.amount) == "1000"


def test_a_yen_amount_has_no_minor_unit() -> None:
    assert refusal(agreed(currency="JPY"), adjust("FY2025-Q1", "10.5")) == (
        "amount: finer than the JPY minor unit (got 10.5, expected a multiple of 1)")


@pytest.mark.parametrize(("amount", "message"), [
    ("0.001", "finer than the GBP minor unit (got 0.001, expected a multiple of 0.01)"),
    ("1e3", "exponent notation (got '1e3', expected a decimal amount such as -120000 or "
            "2500.50)"),
])
def test_the_flags_refuse_the_amount_and_write_nothing(ledger: Ledgered, amount: str,
                                                       message: str) -> None:
    before = ledger.events()
    result = ledger("adjust", "C-IMP", "--period", "FY2020-Q1", "--kind", "bonus",
                    "--amount", amount, "--reason", "typo")
    assert result.exit_code == 1
    assert "error: --amount" in result.stderr
    assert message in result.stderr
    assert ledger.events() == before


def test_a_file_reports_every_amount_problem_at_its_line(ledger: Ledgered) -> None:
    path = ledger.write("adj.csv", "contract,period,kind,amount,reason\n"
                        "C-IMP,FY2020-Q1,bonus,0.001,sub-penny\n"
                        "C-IMP,FY2020-Q1,bonus,1e3,exponent\n"
                        "C-IMP,FY2020-Q1,penalty,50,positive penalty\n"
                        "C-IMP,FY2020-Q1,bonus,-5,negative bonus\n"
                        "C-IMP,FY2020-Q1,penalty,-50,fine\n")
    before = ledger.events()
    result = ledger("adjust", "--file", path)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert [e.split(": ")[1] for e in errors] == [
        f"{path}:2", f"{path}:3", f"{path}:4", f"{path}:5"]
    assert "exponent notation (got '1e3'" in errors[1]
    assert ledger.events() == before


def test_adjustments_recorded_before_the_rules_still_replay(ledger: Ledgered) -> None:
    """A positive penalty, a sub-penny and an exponent amount, as stored before the rules:
    folded and paid as recorded (the rules apply to what is recorded from now on)."""
    from datetime import UTC, datetime

    from outcomeledger.domain.contract.state import ContractState, evolve
    from outcomeledger.domain.payments.mechanism import compute

    state = agreed()
    for amount in ("50", "0.001", "1E+3"):
        event = RewardAdjusted(contract=state.reference, recorded_at=datetime(2025, 5, 1,
                               tzinfo=UTC), recorded_by="old", reason="old", period="FY2025-Q1",
                               kind="penalty", amount=D(amount))
        state = evolve(state, event, "h")
    assert isinstance(state, ContractState)
    [period] = [p for p in compute(state).periods if p.period == "FY2025-Q1"]
    assert period.adjustments == D("1050.00")


# -- 3. a participant cap on aggregate figures is reported -------------------------------

def test_a_participant_cap_on_aggregate_figures_is_a_warning_on_every_import(
        ledger: Ledgered) -> None:
    [receipt] = ledger.receipts(ledger.write("r.csv", HEADER + "C-IMP,FY2020-Q1,ENTRY,30\n"))
    messages = [w["message"] for w in warnings(receipt)]
    assert any("participant_cap" in m and "aggregate" in m for m in messages), messages
    # Again on a re-import that changes nothing: the cap still does not apply.
    [again] = ledger.receipts(ledger.write("r.csv", HEADER + "C-IMP,FY2020-Q1,ENTRY,30\n"))
    assert again["warnings"] == receipt["warnings"]


def test_participant_level_figures_give_no_cap_warning(ledger: Ledgered) -> None:
    [receipt] = ledger.receipts(ledger.write("r.csv", P_HEADER + "C-IMP,FY2020-Q1,A,ENTRY,1\n"))
    assert receipt["warnings"] == []


def test_payments_note_a_participant_cap_it_cannot_apply(ledger: Ledgered) -> None:
    ledger.imported("r.csv", HEADER + "C-IMP,FY2020-Q1,ENTRY,30\n")
    shown = ledger("payments", "C-IMP", "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    assert "note: participant_cap" in shown.stderr
    explained = ledger("payments", "explain", "C-IMP", "--period", "FY2020-Q1", "--format",
                       "json")
    [line] = json.loads(explained.stdout)["lines"]
    assert any(s["step"] == "participant_cap" and "not applied" in s["detail"]
               for s in line["steps"]), line["steps"]


# -- 4. a missing ladder rung excludes the participant, not the import --------------------

def test_a_participant_missing_a_rung_is_recorded_and_excluded_from_payment(
        ledger: Ledgered) -> None:
    path = ledger.write("r.csv", P_HEADER + "C-IMP,FY2020-Q1,A,ENTRY,1\n"
                        "C-IMP,FY2020-Q1,A,SUSTAIN,1\n"
                        "C-IMP,FY2020-Q1,B,SUSTAIN,1\n")
    [receipt] = ledger.receipts(path)
    assert receipt["added"] == 3
    [warning] = warnings(receipt)
    assert (warning["line"], warning["field"]) == (4, "participant")
    assert warning["message"].startswith("SUSTAIN requires ENTRY first and B has not "
                                         "achieved it")
    [submitted] = [e for e in stream(ledger) if isinstance(e, ReturnSubmitted)]
    assert len(submitted.figures) == 3
    explained = json.loads(ledger("payments", "explain", "C-IMP", "--period", "FY2020-Q1",
                                  "--format", "json").stdout)
    sustain = next(line for line in explained["lines"] if line["outcome"] == "SUSTAIN")
    assert sustain["units"] == "1"
    assert any(s["step"] == "excluded" and "B has not achieved prerequisite ENTRY"
               in s["detail"].replace("participant ", "") for s in sustain["steps"])


def test_the_decider_records_a_rung_without_its_prerequisite_with_a_warning() -> None:
    state = agreed(outcomes=(outcome("E"), outcome("S", requires=("E",))))
    decision = when(state, submit("FY2025-Q1", fig("S", 1, "P-9", line=2)))
    assert decision.receipt.added == 1
    [warning] = decision.receipt.warnings
    assert (warning.field, warning.line) == ("participant", 2)


# -- 5. implausible figures are flagged, never refused ------------------------------------

NO_CAP = CONTRACT
TARGETED = NO_CAP.replace('unit = "people"\n', 'unit = "people"\ntarget = 60\n', 1)


def agreed_on(tmp_path: Path, contract: str) -> Ledgered:
    ledgered = Ledgered(tmp_path)
    assert ledgered("init").exit_code == 0
    assert ledgered("contract", "agree", ledgered.write("c.toml", contract)).exit_code == 0
    return ledgered


def test_a_figure_far_above_its_target_is_a_warning(tmp_path: Path) -> None:
    ledgered = agreed_on(tmp_path, TARGETED)
    [receipt] = ledgered.receipts(ledgered.write("r.csv",
                                                 HEADER + "C-IMP,FY2020-Q1,ENTRY,150000\n"))
    assert receipt["added"] == 1  # recorded: a warning never blocks
    [warning] = warnings(receipt)
    assert warning["message"] == (
        "ENTRY 150000 in FY2020-Q1 is more than 10 times its whole-life target of 60 "
        "(expected at most 600; check the return: recorded, not refused)")
    ordinary = ledgered.receipts(ledgered.write("q2.csv", HEADER + "C-IMP,FY2020-Q2,ENTRY,59\n"))
    assert ordinary[0]["warnings"] == []


def test_a_figure_far_above_its_history_is_a_warning(tmp_path: Path) -> None:
    ledger = agreed_on(tmp_path, NO_CAP)
    ledger.imported("q1.csv", HEADER + "C-IMP,FY2020-Q1,WB,40\n")
    [receipt] = ledger.receipts(ledger.write("q2.csv", HEADER + "C-IMP,FY2020-Q2,WB,4000\n"))
    [warning] = warnings(receipt)
    assert warning["message"] == (
        "WB 4000 in FY2020-Q2 is more than 10 times the largest earlier figure, 40 in "
        "FY2020-Q1 (expected at most 400; check the return: recorded, not refused)")


def test_an_ordinary_figure_gives_no_plausibility_warning(tmp_path: Path) -> None:
    ledger = agreed_on(tmp_path, NO_CAP)
    ledger.imported("q1.csv", HEADER + "C-IMP,FY2020-Q1,WB,40\n")
    [receipt] = ledger.receipts(ledger.write("q2.csv", HEADER + "C-IMP,FY2020-Q2,WB,60\n"))
    assert receipt["warnings"] == []


def test_a_rung_left_unpaid_for_want_of_its_prerequisite_can_be_claimed_once_it_is_met(
        ledger: Ledgered) -> None:
    """The earlier rung was recorded but never paid, so it has not used up the outcome:
    the decider agrees with the payment rule instead of refusing the claim that pays."""
    ledger.imported("q1.csv", P_HEADER + "C-IMP,FY2020-Q1,B,SUSTAIN,1\n")
    [receipt] = ledger.receipts(ledger.write("q2.csv", P_HEADER + "C-IMP,FY2020-Q2,B,ENTRY,1\n"
                                             "C-IMP,FY2020-Q2,B,SUSTAIN,1\n"))
    assert receipt["added"] == 2
    paid = json.loads(ledger("payments", "explain", "C-IMP", "--period", "FY2020-Q2",
                             "--format", "json").stdout)
    sustain = next(line for line in paid["lines"] if line["outcome"] == "SUSTAIN")
    assert (sustain["units"], sustain["earned"]) == ("1", "300.00")
    # A rung that was paid is still claimable once only.
    again = ledger("returns", "import", ledger.write("q3.csv", P_HEADER
                                                     + "C-IMP,FY2020-Q3,B,SUSTAIN,1\n"))
    assert again.exit_code == 1
    assert "SUSTAIN is claimable once per participant and B already has it in FY2020-Q2" in (
        again.stderr)
