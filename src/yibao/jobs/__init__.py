"""Batch jobs: monthly crediting, the year end, bank files, reconciliation."""
