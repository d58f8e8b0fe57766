"""ledger: link format 2 (`chain_v`), and one server-side call that checks, links and writes an entry (PostgreSQL)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 15:02:11.402918
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# `ledger_post` does in the database what the ledger writer does in Python for one entry whose accounts this
# transaction has not read yet, so the entry costs one round trip: lock the entry's guarded accounts and its
# anchor in id order; split a personal debit marked 'first' into this year's part and the carried-over part;
# apply the postings to the balance rows; check each unit sums to zero (the caller names the unit of each
# unguarded account, the rows tell the guarded ones'); if a guarded account would go below what its holds keep
# back, write nothing and answer 'short' (the writer then takes its ordinary path, which releases holds past
# their time and refuses with the facts); link the entry onto its anchor's chain
# (format 2, see ledger.chain: the caller gives the digest of the entry's head); write postings, entry and
# balance rows. It answers the locked accounts as they now are, with the part of each 'first' debit taken
# from this year's money.
LEDGER_POST = r"""
CREATE FUNCTION ledger_post(
    p_id varchar, p_kind varchar, p_at timestamptz, p_business_date date, p_memo varchar, p_details json,
    p_reverses_id varchar, p_anchor varchar, p_head varchar,
    p_accounts varchar[], p_amounts bigint[], p_buckets varchar[], p_units varchar[], p_lock varchar[]
) RETURNS TABLE (status varchar, prev_hash varchar, taken bigint[], id varchar, kind varchar, region varchar,
                 unit varchar, created_at timestamptz, person_id varchar, institution_code varchar,
                 posted_fen bigint, pending_fen bigint, current_year_fen bigint, chain_head varchar,
                 chain_length integer)
LANGUAGE plpgsql AS $$
DECLARE
  ids varchar[]; units varchar[]; posted bigint[]; pending bigint[]; cur bigint[]; cur0 bigint[];
  heads varchar[]; lengths integer[];
  legs_a varchar[] := '{}'; legs_m bigint[] := '{}'; legs_b varchar[] := '{}'; took bigint[] := '{}';
  lines text := ''; fen bigint := 0; counted bigint := 0;
  i integer; k integer; take bigint; prev varchar; seq integer; link varchar; leg_unit varchar;
