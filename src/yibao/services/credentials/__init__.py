"""Credentials: cards, e-vouchers, payment codes, bank accounts, users and sign-in."""
