"""Accounts and roles, the tamper-evident audit trail, clinician review sessions."""
