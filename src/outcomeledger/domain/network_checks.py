"""Whether a contract's delivery network makes sense (DESIGN 10): each provider's key,
its membership dates and what the integrator pays it, and the actors returning for it.

Apart from :mod:`.term_checks` because the network is the integrator's side of the
contract, a subject of its own; like those checks, each appends every problem it finds.
"""

from __future__ import annotations

from decimal import Decimal

from .bounds import finite
from .errors import Problem
from .periods import day_problem
from .signing import SignatureError, key_id, load_public_key
from .terms import ContractTerms, Provider, ProviderTerms


def check_network(p: list[Problem], source: str, terms: ContractTerms,
                  known: set[str]) -> None:
    """Each provider's public key (required for signed returns), membership dates and
    terms (whose ``prices`` name ``known`` outcomes), and each provider actor naming a
    provider of the network."""
    provider_ids = {prov.id for prov in terms.providers}
    for i, prov in enumerate(terms.providers):
        if prov.public_key is not None:
            try:
                load_public_key(prov.public_key)
            except SignatureError as e:
                p.append(Problem(source, None, f"providers[{i}].public_key", str(e)))
        elif terms.signed_returns:
            p.append(Problem(source, None, f"providers[{i}].public_key",
                             "signed_returns needs every provider's Ed25519 public key"))
        _check_membership(p, source, f"providers[{i}]", prov, terms)
        if prov.terms is not None:
            _check_pay(p, source, f"providers[{i}].terms", prov.terms, known)
    holders: dict[str, str] = {}
    for i, actor in enumerate(terms.actors):
        if actor.public_key is not None:
            try:
                kid = key_id(actor.public_key)
            except SignatureError as e:
                p.append(Problem(source, None, f"actors[{i}].public_key", str(e)))
            else:
                # A key identifies one actor: a key shared by two names proves neither.
                holder = holders.setdefault(kid, actor.name)
                if holder != actor.name:
                    p.append(Problem(source, None, f"actors[{i}].public_key", (
                        f"given the key {kid} of another actor, expected a key of "
                        f"{actor.name!r}'s own")))
        if actor.role == "provider" and actor.provider not in provider_ids:
            p.append(Problem(source, None, f"actors[{i}].provider",
                             f"a provider actor names a provider of the network "
                             f"(got {actor.provider!r}, expected one of {sorted(provider_ids)})"))


def _check_membership(p: list[Problem], source: str, where: str, prov: Provider,
                      terms: ContractTerms) -> None:
    """``joined`` within the term (a provider there from the start leaves it out), ``left``
    not before the start nor before ``joined``. A ``left`` after the claims window is
    allowed: a variation ending a contract early need not move its providers' dates."""
    joined, left = prov.joined, prov.left
    for name, day in (("joined", joined), ("left", left)):
        if day is not None and (why := day_problem(day)) is not None:
            p.append(Problem(source, None, f"{where}.{name}", why))
            return
    last = terms.last_claim_date
    if joined is not None and not terms.start <= joined <= last:
        p.append(Problem(source, None, f"{where}.joined",
                         f"outside the contract's term (got {joined}, expected "
                         f"{terms.start}..{last}; a provider in the network from the "
                         "start leaves joined out)"))
    if left is not None and joined is not None and left < joined:
        p.append(Problem(source, None, f"{where}.left",
                         f"leaves before it joined (got {left}, expected {joined}, the "
                         "day it joined, or later)"))
    elif left is not None and left < terms.start:
        p.append(Problem(source, None, f"{where}.left",
                         f"before the contract starts (got {left}, expected {terms.start} "
                         "or later)"))


def _check_pay(p: list[Problem], source: str, where: str, pay: ProviderTerms,
               known: set[str]) -> None:
    """What the integrator pays the provider: a share of 0..1, a fee and prices of no
    less than nothing, each price (and each target) for an outcome of the contract."""
    zero = Decimal(0)
    if pay == ProviderTerms():
        p.append(Problem(source, None, where, "empty (expected share, prices, fee or "
                         "targets)"))
    finite(p, source, f"{where}.share", pay.share, low=zero, high=Decimal(1))
    finite(p, source, f"{where}.fee", pay.fee, low=zero)
    # Both tables are outcome code -> a number of no less than nothing.
    for name, table in (("prices", pay.prices), ("targets", pay.targets)):
        for code, number in (table or {}).items():
            if code not in known:
                p.append(Problem(source, None, f"{where}.{name}.{code}",
                                 f"not an outcome of the contract (got {code!r}, expected "
                                 f"one of {sorted(known)})"))
            finite(p, source, f"{where}.{name}.{code}", number, low=zero)
