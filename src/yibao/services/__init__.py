"""Use cases: one function, one unit of work, one commit."""
