"""Payment arithmetic (DESIGN 5): units -> earned -> caps -> adjustments, fees -> retention."""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path

from conftest import (
    D,
    adjust,
    agreed,
    agreed_with,
    apply,
    close,
    fig,
    outcome,
    period_of,
    schedule,
    submit,
    tally,
    tiers,
    vary,
)
from outcomeledger.domain.commands import RejectReturn
from outcomeledger.domain.contract.state import ContractState
from outcomeledger.domain.terms import ContractTerms, Fee
from outcomeledger.domain.variations import OutcomeChange, Variation
from outcomeledger.imports.documents import load_terms

ISTANBUL = tiers((370, 1100), (410, 1000), (None, 1350))  # domain.md b6


def money(state: ContractState, period: str, *names: str) -> tuple[str, ...]:
    p = period_of(state, period)
    return tuple(str(getattr(p, name)) for name in names)


def line_of(state: ContractState, period: str, code: str) -> tuple[str, str, str]:
    [line] = [x for x in period_of(state, period).lines if x.outcome == code]
    return str(line.earned), str(line.above_cap), str(line.payable)


def test_a_rate_card_pays_price_times_units() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=3, O2=2))
    assert money(state, "FY2025-Q1", "earned", "payable", "cumulative_payable") == (
        "800.00", "800.00", "800.00")


def test_periods_without_activity_pay_nothing_and_the_schedule_starts_at_the_first() -> None:
    state = apply(agreed(), tally("FY2025-Q3", O1=1))
    assert [(p.period, str(p.payable)) for p in schedule(state).periods] == [
        ("FY2025-Q1", "0.00"), ("FY2025-Q2", "0.00"), ("FY2025-Q3", "100.00")]


def test_marginal_tiers_in_one_period() -> None:
    state = apply(agreed(outcomes=(outcome("JOB", tiers=ISTANBUL),)), tally("FY2025-Q1", JOB=430))
    # 370 x 1,100 + 40 x 1,000 + 20 x 1,350
    assert line_of(state, "FY2025-Q1", "JOB") == ("474000.00", "0.00", "474000.00")


def test_marginal_tiers_are_cumulative_across_periods() -> None:
    state = apply(agreed(outcomes=(outcome("JOB", tiers=ISTANBUL),)),
                  tally("FY2025-Q1", JOB=300), tally("FY2025-Q2", JOB=130))
    assert money(state, "FY2025-Q1", "earned") == ("330000.00",)
    # 70 x 1,100 + 40 x 1,000 + 20 x 1,350
    assert money(state, "FY2025-Q2", "earned", "cumulative_payable") == (
        "144000.00", "474000.00")


def test_a_threshold_pays_only_the_units_above_it_each_period() -> None:
    state = apply(agreed(outcomes=(outcome("O1", threshold=D(10)),)),
                  tally("FY2025-Q1", O1=25), tally("FY2025-Q2", O1=5))
    assert [(line.units, line.paid_units) for line in period_of(state, "FY2025-Q1").lines] == [
        (D(25), D(15))]
    assert money(state, "FY2025-Q1", "earned") == ("1500.00",)
    assert money(state, "FY2025-Q2", "earned", "payable") == ("0.00", "0.00")


def test_deadweight_is_deducted_before_pricing() -> None:
    state = apply(agreed(outcomes=(outcome("O1", deadweight=D("0.33")),)),
                  tally("FY2025-Q1", O1=100))
    [line] = period_of(state, "FY2025-Q1").lines
    assert (line.units, line.paid_units, str(line.earned)) == (D(100), D(67), "6700.00")


def test_cap_units_limits_units_over_the_contract_life() -> None:
    state = apply(agreed(outcomes=(outcome("O1", cap_units=D(10)),)),
                  tally("FY2025-Q1", O1=6), tally("FY2025-Q2", O1=6), tally("FY2025-Q3", O1=1))
    assert line_of(state, "FY2025-Q1", "O1") == ("600.00", "0.00", "600.00")
    assert line_of(state, "FY2025-Q2", "O1") == ("600.00", "200.00", "400.00")
    assert line_of(state, "FY2025-Q3", "O1") == ("100.00", "100.00", "0.00")


def test_cap_value_limits_an_outcome_s_value_over_the_contract_life() -> None:
    state = apply(agreed(outcomes=(outcome("O1", cap_value=D(1050)), outcome("O2"))),
                  tally("FY2025-Q1", O1=6), tally("FY2025-Q2", O1=6, O2=1))
    assert line_of(state, "FY2025-Q2", "O1") == ("600.00", "150.00", "450.00")
    assert line_of(state, "FY2025-Q2", "O2") == ("100.00", "0.00", "100.00")


def test_the_contract_cap_clips_in_the_middle_of_a_period() -> None:
    state = apply(agreed(max_value=D(1500)), tally("FY2025-Q1", O1=6),
                  tally("FY2025-Q2", O1=2, O2=4), tally("FY2025-Q3", O1=1))
    assert line_of(state, "FY2025-Q2", "O1") == ("200.00", "0.00", "200.00")
    assert line_of(state, "FY2025-Q2", "O2") == ("1000.00", "300.00", "700.00")
    assert money(state, "FY2025-Q2", "earned", "above_cap", "payable") == (
        "1200.00", "300.00", "900.00")
    assert money(state, "FY2025-Q3", "earned", "above_cap", "payable") == (
        "100.00", "100.00", "0.00")
    assert schedule(state).headroom == D(0)
    assert [s.label for s in period_of(state, "FY2025-Q2").lines[1].steps][-1] == "max_value"


def gm_terms() -> ContractTerms:
    path = resources.files("outcomeledger").joinpath("demo_data", "gm.toml")
    return load_terms(Path(str(path)))


