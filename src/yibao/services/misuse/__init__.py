"""Misuse findings (R26): what the analytics engines detect, recorded once, and the reviewer's dispositions."""
