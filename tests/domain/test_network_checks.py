"""The provider network's terms (DESIGN 10): kind, local, membership dates and what the
integrator pays each provider; how variations add and retire providers; the checks when a
contract is agreed or varied."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import msgspec
import pytest

from conftest import REF, T0, D, agreed, refusal, retire_provider, terms, vary
from outcomeledger.domain import codec
from outcomeledger.domain.commands import AgreeContract
from outcomeledger.domain.contract.state import ContractState
from outcomeledger.domain.errors import InvalidInput
from outcomeledger.domain.events import ContractVaried
from outcomeledger.domain.term_checks import check_terms, check_variation
from outcomeledger.domain.terms import Provider, ProviderTerms
from outcomeledger.domain.variations import ProviderChange, Variation, apply_variation
from outcomeledger.imports.documents import load_terms, load_variation

VCSE = Provider("P3", "Community Works", kind="vcse", local=True, joined=date(2026, 4, 1),
                terms=ProviderTerms(share=D("0.8"), prices={"O1": D("90")}, fee=D("500")))


def problems(**overrides: object) -> list[str]:
    return [f"{p.field}: {p.message}" for p in check_terms(terms(**overrides), "contract")]


def with_providers(*providers: Provider) -> list[str]:
    return problems(providers=providers)


# -- the format -------------------------------------------------------------------------------

def test_a_provider_without_the_network_keys_encodes_as_it_always_did() -> None:
    assert msgspec.json.encode(Provider("P1", "Provider one")) == (
        b'{"id":"P1","name":"Provider one"}')


def test_a_provider_with_every_network_key_round_trips() -> None:
    data = msgspec.json.encode(VCSE)
    assert msgspec.json.decode(data, type=Provider) == VCSE
    assert data == (b'{"id":"P3","name":"Community Works","kind":"vcse","local":true,'
                    b'"joined":"2026-04-01","terms":{"share":"0.8","prices":{"O1":"90"},'
                    b'"fee":"500"}}')


def test_a_variation_stored_with_whole_providers_keeps_its_bytes() -> None:
    """Variations recorded before providers could be changed key by key gave whole
    providers; they decode as changes and encode to the same bytes."""
    event = ContractVaried(contract=REF, recorded_at=T0, recorded_by="c", reason="r",
                           effective_from=date(2025, 7, 1),
                           variation=Variation(providers=(ProviderChange("P9", "New one"),)))
    data = codec.encode(event)
    assert b'"providers":[{"id":"P9","name":"New one"}]' in data
    assert codec.encode(codec.decode(codec.topic(event), data)) == data


def test_a_toml_contract_reads_the_network_exactly(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(_contract("""\
[[providers]]
id = "P1"
name = "Provider one"
kind = "vcse"
local = true
joined = 2025-07-01
left = 2026-09-30

[providers.terms]
share = 0.75
prices = { O1 = "80.50" }
fee = 1200
"""), encoding="utf-8")
    [provider] = load_terms(path).providers
    assert provider == Provider("P1", "Provider one", kind="vcse", local=True,
                                joined=date(2025, 7, 1), left=date(2026, 9, 30),
                                terms=ProviderTerms(share=D("0.75"), prices={"O1": D("80.50")},
                                                    fee=D("1200")))
    assert check_terms(load_terms(path), "contract") == []


def test_an_unknown_kind_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(_contract('[[providers]]\nid = "P1"\nname = "One"\nkind = "charity"\n'),
                    encoding="utf-8")
    with pytest.raises(InvalidInput) as error:
        load_terms(path)
    assert [str(p) for p in error.value.problems] == [
        f"{path}:12: providers[0].kind: not one of the allowed values (got 'charity', "
        "expected one of 'sme', 'vcse', 'public', 'large')"]


def test_prices_that_are_not_a_table_say_what_the_table_holds(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(_contract('[[providers]]\nid = "P1"\nname = "One"\n'
                              '[providers.terms]\nprices = 80\n'), encoding="utf-8")
    with pytest.raises(InvalidInput) as error:
        load_terms(path)
    [problem] = error.value.problems
    assert (problem.line, problem.field) == (13, "providers[0].terms.prices")
    assert "expected a table of outcome code: number" in problem.message


# -- checks when a contract is agreed -----------------------------------------------------------

def test_a_provider_with_every_network_key_is_fine() -> None:
    assert with_providers(Provider("P1", "One"), VCSE) == []


@pytest.mark.parametrize("share", ["-0.1", "1.01"])
def test_a_share_outside_nought_to_one_is_refused(share: str) -> None:
    [problem] = with_providers(Provider("P1", "One", terms=ProviderTerms(share=D(share))))
    assert problem.startswith("providers[0].terms.share: must be at")
    assert f"(got {share})" in problem


def test_prices_for_an_outcome_the_contract_lacks_are_refused() -> None:
    assert with_providers(Provider("P1", "One", terms=ProviderTerms(prices={"O9": D(5)}))) == [
        "providers[0].terms.prices.O9: not an outcome of the contract (got 'O9', expected "
        "one of ['O1', 'O2'])"]


def test_a_negative_price_or_fee_is_refused() -> None:
    pay = ProviderTerms(prices={"O1": D(-5)}, fee=D(-1))
    assert with_providers(Provider("P1", "One", terms=pay)) == [
        "providers[0].terms.fee: must be at least 0 (got -1)",
        "providers[0].terms.prices.O1: must be at least 0 (got -5)"]


def test_empty_provider_terms_are_refused() -> None:
    assert with_providers(Provider("P1", "One", terms=ProviderTerms())) == [
        "providers[0].terms: empty (expected share, prices, fee or targets)"]


def test_a_provider_leaving_before_it_joined_is_refused() -> None:
    assert with_providers(Provider("P1", "One", joined=date(2026, 1, 1),
                                   left=date(2025, 12, 31))) == [
        "providers[0].left: leaves before it joined (got 2025-12-31, expected 2026-01-01, "
        "the day it joined, or later)"]


def test_a_provider_may_join_and_leave_on_the_same_day() -> None:
    day = date(2026, 1, 1)
    assert with_providers(Provider("P1", "One", joined=day, left=day)) == []


@pytest.mark.parametrize("joined", [date(2025, 3, 31), date(2027, 4, 1)])
def test_joining_outside_the_term_is_refused(joined: date) -> None:
    assert with_providers(Provider("P1", "One", joined=joined)) == [
        f"providers[0].joined: outside the contract's term (got {joined}, expected "
        "2025-04-01..2027-03-31; a provider in the network from the start leaves joined "
        "out)"]


def test_leaving_before_the_contract_starts_is_refused() -> None:
    assert with_providers(Provider("P1", "One", left=date(2025, 3, 31))) == [
        "providers[0].left: before the contract starts (got 2025-03-31, expected 2025-04-01 "
        "or later)"]


def test_leaving_after_the_claims_window_is_allowed() -> None:
    """A variation ending a contract early need not move its providers' dates."""
    assert with_providers(Provider("P1", "One", left=date(2030, 1, 1))) == []


