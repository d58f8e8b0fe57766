"""ledger: one server-side call writes an entry's postings, the entry and its balance rows (PostgreSQL)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:12:04.118305
"""

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# The ledger writer has decided everything in Python (rules, amounts, hash chain link); this function
# only runs its three statements in one round trip, in the order the plain path runs them: postings
# first (in the order given, so their ids follow it), then the entry row, whose trigger checks they
# sum to zero, then the balance and chain columns of the accounts the entry changed.
WRITE_ENTRY = """
CREATE FUNCTION ledger_write_entry(
    p_id varchar, p_kind varchar, p_at timestamptz, p_business_date date, p_memo varchar, p_details json,
    p_reverses_id varchar, p_anchor_account_id varchar, p_anchor_seq integer, p_prev_hash varchar, p_hash varchar,
    p_posting_accounts varchar[], p_posting_amounts bigint[], p_posting_buckets varchar[],
    p_account_ids varchar[], p_posted bigint[], p_pending bigint[], p_current_year bigint[],
    p_chain_heads varchar[], p_chain_lengths integer[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger_postings (entry_id, account_id, amount_fen, bucket)
    SELECT p_id, leg.account_id, leg.amount_fen, leg.bucket
    FROM unnest(p_posting_accounts, p_posting_amounts, p_posting_buckets) AS leg(account_id, amount_fen, bucket);
  INSERT INTO ledger_entries (id, kind, at, business_date, memo, details, reverses_id, anchor_account_id,
                              anchor_seq, prev_hash, hash)
    VALUES (p_id, p_kind, p_at, p_business_date, p_memo, p_details, p_reverses_id, p_anchor_account_id,
            p_anchor_seq, p_prev_hash, p_hash);
  UPDATE ledger_accounts AS a
     SET posted_fen = b.posted_fen, pending_fen = b.pending_fen, current_year_fen = b.current_year_fen,
         chain_head = b.chain_head, chain_length = b.chain_length
    FROM unnest(p_account_ids, p_posted, p_pending, p_current_year, p_chain_heads, p_chain_lengths)
         AS b(id, posted_fen, pending_fen, current_year_fen, chain_head, chain_length)
   WHERE a.id = b.id;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(WRITE_ENTRY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_write_entry")
