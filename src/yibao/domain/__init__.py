"""Entities, value objects, state machines and errors; no framework imports."""
