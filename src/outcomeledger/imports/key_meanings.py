"""What every key of the input formats means, in words: the contract, variation,
programme and actor registry keys by Struct, and the columns of returns and adjustments rows.

Prose, kept apart from the code that publishes it (:mod:`.formats`: the JSON Schemas'
descriptions and the key tables of ``docs/formats.md``), so that a meaning is edited
here and nowhere else.
"""

from __future__ import annotations

from msgspec import Struct

from ..domain.events import ADJUSTMENT_KINDS
from ..domain.programme.terms import Funder, ProgrammeTerms, ProgrammeVariation
from ..domain.registry.events import ActorsDocument, RegisteredActor
from ..domain.risk_share_terms import RiskShare, ShareBand
from ..domain.terms import (
    Actor,
    Break,
    BusinessCase,
    Condition,
    ContractTerms,
    Extension,
    Fee,
    Kpi,
    Outcome,
    Payer,
    Provider,
    ProviderTerms,
    Ratings,
    SocialValue,
    Tier,
)
from ..domain.variations import OutcomeChange, ProviderChange, Variation

_OUTCOME = {
    "code": "The outcome's code, as returns name it in `outcome`.",
    "name": "What the outcome is, in words.",
    "kind": "`count` (paid per unit), `improvement` (paid on the gap to a baseline, see "
            "below) or `measure` (reported, never paid).",
    "price": "Price per unit achieved (the rate card). An outcome has `price` or `tiers`, "
             "never both (`measure` outcomes: neither).",
    "tiers": "Marginal price bands `{ upto, price }` over the contract's cumulative units; "
             "the last band has no `upto`.",
    "threshold": "Count outcomes: units in a period up to this many are not paid (a "
                 "deductible). Improvement outcomes: the reduction (a share, e.g. 0.10) the "
                 "result must clear.",
    "cap_units": "Most units paid over the contract's life.",
    "cap_value": "Most paid for this outcome over the contract's life.",
    "once_per_participant": "Participant-level returns: pay each participant once "
                            "(default true when returns carry participant ids).",
    "requires": "Ladder rungs: codes the same participant must have achieved in the same "
                "or an earlier period for this one to count.",
    "deadweight": "Share of units deducted before pricing (what would have happened "
                  "anyway).",
    "target": "For accountability only, never for payment. A single number is a "
              "whole-life target (met once the cumulative total reaches it); a table "
              "`{ \"FY2025-Q1\" = 20, ... }` gives a target per period.",
    "unit": "What one unit is (people, sessions...), for reports.",
    "baseline": "Improvement outcomes: expected events per `per` of exposure without the "
                "intervention.",
    "per": "Improvement outcomes: the exposure `baseline` is expressed per (default 1).",
    "cohort_size": "Improvement outcomes: the exposure, when it is fixed.",
    "exposure": "Improvement outcomes: the code of a `measure` outcome whose returned value "
                "in the same period is the exposure.",
    "pool": "Improvement outcomes tested together: outcomes sharing a pool name.",
    "pool_threshold": "The pooled reduction (a share) that pays every member of the pool.",
}

_PROVIDER = {
    "id": "The provider's id, as returns name it in `provider`.",
    "name": "The provider's name.",
    "public_key": "Ed25519 public key (base64 of the raw 32 bytes, or PEM) for signed "
                  "returns.",
    "kind": "`sme`, `vcse` (voluntary, community or social enterprise), `public` or "
            "`large`: for the report's market-shaping figures.",
    "local": "Whether the provider is a local organisation.",
    "joined": "The day the provider joined the network (default: the contract's start); "
              "within the term.",
    "left": "The provider's last day in the network (default: none); returns for a "
            "period after it are refused.",
    "terms": "What the integrator pays the provider.",
}

#: The keys of each key whose value is a table of numbers, by key (default: periods).
TABLE_KEYS = {"prices": "outcome code"}

