"""The ledger's list of sealed tables and their keys is the store's: a table renamed or re-keyed fails here."""

from yibao.ledger import seals
from yibao.store.seals import TABLES


def test_every_sealed_table_is_a_table_with_the_key_the_seals_name():
    assert set(TABLES) == set(seals.COLUMNS) == set(seals.KEYS)
    for name, table in TABLES.items():
        assert seals.KEYS[name] == tuple(c.name for c in table.primary_key.columns)
        assert set(seals.COLUMNS[name]) <= {c.name for c in table.columns}
