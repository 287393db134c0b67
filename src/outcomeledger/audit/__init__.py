"""The auditor's tools: the audit log, evidence packs, signed checkpoints.
"""