#: Each key's meaning, by Struct and key.
MEANINGS: dict[type[Struct], dict[str, str]] = {
    ContractTerms: {
        "reference": "The contract's reference: every return, adjustment and command names "
                     "it.",
        "title": "The contract's title.",
        "buyer": "The commissioner (who pays).",
        "supplier": "The supplier (who is paid; an integrator when there are providers).",
        "start": "First day of the term (an ISO date).",
        "end": "Last day of the term (an ISO date).",
        "cadence": "Performance periods: `quarter` (FY2025-Q1 ..., UK financial year from "
                   "April) or `month` (2025-04 ...).",
        "outcomes": "The payable and measured outcomes (at least one).",
        "currency": "ISO 4217 currency of every amount.",
        "max_value": "Contract cap on outcome payments over the contract's life (after "
                     "every outcome cap). It does not include fees, adjustments or service "
                     "credits, which are added after it; retention is then taken from the "
                     "total.",
        "claims_until": "Last date an outcome may be achieved and still claimed (default: "
                        "`end`).",
        "retention": "Share of each period's payment withheld until the contract is closed.",
        "negative_periods": "`net`: a negative line (an improvement outcome doing worse than "
                            "baseline) reduces later payments; `floor`: a line never pays "
                            "below zero and nothing carries.",
        "participant_cap": "Most paid per participant over the contract's life (needs "
                           "participant-level returns).",
        "returns_due_days": "Days after a period ends by which its return is due; a return "
                            "received later is flagged late.",
        "signed_returns": "Refuse returns not signed with the provider's registered key.",
        "payers": "Who funds the payments and in what shares (shares sum to 1).",
        "providers": "The delivery network under the supplier; returns name them in "
                     "`provider`.",
        "fees": "Non-outcome payments: an amount per period, or per unit of an outcome.",
        "social_value": "Social-value commitments, reported against target and never paid. "
                        "Delivery is returned like an outcome: a returns row whose `outcome` "
                        "is the commitment's `code`.",
        "kpis": "Service levels; a shortfall earns a service credit. The achieved level is "
                "returned as a returns row whose `outcome` is the KPI's `code`.",
        "actors": "Who may act on the contract, with which role; none: anyone may.",
        "ratings": "Procurement Act rating thresholds as shares of target.",
        "programme": "The programme (`programme agree`) whose budget pays this contract: "
                     "each payment run draws on it, never past its budget.",
        "extensions": "Options to extend the term, earned on performance: `contract "
                      "extend` records one when its condition holds.",
        "breaks": "Options to end the contract early, earned on performance: `contract "
                  "break` closes it on the break's date when its condition holds.",
        "risk_share": "Shared risk on cost: the target cost and the bands that share an "
                      "over- or underrun with the supplier (`costs import` records the "
                      "costs).",
        "participant_ids": "`pseudonymised`: each participant id in returns is recorded as "
                           "a keyed pseudonym (`P-` and 20 hex digits), its evidence as a "
                           "keyed digest, the keys kept beside the events; `participant "
                           "erase` destroys one participant's key. `clear`: ids recorded "
                           "as given, never erasable. Fixed at agreement.",
    },
    BusinessCase: {
        "id": "The business case's id, as `payments --business-case` names it (new on the "
              "contract).",
        "title": "What the additional delivery is.",
        "need": "The need it meets, as agreed.",
        "effective": "First day its outcomes apply (a period boundary within the term).",
        "budget": "The most the business case pays over the contract's life: its outcomes' "
                  "payments are capped by it first, then by the contract's caps.",
        "outcomes": "Its outcomes, in the contract's outcome format, with codes not used "
                    "before on the contract.",
        "providers": "The network providers who deliver it (ids of the contract's "
                     "providers); none: any.",
    },
    RiskShare: {
        "target_cost": "The cost of the whole term (more than 0); through each period the "
                       "target is pro-rated by the periods of the term elapsed.",
        "bands": "Bands of outturn ÷ target `{ upto, supplier_share }`, `upto` increasing; "
                 "the first runs from 0, the last is open (no `upto`). Each slice of the "
                 "over- or underrun is shared at its band's rate, like income-tax bands.",
        "pain_cap": "The most the supplier bears of an overrun over the contract's life "
                    "(0 or more; default: no cap).",
    },
    ShareBand: {"supplier_share": "The supplier's share (0 to 1) of the part of the over- "
                                  "or underrun in this band: of a saving, paid to it; of "
                                  "an overrun, taken from it.",
                "upto": "Outturn ÷ target the band runs to (e.g. 0.9); omitted on the "
                        "last band."},
    Extension: {"id": "The option's id, as `contract extend --option` names it (distinct "
                      "from every other extension and break).",
                "months": "Months added to `end` (and to `claims_until`, when given).",
                "decide_by": "Last day the option may be exercised (`--on`); within the "
                             "term.",
                "condition": "What the extension is earned on."},
    Break: {"id": "The option's id, as `contract break --option` names it.",
            "on": "The day the contract closes if the break is exercised; within the term "
                  "(before `end`).",
            "condition": "What the break is earned on."},
    Condition: {"rating_at_least": "`good`, `approaching target` or `requires "
                                   "improvement`: every outcome with a target for a period "
                                   "must be rated this or better in that period (the "
                                   "report's ratings).",
                "periods": "How many completed periods, the last ending on or before "
                           "`--on`, the condition is judged over (1 or more)."},
    Outcome: _OUTCOME,
    Tier: {"price": "Price per unit within the band.",
           "upto": "Cumulative units the band runs to; omitted on the last band."},
    Payer: {"id": "The payer's id.", "name": "The payer's name.",
            "share": "Share of every payment this payer funds.",
            "commitment": "Most this payer has committed, for reports.",
            "residue": "This payer takes the rounding residue of splits (one payer)."},
    Provider: _PROVIDER,
    ProviderTerms: {
        "share": "Share (0 to 1) of the outcome payments the provider's figures earn that "
                 "the integrator passes on to it.",
        "prices": "The integrator's own rate card for the provider: a table `{ CODE = "
                  "price }` of outcomes of the contract.",
        "fee": "A fixed amount the integrator pays the provider in each period of its "
               "membership.",
        "targets": "The provider's share of the contract's targets: a table `{ CODE = "
                   "units }` of outcomes of the contract, over the term; the report rates "
                   "the provider's delivery against it."},
    Fee: {"code": "The fee's code.", "name": "What the fee is for.",
          "amount": "Amount per period (`period`) or per unit of `outcome` (`attachment`).",
          "basis": "`period`: paid in every period of the term; `attachment`: `amount` x "
                   "the units of `outcome`.",
          "outcome": "With `basis = \"attachment\"`: the outcome whose units it is paid on."},
    SocialValue: {"code": "The commitment's code, as returns name it in `outcome`.",
                  "name": "What is delivered.",
                  "mission": "The mission it serves, for reports.",
                  "target": "Whole-life target (the cumulative returned total meets it).",
                  "proxy_value": "Money value of one unit, for reports.",
                  "unit": "What one unit is."},
    Kpi: {"code": "The KPI's code, as returns name it in `outcome`.",
          "name": "The service level.", "target": "Level to reach, in KPI points.",
          "rate": "Credit per point below target, as a share of the period's fees.",
          "cap": "Most credit in a period, as a share of the period's fees."},
    Ratings: {"good": "Actual / target at or above this is *good*.",
              "approaching": "At or above this, *approaching target*.",
              "requires_improvement": "At or above this, *requires improvement*; below, "
                                      "*inadequate*."},
    Actor: {"name": "The actor, as given by `--actor`.",
            "role": "`commissioner`, `provider`, `validator` or `auditor`.",
            "provider": "With role `provider`: the provider id this actor returns for.",
            "public_key": "Ed25519 public key (base64 of the raw 32 bytes, or PEM): the "
                          "actor's writes must be signed with its key (`--key`). Once any "
                          "actor declares one, every write to the contract must be signed."},
    Variation: {
        "title": "A new title.", "end": "A new end of term (an extension or an early end).",
        "claims_until": "A new claims deadline.", "max_value": "A new contract cap.",
        "retention": "A new retention share.", "negative_periods": "A new policy.",
        "participant_cap": "A new cap per participant.",
        "returns_due_days": "A new due period for returns.",
        "signed_returns": "Start or stop requiring signed returns.",
        "outcomes": "Outcomes matched by `code`: the keys given replace that outcome's; an "
                    "unknown code adds an outcome (then `name` and a pricing rule are "
                    "required).",
        "retire": "Codes of outcomes that no longer apply.",
        "payers": "The whole payer list, replaced.",
        "providers": "Providers matched by `id`: the keys given replace that provider's "
                     "(`id` with `left` retires it); an unknown id adds a provider (then "
                     "`name` is required).",
        "fees": "Fees matched by `code`: replaced, or added.",
        "social_value": "Commitments matched by `code`: replaced, or added.",
        "kpis": "KPIs matched by `code`: replaced, or added.",
        "actors": "Actors matched by `name`: replaced, or added.",
        "ratings": "The whole ratings table, replaced.",
        "programme": "Join a programme (its reference), or leave one (`\"\"`): later "
                     "payment runs draw on the programme named.",
        "risk_share": "The whole risk-share table, replaced.",
    },
    OutcomeChange: _OUTCOME,
    ProviderChange: _PROVIDER,
    ProgrammeTerms: {
        "reference": "The programme's reference: contracts join it with `programme`.",
        "title": "The programme's title.",
        "currency": "ISO 4217 currency of the budget (its contracts' currency).",
        "start": "First day of the programme (an ISO date).",
        "end": "Last day of the programme (an ISO date).",
        "budget": "The most the programme pays across all its contracts; a payment run "
                  "past it certifies the headroom and reports the rest as `above_budget`.",
        "funders": "Who funds the budget: `{ id, name, commitment }`; commitments sum to "
                   "the budget. Each draw is split between them by commitment, or by the "
                   "contract's `payers` when every payer is a funder.",
    },
    Funder: {"id": "The funder's id (a contract's `payers` may name it).",
             "name": "The funder's name.",
             "commitment": "What the funder has committed to the programme."},
    ProgrammeVariation: {
        "title": "A new title.", "end": "A new end of the programme.",
        "budget": "A new budget (never below what the programme has certified).",
        "funders": "The whole funder list, replaced (commitments sum to the budget).",
    },
    ActorsDocument: {
        "actors": "The whole actor registry from this registration on: "
                  "`{ name, role, public_key }`; at least one `administrator`. An actor "
                  "left out is removed; a new `public_key` rotates the actor's key.",
    },
    RegisteredActor: {
        "name": "The actor, as given by `--actor` (one name may hold several roles).",
        "role": "`commissioner` (agrees and varies programmes), `administrator` (changes "
                "the registry) or `auditor` (writes nothing).",
        "public_key": "Ed25519 public key (base64 of the raw 32 bytes, as `returns keygen` "
                      "prints it, or PEM): the actor's programme-level writes must be "
                      "signed with its key (`--key`). One key per actor.",
    },
}

