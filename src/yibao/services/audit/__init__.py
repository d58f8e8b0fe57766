"""Tamper evidence: chain verification and signed checkpoints."""
