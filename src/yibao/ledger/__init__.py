"""The double-entry ledger: accounts, entries and their postings, holds, the hash chain. Pure: no I/O."""
