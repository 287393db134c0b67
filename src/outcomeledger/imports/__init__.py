"""Readers for files users import: returns and adjustments (CSV, NDJSON, JSON)."""