def test_a_network_problem_refuses_the_agreement() -> None:
    bad = terms(providers=(Provider("P1", "One", terms=ProviderTerms(share=D(2))),))
    assert refusal(ContractState(REF), AgreeContract(bad)) == (
        "providers[0].terms.share: must be at most 1 (got 2)")


# -- variations ----------------------------------------------------------------------------------

def test_a_variation_retires_a_provider_by_its_id_and_left_date() -> None:
    varied = apply_variation(terms(), Variation(
        providers=(ProviderChange("P2", left=date(2025, 12, 31)),)))
    assert varied.providers == (Provider("P1", "Provider one"),
                                Provider("P2", "Provider two", left=date(2025, 12, 31)))


def test_a_variation_changes_only_the_provider_keys_it_gives() -> None:
    start = terms(providers=(VCSE,))
    varied = apply_variation(start, Variation(providers=(ProviderChange("P3", local=False),)))
    assert varied.providers == (msgspec.structs.replace(VCSE, local=False),)


def test_a_variation_adds_a_provider_with_its_keys() -> None:
    varied = apply_variation(terms(), Variation(providers=(ProviderChange(
        "P3", "Community Works", kind="vcse", local=True, joined=date(2026, 4, 1),
        terms=VCSE.terms),)))
    assert varied.providers[-1] == VCSE


def test_a_variation_naming_an_unknown_provider_without_a_name_is_refused() -> None:
    [problem] = check_variation(terms(), Variation(
        providers=(ProviderChange("P9", left=date(2026, 3, 31)),)), "v.toml")
    assert (problem.field, problem.message) == (
        "providers[P9]", "no provider 'P9' in the network (got 'P9', expected one of "
        "['P1', 'P2'], or a name for a provider added)")


def test_a_variation_setting_left_before_joined_is_refused() -> None:
    state = agreed(providers=(VCSE,))
    command = retire_provider("P3", date(2026, 1, 31), date(2026, 4, 1))
    assert refusal(state, command) == (
        "providers[0].left: leaves before it joined (got 2026-01-31, expected 2026-04-01, "
        "the day it joined, or later)")


def test_a_variation_retiring_an_outcome_a_provider_is_priced_on_is_refused() -> None:
    state = agreed(providers=(VCSE,))
    command = vary(Variation(retire=("O1",)), date(2026, 4, 1))
    assert refusal(state, command).startswith(
        "providers[0].terms.prices.O1: not an outcome of the contract")


def test_a_toml_variation_retires_a_provider_in_two_lines(tmp_path: Path) -> None:
    path = tmp_path / "v.toml"
    path.write_text('[[providers]]\nid = "P2"\nleft = 2025-12-31\n', encoding="utf-8")
    assert load_variation(path) == Variation(
        providers=(ProviderChange("P2", left=date(2025, 12, 31)),))


def test_a_json_variation_clears_a_left_date_with_null(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text('{"providers": [{"id": "P2", "left": null}]}', encoding="utf-8")
    gone = terms(providers=(Provider("P2", "Provider two", left=date(2025, 12, 31)),))
    assert apply_variation(gone, load_variation(path)).providers == (
        Provider("P2", "Provider two"),)


def _contract(network: str) -> str:
    """A contract document with ``network`` (TOML tables) from line 9."""
    return f"""\
reference = "C-NET"
title = "Integrator contract"
buyer = "Council"
supplier = "Integrator Ltd"
start = 2025-04-01
end = 2027-03-31
cadence = "quarter"

{network}
[[outcomes]]
code = "O1"
name = "Outcome one"
price = 100
"""
