"""The actor registry (issue 21): the ledger-wide actors, each a name bound to an Ed25519
key in a programme-level role, held in a stream of its own (``outcomeledger:/actors``).
"""