P0173 = ("ACC0", "ACC3", "ACC6", "ACC12", "ACC18", "ACC24", "WB1", "WB2", "WB3", "MH0", "MH1",
         "DRG0", "DRG1", "QUAL", "VOL13", "VOL26", "FT13", "FT26")


def test_the_participant_cap_applies_to_one_person_s_outcomes() -> None:
    """domain.md S2: P-0173 earns 20,620 but at most 19,000 is payable for one person."""
    state = agreed_with(gm_terms())
    state = apply(state, submit("FY2018-Q1", *(fig(c, 1, "P-0173") for c in P0173[:9])),
                  submit("FY2018-Q2", *(fig(c, 1, "P-0173") for c in P0173[9:])),
                  submit("FY2018-Q2", fig("ACC0", 1, "P-0200"), provider="BRICK"))
    first, second = period_of(state, "FY2018-Q1"), period_of(state, "FY2018-Q2")
    assert (str(first.earned), str(first.above_cap)) == ("10800.00", "0.00")
    assert (str(second.earned), str(second.above_cap)) == ("10420.00", "1620.00")
    assert line_of(state, "FY2018-Q2", "FT26") == ("2200.00", "1620.00", "580.00")
    earned = schedule(state).total("earned") - D(600)  # P-0200's entry is not P-0173's
    assert earned == D(20620)
    assert schedule(state).total("payable") == D(19000) + D(600)


def test_retention_is_withheld_and_released_when_the_contract_closes() -> None:
    state = apply(agreed(retention=D("0.05")), tally("FY2025-Q1", O1=100),
                  tally("FY2025-Q2", O1=20))
    assert money(state, "FY2025-Q1", "retained", "payable") == ("500.00", "9500.00")
    assert money(state, "FY2025-Q2", "retained", "payable") == ("100.00", "1900.00")
    done = apply(state, close(date(2026, 3, 31)))
    last = schedule(done).periods[-1]
    # Released in the period the contract closed in, not at the end of its term (issue 18).
    assert (last.period, str(last.retained), str(last.payable)) == (
        "FY2025-Q4", "-600.00", "600.00")
    assert schedule(done).total("payable") == D(12000)


IMPROVEMENT = outcome("R", kind="improvement", price=D(1000), baseline=D(155), per=D(100),
                      cohort_size=D(100))


def test_an_improvement_pays_the_gap_to_its_baseline() -> None:
    state = apply(agreed(outcomes=(IMPROVEMENT,)), tally("FY2025-Q1", R=145))
    [line] = period_of(state, "FY2025-Q1").lines
    assert (line.paid_units, str(line.payable)) == (D(10), "10000.00")


def test_a_worse_than_baseline_period_floors_at_zero_under_floor() -> None:
    state = apply(agreed(outcomes=(IMPROVEMENT,), negative_periods="floor"),
                  tally("FY2025-Q1", R=165))
    assert money(state, "FY2025-Q1", "earned", "payable") == ("0", "0.00")
    [line] = period_of(state, "FY2025-Q1").lines
    assert [(s.label, s.amount) for s in line.steps if s.label == "floor"] == [
        ("floor", D("10000.00"))]


def test_a_worse_than_baseline_period_is_negative_and_carries_under_net() -> None:
    state = apply(agreed(outcomes=(IMPROVEMENT,), negative_periods="net"),
                  tally("FY2025-Q1", R=165), tally("FY2025-Q2", R=145))
    assert money(state, "FY2025-Q1", "earned", "payable") == ("-10000.00", "-10000.00")
    assert money(state, "FY2025-Q2", "payable", "cumulative_payable") == (
        "20000.00", "10000.00")


def test_fees_accrue_per_period_and_per_attachment() -> None:
    fees = (Fee("MGMT", "Management fee", D(3000)),
            Fee("ATT", "Attachment fee", D(250), basis="attachment", outcome="O1"))
    state = apply(agreed(fees=fees), tally("FY2025-Q1", O1=4), tally("FY2025-Q3", O2=1))
    assert money(state, "FY2025-Q1", "earned", "fees", "payable") == (
        "400.00", "4000.00", "4400.00")
    assert money(state, "FY2025-Q2", "earned", "fees", "payable") == ("0", "3000.00", "3000.00")
    assert money(state, "FY2025-Q3", "fees", "payable", "cumulative_payable") == (
        "3000.00", "3250.00", "10650.00")


def test_adjustments_flow_into_their_period() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=10),
                  adjust("FY2025-Q1", "-700", "recovery", "sampled error"),
                  adjust("FY2025-Q1", "250.50", "bonus", "female participants"))
    assert money(state, "FY2025-Q1", "earned", "adjustments", "payable") == (
        "1000.00", "-449.50", "550.50")


def test_a_rejected_return_leaves_payments() -> None:
    state = apply(agreed(), tally("FY2025-Q1", O1=10),
                  RejectReturn("FY2025-Q1", "", "evidence missing"))
    assert schedule(state).total("payable") == D(0)


def test_a_price_variation_affects_only_periods_from_its_effective_date() -> None:
    reprice = Variation(outcomes=(OutcomeChange("O1", price=D(150)),))
    state = apply(agreed(), tally("FY2025-Q1", O1=2), vary(reprice, date(2025, 10, 1)),
                  tally("FY2025-Q3", O1=2), tally("FY2025-Q2", O1=2))
    assert [str(p.earned) for p in schedule(state).periods] == ["200.00", "200.00", "300.00"]
    assert period_of(state, "FY2025-Q3").terms_in_force == "varied v3, effective 2025-10-01"
    assert period_of(state, "FY2025-Q2").terms_in_force == "agreed (v1)"
