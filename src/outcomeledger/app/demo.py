"""The demo ledger: real-shaped contracts and a programme, built through the same services
as the CLI.

* GMHP-2017 (domain.md S2): a rate card with an accommodation ladder whose contract
  cap binds; a restatement after certification that the cap absorbs; a term extension.
* PB-SIB-2010 (domain.md S1): an improvement outcome paid on the gap to a matched
  comparison group, per-cohort and pooled thresholds, a variation dropping cohort 3.
* MHEP-ENF-2018: two payers, a provider network, a management fee, retention, a price
  variation, an extrapolated recovery and a closure that releases retention.
* NHF-2022 (DESIGN 10): a council outcomes programme, one budget and two funders above
  NHF-HW-2022 (an integrator whose network gains a VCSE and loses an SME) and
  NHF-SCH-2022; the budget binds in the last year (replay/S7-council-programme).
* NCL-CL-2023 (DESIGN 11): a council contract that grows by two business cases (the
  budget of each binds), shares the risk on its cost of delivery (a gain share, then a
  pain share capped), earns a 12-month extension on performance and is refused a second
  when performance falls (replay/S8-growing-contract).

Events carry the historical dates on which each fact was learned, so the demo ledger
is the same, byte for byte, on every machine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

from ..domain.commands import Meta
from ..domain.errors import InvalidInput
from ..imports.costs import COSTS
from ..imports.importer import import_data
from ..report import render
from ..storage.store import Ledger
from . import services as service
from .programmes import agree_programme

COMMISSIONER = "commissioner:jane.doe@gmca.gov.uk"


def _meta(day: str, actor: str) -> Meta:
    return Meta(datetime.fromisoformat(day).replace(tzinfo=UTC), actor)


def _file(name: str) -> tuple[str, bytes]:
    data = resources.files("outcomeledger").joinpath("demo_data", name).read_bytes()
    return f"demo_data/{name}", data


def _path(name: str) -> Path:
    return Path(str(resources.files("outcomeledger").joinpath("demo_data", name)))


def _import(ledger: Ledger, name: str, day: str, actor: str, **kw: object) -> None:
    import_data(ledger, [_file(name)], _meta(day, actor), **kw)  # type: ignore[arg-type]


def build_gm(ledger: Ledger) -> None:
    ref = "GMHP-2017"
    service.agree(ledger, _path("gm.toml"), _meta("2017-12-01T10:00:00", COMMISSIONER),
                  "outcomes contract signed (MHCLG rough-sleeping SIB programme)")
    provider = "provider:data-team@gmhp.org.uk"
    _import(ledger, "gm_FY2017-Q4.csv", "2018-04-20T09:30:00", provider)
    service.certify(ledger, ref, "FY2017-Q4", _meta("2018-05-15T12:00:00", COMMISSIONER))
    _import(ledger, "gm_FY2018-Q4.csv", "2019-04-25T09:30:00", provider)
    service.certify(ledger, ref, "FY2018-Q4", _meta("2019-05-15T12:00:00", COMMISSIONER))
    _import(ledger, "gm_restatement.csv", "2019-06-30T16:00:00",
            "validator:audit@gmca.gov.uk", restate=True,
            reason="tenancy ended before 12 months; landlord letters (4 claims withdrawn)")
    _import(ledger, "gm_FY2019-Q4.csv", "2020-04-24T09:30:00", provider)
    service.certify(ledger, ref, "FY2019-Q4", _meta("2020-05-15T12:00:00", COMMISSIONER))
    service.vary(ledger, ref, _path("gm_extension.toml"), date(2020, 10, 1),
                 "service extended to March 2021 (COVID-19); outcomes verified March 2021",
                 _meta("2020-12-10T11:00:00", COMMISSIONER))
    _import(ledger, "gm_FY2020-Q4.csv", "2021-04-23T09:30:00", provider)
    service.certify(ledger, ref, "FY2020-Q4", _meta("2021-05-14T12:00:00", COMMISSIONER),
                    "final payment run: cap reached, nothing further payable")
    service.close(ledger, ref, date(2021, 6, 30), "final reconciliation: earned above the "
                  "maximum outcome payment; unpaid above cap recorded",
                  _meta("2021-06-30T15:00:00", COMMISSIONER))


def build_pb(ledger: Ledger) -> None:
    ref = "PB-SIB-2010"
    moj = "commissioner:reducing-reoffending@justice.gov.uk"
    service.agree(ledger, _path("pb.toml"), _meta("2010-03-18T10:00:00", moj),
                  "outcomes contract signed")
    service.vary(ledger, ref, _path("pb_drop_cohort3.toml"), date(2014, 4, 1),
                 "pilot ended after two cohorts (Transforming Rehabilitation)",
                 _meta("2014-04-24T10:00:00", moj))
    assessor = "validator:qinetiq-leicester"
    _import(ledger, "pb_result_cohort1.csv", "2014-08-07T10:00:00", assessor)
    service.certify(ledger, ref, "FY2014-Q2", _meta("2014-08-29T10:00:00", moj),
                    "cohort 1: 8.4% reduction below the 10% trigger; nothing payable")
    _import(ledger, "pb_result_cohort2.csv", "2017-07-27T10:00:00", assessor)
    service.certify(ledger, ref, "FY2017-Q2", _meta("2017-08-25T10:00:00", moj),
                    "pooled 9.0% reduction clears 7.5%: 279 reconviction events avoided")


def build_enf(ledger: Ledger) -> None:
    ref = "MHEP-ENF-2018"
    lbe = "commissioner:contracts@enfield.gov.uk"
    integrator = "provider:returns@mhep.org.uk"
    service.agree(ledger, _path("enf.toml"), _meta("2018-06-20T10:00:00", lbe),
                  "outcomes contract signed (Life Chances Fund)")
    for period, day in (("FY2018-Q2", "2018-10-12"), ("FY2018-Q3", "2019-01-14"),
                        ("FY2018-Q4", "2019-04-12"), ("FY2019-Q1", "2019-07-12")):
        _import(ledger, f"enf_{period}.csv", f"{day}T09:00:00", integrator)
        service.certify(ledger, ref, period, _meta(f"{day}T15:00:00", lbe))
    service.adjust(ledger, ref, "FY2019-Q1", "recovery", "-700",
                   "post-payment validation: 1 of 20 sampled FY2018-Q4 job starts invalid; "
                   "5% extrapolated over 14 starts at 1,000",
                   _meta("2019-07-30T10:00:00", "validator:audit@enfield.gov.uk"))
    service.vary(ledger, ref, _path("enf_reprice.toml"), date(2020, 4, 1),
                 "COVID-19: sustained-job outcomes re-priced (business case approved by "
                 "the LCF board)", _meta("2020-05-05T10:00:00", lbe))
    _import(ledger, "enf_FY2020-Q1.csv", "2020-07-13T09:00:00", integrator)
    service.certify(ledger, ref, "FY2020-Q1", _meta("2020-07-13T15:00:00", lbe))
    service.close(ledger, ref, date(2021, 6, 30), "service ended; retention released at "
                  "final reconciliation", _meta("2021-07-20T10:00:00", lbe))
    service.certify(ledger, ref, "FY2021-Q1", _meta("2021-07-21T10:00:00", lbe),
                    "final reconciliation")


def build_nhf(ledger: Ledger) -> None:
    """A council outcomes programme (DESIGN 10): one budget, two funders, two contracts.
    The integrator's network grows (a VCSE joins in year 2) and shrinks (an SME leaves);
    the budget binds in the last year."""
    council = "commissioner:outcomes@northshire.gov.uk"
    integrator = "provider:returns@northshire-active.org.uk"
    hw, schools = "NHF-HW-2022", "NHF-SCH-2022"
    agree_programme(ledger, _path("nhf_programme.toml"), _meta("2022-03-01T10:00:00", council),
                    "programme agreed by the council's cabinet with the Better Futures Fund")
    service.agree(ledger, _path("nhf_weight.toml"), _meta("2022-03-15T10:00:00", council),
                  "outcomes contract signed with the integrator")
    service.agree(ledger, _path("nhf_schools.toml"), _meta("2022-03-15T11:00:00", council),
                  "outcomes contract signed")
    _import(ledger, "nhf_hw_FY2022-Q2.csv", "2022-10-20T09:00:00", integrator)
    service.certify(ledger, hw, "FY2022-Q2", _meta("2022-11-03T12:00:00", council))
    service.vary(ledger, hw, _path("nhf_eastgate_joins.toml"), date(2023, 4, 1),
                 "Eastgate Community Kitchen joins the network (market development)",
                 _meta("2023-03-20T10:00:00", council))
    runs = (("FY2022-Q4", "2023-04-20", "2023-05-04"), ("FY2023-Q2", "2023-10-19", "2023-11-02"),
            ("FY2023-Q4", "2024-04-18", "2024-05-02"), ("FY2024-Q2", "2024-10-17", "2024-10-31"),
            ("FY2024-Q4", "2025-04-17", "2025-05-01"))
    for period, returned, certified in runs:
        if period == "FY2023-Q4":
            service.vary(ledger, hw, _path("nhf_moor_leaves.toml"), date(2023, 7, 1),
                         "Moor Sports Ltd leaves the network at the end of September 2023",
                         _meta("2023-11-20T10:00:00", council))
        _import(ledger, f"nhf_{period}.csv", f"{returned}T09:00:00", integrator)
        for reference, at in ((hw, "12:00"), (schools, "12:30")):
            service.certify(ledger, reference, period, _meta(f"{certified}T{at}:00", council),
                            "payment run" if period != "FY2024-Q4" else
                            "final payment run: the programme's budget binds")


def build_ncl(ledger: Ledger) -> None:
    """A council contract that grows and flexes (DESIGN 11): two business cases, each
    capped by its own budget; an extension earned on the ledger's own ratings, and a
    second refused when performance fell (a refusal records nothing)."""
    council = "commissioner:care-leavers@northshire.gov.uk"
    provider = "provider:data@pathways-north.org.uk"
    ref = "NCL-CL-2023"
    service.agree(ledger, _path("ncl_contract.toml"), _meta("2023-03-10T10:00:00", council),
                  "outcomes contract signed after competitive flexible procedure")
    runs = (("FY2023-Q1", "2023-07-18", "2023-07-31"), ("FY2023-Q2", "2023-10-17", "2023-10-31"),
            ("FY2023-Q3", "2024-01-16", "2024-01-31"), ("FY2023-Q4", "2024-04-16", "2024-04-30"),
            ("FY2024-Q1", "2024-07-16", "2024-07-31"), ("FY2024-Q2", "2024-10-15", "2024-10-31"),
            ("FY2024-Q3", "2025-01-15", "2025-01-31"), ("FY2024-Q4", "2025-04-15", "2025-04-30"),
            ("FY2025-Q1", "2025-07-15", "2025-07-31"), ("FY2025-Q2", "2025-10-14", "2025-10-31"),
            ("FY2025-Q3", "2026-01-13", "2026-01-30"))
    for period, returned, certified in runs:
        if period == "FY2023-Q2":  # (recorded in order: each before the next return)
            service.approve_business_case(
                ledger, ref, _path("ncl_bc1_young_carers.toml"),
                "business case approved by the children's services committee",
                _meta("2023-09-20T14:00:00", council))
        if period == "FY2024-Q1":
            service.vary(ledger, ref, _path("ncl_code_northshire_joins.toml"),
                         date(2024, 7, 1), "Code Northshire CIC joins the network to "
                         "deliver the digital skills bootcamp", _meta("2024-06-10T10:00:00",
                                                                      council))
            service.approve_business_case(
                ledger, ref, _path("ncl_bc2_digital.toml"),
                "business case approved by the council's cabinet",
                _meta("2024-06-18T14:00:00", council))
        if period == "FY2024-Q4":
            service.exercise(ledger, ref, "EXT-1", date(2025, 1, 31), "extension earned: "
                             "every quarterly target met or approached for a year",
                             _meta("2025-02-10T11:00:00", council), extend=True)
        _import(ledger, f"ncl_{period}.csv", f"{returned}T09:00:00", provider)
        _import(ledger, f"ncl_costs_{period}.csv", f"{returned}T09:30:00", provider,
                columns=COSTS)
        service.certify(ledger, ref, period, _meta(f"{certified}T12:00:00", council))
    try:  # performance fell in 2025-26: the second extension is not earned
        service.exercise(ledger, ref, "EXT-2", date(2026, 1, 20), "second extension "
                         "requested", _meta("2026-01-22T11:00:00", council), extend=True)
    except InvalidInput:
        pass
    else:
        raise AssertionError("EXT-2 should be refused: performance fell in 2025-26")


BUILDERS: tuple[Callable[[Ledger], None], ...] = (build_gm, build_pb, build_enf, build_nhf,
                                                  build_ncl)


def build_demo(ledger: Ledger, say: Callable[[str], None] = lambda _m: None,
               reports: Path | None = None, width: int | None = None) -> str:
    """Record the demo contracts and return the printed summary: payments per contract,
    then the accountability portfolio, tables within ``width`` characters (None: no
    limit); with ``reports``, also one HTML report each."""
    for builder in BUILDERS:
        builder(ledger)
        say(f"recorded {builder.__name__.removeprefix('build_').upper()} "
            f"({ledger.max_position()} events so far)")
    text = (summary(ledger, width) + "\n\n" + accountability(ledger, reports, width)
            + "\n\n" + programmes(ledger, reports, width))
    if reports is not None:
        say(f"wrote HTML accountability reports to {reports}/")
    return text


def accountability(ledger: Ledger, reports: Path | None, width: int | None = None) -> str:
    """The portfolio accountability report, and each contract's HTML report if asked."""
    from ..report import build_portfolio, build_report
    from ..report.html import contract_html
    from ..report.tables import portfolio_sections
    from ..report.text import to_table_text
    from .report_source import Source

    source = Source.open(ledger, None)
    head = source.head()
    contracts = [build_report(state, head, as_of=None, as_at=None)
                 for state in source.states()]
    if reports is not None:
        reports.mkdir(parents=True, exist_ok=True)
        for report in contracts:
            (reports / f"{report.reference}.html").write_text(contract_html(report),
                                                                  encoding="utf-8")
    portfolio = build_portfolio(contracts, head, as_of=None, as_at=None)
    return to_table_text(portfolio_sections(portfolio), width)


def programmes(ledger: Ledger, reports: Path | None, width: int | None = None) -> str:
    """Each programme's report (DESIGN 10), and its HTML page if asked."""
    from ..report.programme import programme_sections
    from ..report.programme_html import programme_html
    from ..report.text import to_table_text
    from .programmes import programme_report_of

    parts = []
    for ref in ledger.programme_references():
        report = programme_report_of(ledger, ref)
        if reports is not None:
            (reports / f"{ref}.html").write_text(programme_html(report), encoding="utf-8")
        parts.append(to_table_text(programme_sections(report), width))
    return "\n\n".join(parts)


def summary(ledger: Ledger, width: int | None = None) -> str:
    """Each contract's payments per period, as `payments REF` prints them."""
    parts: list[str] = []
    for ref in ledger.references():
        schedule = service.payments(ledger, ref)
        parts.append(render.to_text(render.payments_table(
            schedule, schedule.periods, machine=False), width))
    return "\n\n".join(parts)
