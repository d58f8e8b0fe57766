"""Background jobs: long work (an import of a file, a bank batch) started from a page and carried out by a worker,
with its progress kept in our own table."""