BEGIN
  SELECT array_agg(l.id ORDER BY l.id), array_agg(l.unit ORDER BY l.id), array_agg(l.posted_fen ORDER BY l.id),
         array_agg(l.pending_fen ORDER BY l.id), array_agg(l.current_year_fen ORDER BY l.id),
         array_agg(l.chain_head ORDER BY l.id), array_agg(l.chain_length ORDER BY l.id)
    INTO ids, units, posted, pending, cur, heads, lengths
    FROM (SELECT a.id, a.unit, a.posted_fen, a.pending_fen, a.current_year_fen, a.chain_head, a.chain_length
            FROM ledger_accounts a WHERE a.id = ANY(p_lock) ORDER BY a.id FOR UPDATE) l;
  IF coalesce(array_length(ids, 1), 0) <> array_length(p_lock, 1) THEN
    RETURN QUERY SELECT 'missing'::varchar, NULL::varchar, NULL::bigint[], NULL::varchar, NULL::varchar,
      NULL::varchar, NULL::varchar, NULL::timestamptz, NULL::varchar, NULL::varchar, NULL::bigint, NULL::bigint,
      NULL::bigint, NULL::varchar, NULL::integer;
    RETURN;
  END IF;
  cur0 := cur;
  FOR i IN 1 .. array_length(p_accounts, 1) LOOP
    k := array_position(ids, p_accounts[i]);
    leg_unit := coalesce(p_units[i], units[k]);
    IF leg_unit = 'count' THEN counted := counted + p_amounts[i]; ELSE fen := fen + p_amounts[i]; END IF;
    IF p_buckets[i] = 'first' THEN
      take := least(cur0[k], -p_amounts[i]);
      took := took || take;
      IF take > 0 THEN
        legs_a := legs_a || p_accounts[i]; legs_m := legs_m || -take; legs_b := legs_b || 'current'::varchar;
        cur[k] := cur[k] - take;
      END IF;
      IF -p_amounts[i] - take > 0 THEN
        legs_a := legs_a || p_accounts[i]; legs_m := legs_m || (p_amounts[i] + take);
        legs_b := legs_b || 'carried'::varchar;
      END IF;
    ELSE
      took := took || 0::bigint;
      legs_a := legs_a || p_accounts[i]; legs_m := legs_m || p_amounts[i]; legs_b := legs_b || p_buckets[i];
      IF k IS NOT NULL AND p_buckets[i] = 'current' THEN
        cur[k] := cur[k] + p_amounts[i];
      END IF;
    END IF;
    IF k IS NOT NULL AND posted[k] IS NOT NULL THEN
      posted[k] := posted[k] + p_amounts[i];
    END IF;
  END LOOP;
  IF fen <> 0 OR counted <> 0 THEN
    RAISE EXCEPTION 'ledger: an entry needs two or more postings that sum to zero' USING ERRCODE = 'check_violation';
  END IF;
  FOR k IN 1 .. array_length(ids, 1) LOOP
    IF posted[k] IS NOT NULL AND posted[k] - pending[k] < 0 THEN
      RETURN QUERY SELECT 'short'::varchar, NULL::varchar, NULL::bigint[], ids[k], NULL::varchar,
        NULL::varchar, NULL::varchar, NULL::timestamptz, NULL::varchar, NULL::varchar, NULL::bigint, NULL::bigint,
        NULL::bigint, NULL::varchar, NULL::integer;
      RETURN;
    END IF;
    IF cur[k] IS NOT NULL AND NOT cur[k] BETWEEN 0 AND posted[k] THEN
      RAISE EXCEPTION 'ledger: the current-year part of % would be % of %', ids[k], cur[k], posted[k]
        USING ERRCODE = 'check_violation';
    END IF;
  END LOOP;

  FOR i IN 1 .. array_length(legs_a, 1) LOOP
    lines := lines || E'\n' || legs_a[i] || ' ' || legs_m[i] || ' ' || coalesce(legs_b[i], '-');
  END LOOP;
  k := array_position(ids, p_anchor);
  prev := heads[k];
  seq := lengths[k] + 1;
  link := encode(sha256(convert_to(prev || E'\n' || seq || E'\n' || p_head || lines, 'UTF8')), 'hex');
  heads[k] := link;
  lengths[k] := seq;

  INSERT INTO ledger_postings (entry_id, account_id, amount_fen, bucket)
    SELECT p_id, leg.a, leg.m, leg.b FROM unnest(legs_a, legs_m, legs_b) WITH ORDINALITY AS leg(a, m, b, o)
     ORDER BY leg.o;
  INSERT INTO ledger_entries (id, kind, at, business_date, memo, details, reverses_id, anchor_account_id,
                              anchor_seq, prev_hash, hash, chain_v)
    VALUES (p_id, p_kind, p_at, p_business_date, p_memo, p_details, p_reverses_id, p_anchor, seq, prev, link, 2);
  RETURN QUERY
    UPDATE ledger_accounts AS a
       SET posted_fen = b.posted_fen, current_year_fen = b.current_year_fen, chain_head = b.chain_head,
           chain_length = b.chain_length
      FROM unnest(ids, posted, cur, heads, lengths) AS b(id, posted_fen, current_year_fen, chain_head, chain_length)
     WHERE a.id = b.id
    RETURNING 'ok'::varchar, prev, took, a.id, a.kind, a.region, a.unit, a.created_at, a.person_id,
              a.institution_code, a.posted_fen, a.pending_fen, a.current_year_fen, a.chain_head, a.chain_length;
END $$
"""


def upgrade() -> None:
    # Rows written so far keep link format 1; every writer names the format it links with.
    op.add_column('ledger_entries', sa.Column('chain_v', sa.SmallInteger(), nullable=False, server_default='1'))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ledger_entries ALTER COLUMN chain_v SET DEFAULT 2")  # ledger_write_entry's rows
        op.execute(LEDGER_POST)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_post")
    op.drop_column('ledger_entries', 'chain_v')  # SQLite drops a column in place: the table's triggers stay
