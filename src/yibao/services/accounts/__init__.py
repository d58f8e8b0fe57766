"""Personal accounts: the books, balances and statements, contributions, collection, freezes, corrections."""