#: Returns rows (CSV columns, or NDJSON/JSON keys): name -> (type, meaning).
RETURN_ROW: dict[str, tuple[str, str]] = {
    "contract": ("string", "The contract's reference."),
    "period": ("string", "The period: FY2025-Q1 on a quarterly contract, 2025-04 on a "
                         "monthly one (or the period's first and last day, "
                         "2025-04-01..2025-06-30)."),
    "outcome": ("string", "An outcome code, or the code of a social-value commitment or a "
                          "KPI."),
    "value": ("number", "Units achieved (whole numbers for counts), the observed count of "
                        "an improvement outcome, the social value delivered, or the KPI "
                        "level."),
    "provider": ("string", "The provider in the contract's network whose return this is "
                           "(one return = the rows of one contract, period and provider)."),
    "participant": ("string", "A pseudonymous participant id: the figure is one "
                              "participant's, and per-participant rules apply."),
    "achieved_on": ("string", "The ISO date the outcome was achieved; it must lie in the "
                              "period and not after `claims_until`."),
    "evidence": ("string", "An evidence reference (a document id, a hash)."),
}

#: Costs rows (``costs import``, DESIGN 11): name -> (type, meaning).
COST_ROW: dict[str, tuple[str, str]] = {
    "contract": ("string", "The contract's reference (its terms have a `[risk_share]`)."),
    "period": ("string", "The period of the term the costs were incurred in (one report = "
                         "the rows of one contract and period)."),
    "category": ("string", "The cost category (staff, premises...): one row per category "
                           "and period."),
    "amount": ("number", "What was spent, 0 or more, at most the currency's minor unit's "
                         "precision."),
    "evidence": ("string", "An evidence reference (an invoice, a ledger extract)."),
}

#: Adjustments rows (``adjust --file``): name -> (type, meaning).
ADJUSTMENT_ROW: dict[str, tuple[str, str]] = {
    "contract": ("string", "The contract's reference."),
    "period": ("string", "The period the adjustment belongs to."),
    "kind": ("string", "One of " + ", ".join(ADJUSTMENT_KINDS) + "."),
    "amount": ("number", "Positive: owed to the supplier; negative: reduces what is owed. "
                         "In the currency's units, at most its minor unit's precision."),
    "reason": ("string", "Why: recorded on the event and shown in the audit log."),
}
