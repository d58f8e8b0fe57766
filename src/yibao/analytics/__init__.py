"""Analytics adapters (R26): the operational database exported to a Parquet data set, and misuse rules run over it.
They read, never write operational tables; findings go to the findings service."""
