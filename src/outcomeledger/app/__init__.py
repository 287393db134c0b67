"""Application services: files and flags in, commands decided against the ledger, replays and
reports fetched; the demo is built through them.
"""
