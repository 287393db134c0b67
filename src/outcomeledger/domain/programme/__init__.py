"""Programmes (DESIGN 10): one budget above several contracts, paid by its funders.

A programme is a stream of its own (``outcomeledger:/programmes/REF``). A contract joins
one by naming it; each payment run of such a contract draws on the programme in the same
transaction, and never past its budget: what the budget cannot pay is ``above_budget``.
"""
