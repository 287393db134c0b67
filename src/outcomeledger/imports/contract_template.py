"""The contract definition ``contract init`` prints, to copy and edit.

Apart from :mod:`.formats`, which generates the schemas and key tables from the code:
this is written by hand, a comment explaining each key in a line, and
``tests/cli/test_cli_conventions.py`` checks that it agrees as it stands.
"""

from __future__ import annotations

#: What ``contract init`` prints: a contract definition to copy and edit, every key
#: explained (docs/formats.md has the full reference). It agrees as it stands.
TEMPLATE = '''\
# A contract definition for `outcomeledger contract agree FILE` (TOML; JSON works too).
# Every key is in docs/formats.md. Unknown keys are refused, so a misspelt key never
# silently drops a term. Numbers are read exactly: write money as "600.00" or 600.

reference = "MY-REF"                      # returns, adjustments and commands name it
title = "Employment support outcomes contract"
buyer = "Example Council"                 # the commissioner
supplier = "Example Partnership Ltd"      # who is paid (the integrator, with providers)
start = 2025-04-01                        # first day of the term
end = 2027-03-31                          # last day of the term
cadence = "quarter"                       # "quarter" (FY2025-Q1...) or "month" (2025-04...)
currency = "GBP"
max_value = "250000"                      # cap on outcome payments over the whole life;
                                          # fees and adjustments are outside it
# claims_until = 2027-06-30               # last day an outcome may be achieved and claimed
retention = "0.05"                        # share withheld until the contract is closed
returns_due_days = 30                     # a return received later than this is late
# negative_periods = "net"                # or "floor" (improvement outcomes only matter)
# participant_cap = "9000"                # per participant: needs participant-level returns
# signed_returns = true                   # then every provider needs a public_key

providers = [                             # the delivery network; returns name them
  { id = "P1", name = "First provider", kind = "vcse", local = true },
  { id = "P2", name = "Second provider" },
]
# A provider may also give its kind ("sme", "vcse", "public" or "large"), whether it is
# local, the days it joined and left the network, and what the integrator pays it
# (terms: a share of what its outcomes earn, its own prices per outcome, a fee), e.g.
#   { id = "P3", name = "Joins later", joined = 2026-04-01, terms = { share = "0.8" } },
# payers = [                              # who funds it; shares sum to 1
#   { id = "LA", name = "Example Council", share = "0.6", commitment = "150000" },
#   { id = "FUND", name = "Outcomes fund", share = "0.4", residue = true },
# ]
fees = [                                  # paid every period of the term (basis = "period")
  { code = "MGMT", name = "Management fee", amount = "1500" },
]
# kpis = [                                # returned as rows with outcome = the KPI code
#   { code = "KPI1", name = "Contacts in 5 days (%)", target = "90", rate = "0.01" },
# ]
social_value = [                          # reported, never paid; returned as rows with
                                          # outcome = the commitment's code
  { code = "SV1", name = "Local people employed", mission = "Good jobs", target = "10" },
]
# actors = [                              # once declared, only these may act
#   { name = "commissioner@example.gov.uk", role = "commissioner" },
#   { name = "returns@first.example", role = "provider", provider = "P1" },
# ]

[[outcomes]]
code = "START"
name = "Started support"
price = "300"                             # per unit achieved (or tiers, never both)
target = 100                              # one number: a whole-life target; a table
                                          # { "FY2025-Q1" = 20, ... } gives one per period
unit = "people"

[[outcomes]]
code = "JOB"
name = "Job start"
price = "1200"
requires = ["START"]                      # the same participant achieved START first
unit = "people"

[[outcomes]]
code = "SUSTAIN"
name = "Job sustained 26 weeks"
requires = ["JOB"]
tiers = [                                 # marginal bands over cumulative units
  { upto = 50, price = "2000" },
  { price = "1500" },                     # the last band has no upto
]
cap_units = 200                           # most units paid over the contract's life
unit = "people"

# Options earned on performance (`contract extend` / `contract break`): every outcome with
# a per-period target rated at least `rating_at_least` in each of the last `periods`
# periods completed by the day it is exercised.
# [[extensions]]
# id = "E1"
# months = 12                             # added to end (and claims_until)
# decide_by = 2026-12-31
# condition = { rating_at_least = "good", periods = 4 }
#
# [[breaks]]
# id = "B1"
# on = 2026-09-30                         # the contract closes on this day
# condition = { rating_at_least = "requires improvement", periods = 2 }

# Shared risk on cost (`costs import` records the costs): against a target pro-rated by
# the periods of the term, the supplier keeps its share of a saving and bears its share of
# an overrun, band by band.
# [risk_share]
# target_cost = "2000000"                 # the cost of the whole term
# pain_cap = "100000"                     # the most the supplier bears of an overrun
# bands = [                               # by outturn / target, increasing
#   { upto = "0.9", supplier_share = "0.25" },
#   { upto = "1.1", supplier_share = "0.5" },
#   { supplier_share = "0.8" },           # the last band is open: no upto
# ]
'''
