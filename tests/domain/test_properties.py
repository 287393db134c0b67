"""Properties: caps never exceeded, money conserved, codec round trip, fold by parts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import (
    ACTOR,
    REF,
    T0,
    D,
    adjust,
    agreed,
    apply,
    chain,
    outcome,
    tally,
    terms,
    when,
)
from outcomeledger.domain import codec
from outcomeledger.domain.contract.state import ContractState, evolve, fold
from outcomeledger.domain.events import (
    ADJUSTMENT_KINDS,
    AnyEvent,
    ContractAgreed,
    ContractClosed,
    ContractVaried,
    Cost,
    CostsReported,
    Figure,
    PaymentCertified,
    ReturnRejected,
    ReturnRestated,
    ReturnSubmitted,
    ReturnValidated,
    RewardAdjusted,
    Source,
)
from outcomeledger.domain.payments.mechanism import compute
from outcomeledger.domain.terms import Fee, Tier
from outcomeledger.domain.variations import OutcomeChange, Variation

QUARTERS = [f"FY{year}-Q{q}" for year in (2025, 2026) for q in (1, 2, 3, 4)]


def money(low: int = 0, high: int = 10**6) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=low, max_value=high, places=2, allow_nan=False,
                       allow_infinity=False)


optional_cap = st.none() | st.integers(min_value=0, max_value=400).map(Decimal)


@st.composite
def capped_contracts(draw: st.DrawFn) -> tuple[Any, list[Any]]:
    """A contract with random caps and a random history of count returns and adjustments."""
    o1 = outcome("O1", price=draw(money(1, 5000)), cap_units=draw(optional_cap),
                 cap_value=draw(st.none() | money(0, 200000)),
                 threshold=draw(st.none() | st.integers(0, 20).map(Decimal)))
    o2 = outcome("O2", tiers=(Tier(price=draw(money(0, 3000)), upto=D(50)),
                              Tier(price=draw(money(0, 3000)))),
                 cap_units=draw(optional_cap))
    state = agreed(outcomes=(o1, o2), max_value=draw(st.none() | money(0, 500000)),
                   retention=draw(st.none() | st.decimals(0, 1, places=2)),
                   fees=draw(st.sampled_from([(), (Fee("F", "Fee", D("1000")),),
                                              (Fee("A", "Att", D("12.50"), "attachment",
                                                   "O1"),)])))
    commands: list[Any] = []
    for period in draw(st.lists(st.sampled_from(QUARTERS), max_size=6, unique=True)):
        commands.append(tally(period, O1=draw(st.integers(0, 300)),
                               O2=draw(st.integers(0, 300))))
        if draw(st.booleans()):
            amount = draw(money(-5000, 5000).filter(bool))
            commands.append(adjust(period, str(amount), "other", "random"))
    return state, commands


@settings(max_examples=150, deadline=None)
@given(capped_contracts())
def test_caps_are_never_exceeded(case: tuple[Any, list[Any]]) -> None:
    state = apply(case[0], *case[1])
    o1, o2 = state.base_terms.outcomes
    paid = {"O1": D(0), "O2": D(0)}
    outcomes_total = D(0)
    for p in compute(state).periods:
        for line in p.lines:
            assert line.above_cap >= 0
            assert line.payable <= line.earned
            paid[line.outcome] += line.payable
            outcomes_total += line.payable
            if state.base_terms.max_value is not None:
                assert outcomes_total <= state.base_terms.max_value
    if o1.cap_units is not None:
        assert o1.price is not None
        assert paid["O1"] <= o1.cap_units * o1.price
    if o1.cap_value is not None:
        assert paid["O1"] <= o1.cap_value
    if o2.cap_units is not None:
        assert o2.tiers is not None
        first, second = o2.tiers
        assert paid["O2"] <= (min(o2.cap_units, D(50)) * first.price
                              + max(o2.cap_units - 50, D(0)) * second.price)


@settings(max_examples=150, deadline=None)
@given(capped_contracts())
def test_money_is_conserved_in_every_period(case: tuple[Any, list[Any]]) -> None:
    state = apply(case[0], *case[1])
    running = D(0)
    for p in compute(state).periods:
        assert p.payable == p.earned - p.above_cap + p.adjustments + p.fees - p.retained
        running += p.payable
        assert p.cumulative_payable == running
        assert p.earned == sum((line.earned for line in p.lines), D(0))
        assert p.above_cap == sum((line.above_cap for line in p.lines), D(0))


# -- codec --------------------------------------------------------------------------

texts = st.text(max_size=12)
stamps = st.datetimes(min_value=datetime(2000, 1, 1),
                      timezones=st.just(UTC))
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
decimals = st.decimals(allow_nan=False, allow_infinity=False)
hashes = st.text("0123456789abcdef", min_size=64, max_size=64)


def common() -> dict[str, st.SearchStrategy[Any]]:
    return {"contract": texts, "recorded_at": stamps, "recorded_by": texts, "reason": texts,
            "prev_hash": hashes}


figures = st.builds(Figure, outcome=texts, value=decimals, participant=texts,
                    achieved_on=st.none() | days, evidence=texts,
                    line=st.none() | st.integers(1, 10**6))
sources = st.none() | st.builds(Source, file=texts, sha256=hashes,
                                signature=st.none() | texts)
figure_tuples = st.lists(figures, max_size=4).map(tuple)
cost_tuples = st.lists(st.builds(Cost, category=texts, amount=decimals, evidence=texts,
                                line=st.none() | st.integers(1, 10**6)),
                       max_size=3).map(tuple)


def agreement(reference: str, price: Decimal, cap: Decimal | None, start: date) -> Any:
    o2 = outcome("O2", tiers=(Tier(D(10), D(5)), Tier(D(20))), target={"FY2025-Q1": price},
                 requires=("O1",))
    return terms(reference=reference, start=start, max_value=cap,
                 outcomes=(outcome("O1", price=price, target=price), o2))


events: st.SearchStrategy[AnyEvent] = st.one_of(
    st.builds(ContractAgreed, **common(), terms=st.builds(
        agreement, texts, money(), st.none() | money(), days)),
    st.builds(ContractVaried, **common(), effective_from=days, variation=st.builds(
        Variation, end=days, max_value=st.none() | money(), retire=st.lists(texts).map(tuple),
        outcomes=st.lists(st.builds(OutcomeChange, code=texts, price=st.none() | money()),
                          max_size=2).map(tuple))),
    st.builds(ReturnSubmitted, **common(), period=texts, provider=texts,
              figures=figure_tuples, source=sources, late=st.booleans()),
    st.builds(ReturnRestated, **common(), period=texts, provider=texts,
              figures=figure_tuples, originals=figure_tuples, source=sources),
    st.builds(ReturnValidated, **common(), period=texts, provider=texts),
    st.builds(ReturnRejected, **common(), period=texts, provider=texts),
    st.builds(RewardAdjusted, **common(), period=texts, amount=decimals, source=sources,
              kind=st.sampled_from(ADJUSTMENT_KINDS)),
    st.builds(PaymentCertified, **common(), period=texts, amount=decimals,
              cumulative_payable=decimals, true_up=decimals),
    st.builds(ContractClosed, **common(), closed_on=days),
    st.builds(CostsReported, **common(), period=texts, costs=cost_tuples,
              restated=cost_tuples, originals=cost_tuples, source=sources,
              late=st.booleans(), received_on=st.none() | days),
)


@settings(max_examples=300)
@given(events)
def test_decoding_an_encoded_event_gives_the_event_back(event: AnyEvent) -> None:
    stored = codec.encode(event)
    assert codec.decode(codec.topic(event), stored) == event
    assert codec.encode(codec.decode(codec.topic(event), stored)) == stored


def test_the_topic_is_the_tag_and_version_not_a_module_path() -> None:
    event = ContractClosed(contract=REF, recorded_at=datetime(2025, 4, 1, tzinfo=UTC),
                           recorded_by="a", closed_on=date(2025, 4, 1))
    assert codec.topic(event) == "ContractClosed/1"
    assert codec.encode(event) == (b'{"closed_on":"2025-04-01","contract":"C-TEST",'
                                   b'"recorded_at":"2025-04-01T00:00:00Z","recorded_by":"a",'
                                   b'"type":"ContractClosed"}')


# -- fold ---------------------------------------------------------------------------

def hashed(stream: list[AnyEvent]) -> list[tuple[AnyEvent, str]]:
    return [(event, codec.event_hash(codec.encode(event))) for event in stream]


@settings(max_examples=150, deadline=None)
@given(capped_contracts(), st.lists(events.filter(lambda e: not isinstance(e, ContractAgreed)),
                                    max_size=6), st.data())
def test_folding_a_prefix_then_the_rest_equals_folding_everything(
        case: tuple[ContractState, list[Any]], extra: list[AnyEvent],
        data: st.DataObject) -> None:
    state, commands = case
    stream: list[AnyEvent] = [ContractAgreed(contract=REF, recorded_at=T0, recorded_by=ACTOR,
                                             terms=state.base_terms)]
    for command in commands:
        decision = when(state, command)
        stream += decision.events
        state = chain(state, decision.events)
    stream += extra
    pairs = [(event, codec.event_hash(codec.encode(event))) for event in stream]
    cut = data.draw(st.integers(0, len(pairs)))
    partial = fold(REF, pairs[:cut])
    for event, digest in pairs[cut:]:
        partial = evolve(partial, event, digest)
    whole = fold(REF, pairs)
    assert partial == whole
    assert (whole.version, whole.head_hash) == (len(pairs), pairs[-1][1])
