"""Database tables. One metadata for SQLite and PostgreSQL; Alembic migrates it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa


class UtcDateTime(sa.TypeDecorator):
    """Timestamps stored in UTC and always read back timezone-aware, on SQLite too."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: timestamps must carry a timezone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = UtcDateTime()
ID = sa.String(24)
REGION = sa.String(6)

persons = sa.Table(
    "persons",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("id_number", sa.String(18), nullable=False, unique=True),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("phone", sa.String(11), nullable=False),
    sa.Column("region", REGION, nullable=False),
    sa.Column("birth_date", sa.Date, nullable=False),
    sa.Column("sex", sa.String(6), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("verified_at", TS),
    sa.Column("verified_by", sa.String(64)),
    sa.Column("verified_how", sa.String(10)),
    sa.CheckConstraint("verified_how IN ('counter', 'register')", name="verified_how"),
)

residents = sa.Table(
    "residents",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("id_number", sa.String(18), nullable=False, unique=True),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("event_date", sa.Date),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("imported_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.CheckConstraint("status IN ('alive', 'deceased', 'emigrated')", name="status"),
)

employers = sa.Table(
    "employers",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("uscc", sa.String(18), nullable=False, unique=True),
    sa.Column("name", sa.String(200)),
    sa.Column("region", REGION),
    sa.Column("contact_name", sa.String(50)),
    sa.Column("contact_phone", sa.String(11)),
    sa.Column("created_at", TS, nullable=False),
)

enrollments = sa.Table(
    "enrollments",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("scheme", sa.String(10), nullable=False),
    sa.Column("employer_id", ID, sa.ForeignKey("employers.id"), index=True),
    sa.Column("flexible", sa.Boolean, nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.CheckConstraint("scheme IN ('employee', 'resident')", name="scheme"),
    sa.CheckConstraint("status IN ('requested', 'active', 'ended', 'superseded')", name="status"),
)
# One open enrolment per person and scheme, enforced by the database too.
sa.Index(
    "uq_enrollments_open_per_scheme",
    enrollments.c.person_id,
    enrollments.c.scheme,
    unique=True,
    sqlite_where=enrollments.c.status.in_(("requested", "active")),
    postgresql_where=enrollments.c.status.in_(("requested", "active")),
)

institutions = sa.Table(
    "institutions",
    metadata,
    sa.Column("code", sa.String(20), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("region", REGION, nullable=False, index=True),
    sa.Column("cross_region", sa.Boolean, nullable=False),
    sa.Column("designated_from", sa.Date),
    sa.Column("designated_to", sa.Date),
    sa.Column("created_at", TS, nullable=False),
    sa.CheckConstraint("kind IN ('hospital', 'clinic', 'pharmacy')", name="kind"),
)

agencies = sa.Table(
    "agencies",
    metadata,
    sa.Column("region", REGION, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("address", sa.String(300), nullable=False),
    sa.Column("phone", sa.String(40), nullable=False),
    sa.Column("hours", sa.String(200), nullable=False),
    sa.Column("website", sa.String(200), nullable=False),
    sa.Column("services", sa.JSON, nullable=False),
)

cards = sa.Table(
    "cards",
    metadata,
    sa.Column("card_no", sa.String(20), primary_key=True),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("issued_on", sa.Date, nullable=False),
    sa.Column("expires_on", sa.Date, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("pin_hash", sa.String(200)),
    sa.Column("pin_failures", sa.Integer, nullable=False),
    sa.Column("pin_locked", sa.Boolean, nullable=False),
    sa.Column("replaced_by", sa.String(20)),
    sa.Column("frozen_reason", sa.String(200)),
    sa.CheckConstraint(
        "status IN ('issued', 'active', 'lost', 'frozen', 'expired', 'replaced')", name="status"
    ),
)

evouchers = sa.Table(
    "evouchers",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("channel", sa.String(12), nullable=False),
    sa.Column("token_digest", sa.String(64), nullable=False, unique=True),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("activated_at", TS, nullable=False),
    sa.Column("revoked_at", TS),
)
sa.Index(
    "uq_evouchers_active_per_channel",
    evouchers.c.person_id,
    evouchers.c.channel,
    unique=True,
    sqlite_where=evouchers.c.status == "active",
    postgresql_where=evouchers.c.status == "active",
)

bank_accounts = sa.Table(
    "bank_accounts",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("account_no", sa.String(19), nullable=False),
    sa.Column("bank_name", sa.String(100), nullable=False),
    sa.Column("holder_name", sa.String(50), nullable=False),
    sa.Column("is_primary", sa.Boolean, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("unlinked_at", TS),
    sa.CheckConstraint("status IN ('linked', 'unlinked')", name="status"),
    sa.CheckConstraint("status = 'linked' OR NOT is_primary", name="primary_linked"),
)
# A number is linked by one person at a time: two people linking it at once cannot both succeed.
sa.Index(
    "uq_bank_accounts_number_linked",
    bank_accounts.c.account_no,
    unique=True,
    sqlite_where=bank_accounts.c.status == "linked",
    postgresql_where=bank_accounts.c.status == "linked",
)
sa.Index(
    "uq_bank_accounts_one_primary",
    bank_accounts.c.person_id,
    unique=True,
    sqlite_where=bank_accounts.c.is_primary,
    postgresql_where=bank_accounts.c.is_primary,
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("role", sa.String(12), nullable=False),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id")),
    sa.Column("employer_id", ID, sa.ForeignKey("employers.id")),
    sa.Column("institution_code", sa.String(20), sa.ForeignKey("institutions.code")),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.CheckConstraint(
        "role IN ('person', 'unit', 'institution', 'counter', 'terminal', 'collector', 'reviewer', 'auditor', "
        "'admin')", name="role"
    ),
)

auth_tokens = sa.Table(
    "auth_tokens",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("issued_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
)

audit_records = sa.Table(
    "audit_records",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(32), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    # Tamper evidence: each entity's records form a hash chain (ledger.chain).
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_records_entity", "entity", "entity_id"),
    sa.UniqueConstraint("entity", "entity_id", "seq", name="uq_audit_records_chain"),
)

master_data_versions = sa.Table(
    "master_data_versions",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(32), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("valid_from", TS, nullable=False),
    sa.Column("valid_to", TS),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Index("ix_master_data_versions_entity", "entity", "entity_id"),
)


# --- ledger ---------------------------------------------------------------------

BIGINT = sa.BigInteger().with_variant(sa.Integer, "sqlite")
ACCOUNT_ID = sa.String(80)
GUARDED_KINDS = "('personal', 'quota')"

ledger_accounts = sa.Table(
    "ledger_accounts",
    metadata,
    sa.Column("id", ACCOUNT_ID, primary_key=True),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("region", REGION, nullable=False),
    sa.Column("unit", sa.String(8), nullable=False),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), index=True),
    sa.Column("institution_code", sa.String(20), sa.ForeignKey("institutions.code")),
    sa.Column("posted_fen", sa.BigInteger),
    sa.Column("pending_fen", sa.BigInteger),
    sa.Column("current_year_fen", sa.BigInteger),
    sa.Column("chain_head", sa.String(64), nullable=False),
    sa.Column("chain_length", sa.Integer, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.CheckConstraint(
        "kind IN ('personal', 'pooled_fund', 'contribution_clearing', 'bank_clearing', "
        "'institution_payable', 'quota', 'quota_source')", name="kind"),
    sa.CheckConstraint("unit IN ('fen', 'count')", name="unit"),
    # Guarded accounts keep a balance row; the others are sums of their postings.
    sa.CheckConstraint(
        f"(kind IN {GUARDED_KINDS} AND posted_fen IS NOT NULL AND pending_fen IS NOT NULL) OR "
        f"(kind NOT IN {GUARDED_KINDS} AND posted_fen IS NULL AND pending_fen IS NULL)", name="guarded"),
    sa.CheckConstraint("posted_fen IS NULL OR (pending_fen >= 0 AND posted_fen - pending_fen >= 0)",
                       name="never_below_zero"),
    sa.CheckConstraint("current_year_fen IS NULL OR (current_year_fen >= 0 AND current_year_fen <= posted_fen)",
                       name="current_year_within_balance"),
)

ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("memo", sa.String(200), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("reverses_id", ID, sa.ForeignKey("ledger_entries.id"), unique=True),
    sa.Column("anchor_account_id", ACCOUNT_ID, sa.ForeignKey("ledger_accounts.id"), nullable=False),
    sa.Column("anchor_seq", sa.Integer, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # How the hash links the entry (ledger.chain): 1 for rows written before format 2; writers name it.
    sa.Column("chain_v", sa.SmallInteger, nullable=False, server_default="1"),
    sa.UniqueConstraint("anchor_account_id", "anchor_seq", name="uq_ledger_entries_chain"),
)

ledger_postings = sa.Table(
    "ledger_postings",
    metadata,
    sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
    # Postings are written before their entry, whose insertion checks they sum to zero.
    sa.Column("entry_id", ID, sa.ForeignKey("ledger_entries.id", deferrable=True, initially="DEFERRED"),
              nullable=False, index=True),
    sa.Column("account_id", ACCOUNT_ID, sa.ForeignKey("ledger_accounts.id"), nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("bucket", sa.String(8)),
    sa.CheckConstraint("amount_fen <> 0", name="nonzero"),
    sa.CheckConstraint("bucket IS NULL OR bucket IN ('current', 'carried')", name="bucket"),
    sa.Index("ix_ledger_postings_account", "account_id", "id"),
)

holds = sa.Table(
    "holds",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("account_id", ACCOUNT_ID, sa.ForeignKey("ledger_accounts.id"), nullable=False),
    sa.Column("counter_account_id", ACCOUNT_ID, sa.ForeignKey("ledger_accounts.id"), nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("captured_fen", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("purpose", sa.String(64), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("closed_at", TS),
    sa.Column("entry_id", ID, sa.ForeignKey("ledger_entries.id")),
    sa.CheckConstraint("amount_fen > 0 AND captured_fen >= 0 AND captured_fen <= amount_fen", name="amounts"),
    sa.CheckConstraint("status IN ('pending', 'captured', 'voided', 'expired')", name="status"),
    sa.Index("ix_holds_account_status", "account_id", "status"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("response", sa.JSON),
    sa.Column("created_at", TS, nullable=False),
)

# --- vouchers -------------------------------------------------------------------

vouchers = sa.Table(
    "vouchers",
    metadata,
    # The verification code printed on the document; GET /vouchers/{code} confirms it.
    sa.Column("code", sa.String(24), primary_key=True),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("subject", sa.JSON, nullable=False),  # what the document states (period, totals, ids)
    sa.Column("sha256", sa.String(64), nullable=False),  # of the rendered document
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
)

# --- policy ---------------------------------------------------------------------

policy_sets = sa.Table(
    "policy_sets",
    metadata,
    # Every load of a policy tree, with exactly the files it was loaded from; the newest is in force.
    sa.Column("id", ID, primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("loaded_at", TS, nullable=False, index=True),
    sa.Column("loaded_by", sa.String(64), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("files", sa.JSON, nullable=False),  # {"<folder>/<file>.yaml": text}
)

policy_versions = sa.Table(
    "policy_versions",
    metadata,
    # The second time axis: each version of a rule or parameter value, keyed by its effective date
    # and content, with the load that first brought it (when it was published to the system).
    sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
    sa.Column("region", REGION, nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("content", sa.JSON, nullable=False),
    sa.Column("first_set_id", ID, sa.ForeignKey("policy_sets.id"), nullable=False),
    sa.Column("first_loaded_at", TS, nullable=False),
    sa.CheckConstraint("kind IN ('rule', 'parameter')", name="kind"),
    sa.UniqueConstraint("region", "kind", "name", "effective_from", "content_hash", name="uq_policy_versions_version"),
)

notices = sa.Table(
    "notices",
    metadata,
    # Messages stored for a person: policy changes that concern them, and (later) application steps.
    sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("title_zh", sa.String(200), nullable=False),
    sa.Column("title_en", sa.String(200), nullable=False),
    sa.Column("body_zh", sa.Text, nullable=False),
    sa.Column("body_en", sa.Text, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("read_at", TS),
    sa.Index("ix_notices_person", "person_id", "id"),
)

# --- cross-region filings and family grants ---------------------------------------

filings = sa.Table(
    "filings",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("type", sa.String(10), nullable=False),
    sa.Column("reason", sa.String(24), nullable=False),
    sa.Column("destination_region", REGION, nullable=False),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("rule_id", sa.String(80), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("closed_at", TS),
    sa.CheckConstraint("status IN ('active', 'cancelled', 'replaced')", name="status"),
    sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="period"),
    # One filing in force per person: a new one replaces the old in the same transaction.
    sa.Index("uq_filings_one_active", "person_id", unique=True,
             sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'")),
)

family_grants = sa.Table(
    "family_grants",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("owner_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("grantee_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("relation", sa.String(12), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("rule_id", sa.String(80), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("revoked_at", TS),
    sa.Column("accepted_at", TS),
    sa.CheckConstraint("status IN ('pending', 'active', 'revoked', 'declined', 'cancelled')", name="status"),
    sa.CheckConstraint("owner_id <> grantee_id", name="not_self"),
    # One grant per pair pending or in force (an owner's second request waits for the first to be answered).
    sa.Index("uq_family_grants_one_open", "owner_id", "grantee_id", unique=True,
             sqlite_where=sa.text("status IN ('pending', 'active')"),
             postgresql_where=sa.text("status IN ('pending', 'active')")),
)

# --- settlement -----------------------------------------------------------------

settlements = sa.Table(
    "settlements",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("institution_code", sa.String(20), sa.ForeignKey("institutions.code"), nullable=False),
    sa.Column("idempotency_key", sa.String(128), nullable=False),
    sa.Column("payer_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("owner_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("credential_type", sa.String(10), nullable=False),
    sa.Column("total_fen", sa.BigInteger, nullable=False),
    sa.Column("account_paid_fen", sa.BigInteger, nullable=False),
    sa.Column("cash_fen", sa.BigInteger, nullable=False),
    sa.Column("refunded_fen", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("items", sa.JSON, nullable=False),
    sa.Column("decision", sa.JSON, nullable=False),
    sa.Column("quotas", sa.JSON, nullable=False),
    sa.Column("entry_id", ID, sa.ForeignKey("ledger_entries.id")),
    sa.Column("emergency", sa.Boolean, nullable=False, server_default=sa.false()),  # stated by the institution
    sa.CheckConstraint("account_paid_fen >= 0 AND cash_fen >= 0 AND account_paid_fen + cash_fen = total_fen",
                       name="split"),
    sa.CheckConstraint("refunded_fen >= 0 AND refunded_fen <= account_paid_fen", name="refunded"),
    sa.CheckConstraint("status IN ('settled', 'partly_refunded', 'refunded')", name="status"),
    sa.UniqueConstraint("institution_code", "idempotency_key", name="uq_settlements_key"),
    sa.Index("ix_settlements_institution_day", "institution_code", "business_date"),
    sa.Index("ix_settlements_emergency_day", "business_date", sqlite_where=sa.text("emergency"),
             postgresql_where=sa.text("emergency")),
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("settlement_id", ID, sa.ForeignKey("settlements.id"), nullable=False, index=True),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("entry_id", ID, sa.ForeignKey("ledger_entries.id"), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.CheckConstraint("amount_fen > 0", name="positive"),
)

# --- applications: documents, review, disbursement ---------------------------------

documents = sa.Table(
    "documents",
    metadata,
    # The file itself lies under the data directory, named by its sha256; this row says whose it is.
    sa.Column("id", ID, primary_key=True),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("type", sa.String(24), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("media_type", sa.String(40), nullable=False),
    sa.Column("filename", sa.String(200), nullable=False),
    sa.Column("uploaded_at", TS, nullable=False),
    sa.Column("uploaded_by", sa.String(64), nullable=False),
    sa.CheckConstraint("size > 0", name="not_empty"),
)

applications = sa.Table(
    "applications",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("applicant_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(16), nullable=False),
    sa.Column("channel", sa.String(12), nullable=False),
    sa.Column("in_person", sa.Boolean, nullable=False),
    sa.Column("by_proxy", sa.Boolean, nullable=False),
    sa.Column("requested_fen", sa.BigInteger, nullable=False),
    sa.Column("approved_fen", sa.BigInteger),
    sa.Column("fee_fen", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("rule_id", sa.String(80), nullable=False),
    sa.Column("event_date", sa.Date),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.CheckConstraint("kind IN ('withdrawal', 'reimbursement')", name="kind"),
    sa.CheckConstraint(
        "status IN ('draft', 'submitted', 'under_review', 'supplement_requested', 'resubmitted', 'approved', "
        "'rejected', 'disbursing', 'paid', 'failed', 'withdrawn')", name="status"),
    sa.CheckConstraint("requested_fen > 0 AND fee_fen >= 0", name="amounts"),
    sa.CheckConstraint("approved_fen IS NULL OR (approved_fen > 0 AND approved_fen <= requested_fen)",
                       name="approved"),
    sa.Index("ix_applications_status", "status", "updated_at"),
)

application_documents = sa.Table(
    "application_documents",
    metadata,
    sa.Column("application_id", ID, sa.ForeignKey("applications.id"), primary_key=True),
    sa.Column("document_id", ID, sa.ForeignKey("documents.id"), primary_key=True),
    sa.Column("added_at", TS, nullable=False),
)

application_steps = sa.Table(
    "application_steps",
    metadata,
    sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
    sa.Column("application_id", ID, sa.ForeignKey("applications.id"), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(24), nullable=False),
    sa.Column("from_status", sa.String(24)),
    sa.Column("to_status", sa.String(24), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Index("ix_application_steps_application", "application_id", "id"),
)

disbursement_batches = sa.Table(
    "disbursement_batches",
    metadata,
    # One bank payment file: the lines to one bank, with its checksum; the bank's return closes it.
    sa.Column("id", ID, primary_key=True),
    sa.Column("bank_name", sa.String(100), nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("file_name", sa.String(120), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("line_count", sa.Integer, nullable=False),
    sa.Column("total_fen", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("returned_at", TS),
    sa.Column("file_id", ID),  # the payment file's own id, which the bank's return must name
    sa.CheckConstraint("status IN ('sent', 'returned')", name="status"),
    sa.Index("uq_disbursement_batches_file_id", "file_id", unique=True),
)

disbursement_lines = sa.Table(
    "disbursement_lines",
    metadata,
    sa.Column("batch_id", ID, sa.ForeignKey("disbursement_batches.id"), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("application_id", ID, sa.ForeignKey("applications.id"), nullable=False, index=True),
    sa.Column("hold_id", ID, sa.ForeignKey("holds.id"), nullable=False),
    sa.Column("payee_name", sa.String(50), nullable=False),
    sa.Column("account_no", sa.String(19), nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("fee_fen", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("reason", sa.String(200)),
    sa.Column("expected_arrival_date", sa.Date, nullable=False),
    sa.Column("line_id", ID),  # unique across every file: a return names the lines it settles
    sa.CheckConstraint("amount_fen > 0 AND fee_fen >= 0", name="amounts"),
    sa.CheckConstraint("status IN ('pending', 'paid', 'failed')", name="status"),
    sa.Index("uq_disbursement_lines_line_id", "line_id", unique=True),
)
# An application is on one open line at a time: a second batch cannot pay it twice.
sa.Index(
    "uq_disbursement_lines_one_pending",
    disbursement_lines.c.application_id,
    unique=True,
    sqlite_where=disbursement_lines.c.status == "pending",
    postgresql_where=disbursement_lines.c.status == "pending",
)

disbursement_returns = sa.Table(
    "disbursement_returns",
    metadata,
    # Each signed return file of the bank applied to a batch, byte for byte: applied once, never again.
    sa.Column("id", sa.String(64), primary_key=True),  # the bank's return id
    sa.Column("batch_id", ID, sa.ForeignKey("disbursement_batches.id"), nullable=False, index=True),
    sa.Column("file_id", ID, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("line_count", sa.Integer, nullable=False),
    sa.Column("applied_at", TS, nullable=False),
    sa.Column("applied_by", sa.String(64), nullable=False),
)

cash_vouchers = sa.Table(
    "cash_vouchers",
    metadata,
    # 取现凭证 (R22): an approved cross-region application paid at a counter or terminal against this code,
    # exactly once; the amount is held from approval until it is redeemed or the voucher lapses.
    sa.Column("code", sa.String(24), primary_key=True),
    sa.Column("application_id", ID, sa.ForeignKey("applications.id"), nullable=False, unique=True),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("hold_id", ID, sa.ForeignKey("holds.id"), nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("institution_code", sa.String(20), sa.ForeignKey("institutions.code")),  # where it is to be redeemed
    sa.Column("issued_at", TS, nullable=False),
    sa.Column("valid_until", TS, nullable=False),
    sa.Column("redeemed_at", TS),
    sa.Column("redeemed_by", sa.String(64)),
    sa.Column("redeemed_at_institution", sa.String(20)),
    sa.CheckConstraint("amount_fen > 0", name="positive"),
)

appointment_slots = sa.Table(
    "appointment_slots",
    metadata,
    # 预约: an institution's time slots, each with a capacity; `booked` never exceeds it.
    sa.Column("id", ID, primary_key=True),
    sa.Column("institution_code", sa.String(20), sa.ForeignKey("institutions.code"), nullable=False),
    sa.Column("starts_at", TS, nullable=False),
    sa.Column("ends_at", TS, nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("booked", sa.Integer, nullable=False),
    sa.CheckConstraint("capacity > 0 AND booked >= 0 AND booked <= capacity", name="capacity"),
    sa.CheckConstraint("ends_at > starts_at", name="period"),
    sa.Index("ix_appointment_slots_institution", "institution_code", "starts_at"),
)

appointments = sa.Table(
    "appointments",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("slot_id", ID, sa.ForeignKey("appointment_slots.id"), nullable=False),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("purpose", sa.String(40), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("cancelled_at", TS),
    sa.Column("used_at", TS),  # a cash voucher redeemed against this booking: it can no longer be cancelled
    sa.CheckConstraint("status IN ('booked', 'cancelled', 'used')", name="status"),
)
sa.Index(
    "uq_appointments_one_per_slot",
    appointments.c.slot_id,
    appointments.c.person_id,
    unique=True,
    sqlite_where=appointments.c.status == "booked",
    postgresql_where=appointments.c.status == "booked",
)

# --- life events and account freezes -------------------------------------------------

life_events = sa.Table(
    "life_events",
    metadata,
    # A person's death or emigration (参保人死亡、出国（境）定居), recorded at the counter or from the residents
    # register: from its date every credential is refused; one event per person.
    sa.Column("id", ID, primary_key=True),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False, unique=True),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("event_date", sa.Date, nullable=False),
    sa.Column("recorded_at", TS, nullable=False),
    sa.Column("recorded_by", sa.String(64), nullable=False),
    sa.Column("source", sa.String(10), nullable=False),
    sa.Column("document_ids", sa.JSON, nullable=False),
    # Settlements on or after the event's date already made when it was recorded: findings for review.
    sa.Column("late_settlement_ids", sa.JSON, nullable=False),
    # The account closes once the heirs' withdrawal has paid out its whole balance.
    sa.Column("account_closed_at", TS),
    sa.Column("closing_application_id", ID, sa.ForeignKey("applications.id")),
    sa.CheckConstraint("kind IN ('death', 'emigration')", name="kind"),
    sa.CheckConstraint("source IN ('counter', 'register')", name="source"),
)

account_freezes = sa.Table(
    "account_freezes",
    metadata,
    # An agency freeze of a person's account (账户冻结): every card and e-voucher is refused until it is lifted.
    sa.Column("id", ID, primary_key=True),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("card_no", sa.String(20)),  # the card the freeze was asked on, if any
    sa.Column("frozen_at", TS, nullable=False),
    sa.Column("frozen_by", sa.String(64), nullable=False),
    sa.Column("lifted_at", TS),
    sa.Column("lifted_by", sa.String(64)),
    sa.Column("lift_reason", sa.String(200)),
    sa.CheckConstraint("(lifted_at IS NULL AND lifted_by IS NULL AND lift_reason IS NULL) OR "
                       "(lifted_at IS NOT NULL AND lifted_by IS NOT NULL AND lift_reason IS NOT NULL)",
                       name="lifted"),
)
# One freeze in force per person.
sa.Index(
    "uq_account_freezes_one_open",
    account_freezes.c.person_id,
    unique=True,
    sqlite_where=account_freezes.c.lifted_at.is_(None),
    postgresql_where=account_freezes.c.lifted_at.is_(None),
)

# --- invoices reimbursed once ---------------------------------------------------------

invoice_claims = sa.Table(
    "invoice_claims",
    metadata,
    # An invoice (发票) claimed by an application: one row per normalised issuer and number (and per national
    # e-invoice code where given), so the same invoice is never reimbursed twice, however many claim it at once.
    # The key is a digest of the normalised invoice, never its number; a rejected or withdrawn application
    # releases its rows.
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("application_id", ID, sa.ForeignKey("applications.id"), nullable=False, index=True),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("claimed_at", TS, nullable=False),
    sa.CheckConstraint("kind IN ('number', 'einvoice')", name="kind"),
)

# --- collection (征缴到账) ---------------------------------------------------------------

contribution_declarations = sa.Table(
    "contribution_declarations",
    metadata,
    # A month's contribution declared by a unit for its employee or by a flexible worker for themselves: it
    # credits nothing until the collector confirms the payment; pending past its month it is arrears (欠费).
    sa.Column("id", ID, primary_key=True),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("base_fen", sa.BigInteger, nullable=False),
    sa.Column("payer", sa.String(24), nullable=False),  # the employer's id, or "self"
    sa.Column("employer_id", ID, sa.ForeignKey("employers.id")),
    sa.Column("declared_by", sa.String(64), nullable=False),
    sa.Column("declared_role", sa.String(12), nullable=False),
    sa.Column("declared_at", TS, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("collected_at", TS),
    sa.Column("collected_by", sa.String(64)),
    sa.Column("contribution_id", ID),  # the ledger entry that credited it (none where the rule credits nothing)
    sa.Column("credited_fen", sa.BigInteger),
    sa.UniqueConstraint("person_id", "period", "payer", name="uq_contribution_declarations_person_period_payer"),
    sa.CheckConstraint("status IN ('pending', 'collected')", name="status"),
    sa.CheckConstraint("base_fen > 0", name="base_positive"),
    sa.CheckConstraint("(status = 'pending' AND collected_at IS NULL) OR "
                       "(status = 'collected' AND collected_at IS NOT NULL AND credited_fen IS NOT NULL)",
                       name="collected"),
)
sa.Index("ix_contribution_declarations_status_period", contribution_declarations.c.status,
         contribution_declarations.c.period)
sa.Index("ix_contribution_declarations_employer_id", contribution_declarations.c.employer_id)

# --- corrections: a reversal waits for a second admin ---------------------------------------------------------

reversal_requests = sa.Table(
    "reversal_requests",
    metadata,
    # One admin asks for a ledger entry to be reversed; a different admin approves (the reversal is then posted)
    # or rejects it. At most one request per entry is pending.
    sa.Column("id", ID, primary_key=True),
    sa.Column("entry_id", ID, sa.ForeignKey("ledger_entries.id"), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("requested_by", sa.String(64), nullable=False),
    sa.Column("requested_at", TS, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("decided_at", TS),
    sa.Column("note", sa.String(200), nullable=False, server_default=""),
    sa.Column("reversal_entry_id", ID, sa.ForeignKey("ledger_entries.id")),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
    sa.CheckConstraint("(status = 'pending' AND decided_at IS NULL) OR "
                       "(status = 'rejected' AND decided_at IS NOT NULL) OR "
                       "(status = 'approved' AND decided_at IS NOT NULL AND reversal_entry_id IS NOT NULL)",
                       name="decided"),
)
sa.Index("ix_reversal_requests_entry_id", reversal_requests.c.entry_id)
sa.Index("uq_reversal_requests_pending_entry", reversal_requests.c.entry_id, unique=True,
         sqlite_where=reversal_requests.c.status == "pending", postgresql_where=reversal_requests.c.status == "pending")


# --- payment codes: one-minute, one-use codes an e-voucher shows (its QR) ----------------------

payment_codes = sa.Table(
    "payment_codes",
    metadata,
    sa.Column("code_digest", sa.String(64), primary_key=True),  # the code's SHA-256; the code itself is not kept
    sa.Column("evoucher_id", ID, sa.ForeignKey("evouchers.id"), nullable=False, index=True),
    sa.Column("person_id", ID, sa.ForeignKey("persons.id"), nullable=False, index=True),
    sa.Column("issued_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("used_at", TS),
    sa.Column("used_for", sa.String(40)),  # the settlement or cash voucher it paid
    sa.CheckConstraint("expires_at > issued_at", name="expires_after_issue"),
    sa.CheckConstraint("(used_at IS NULL) = (used_for IS NULL)", name="used"),
)

# --- a unit's import of employees from a file (批量增员) ------------------------------------------------------

unit_imports = sa.Table(
    "unit_imports",
    metadata,
    # One file a unit sent: its progress row by row (each row its own enrolment, in its own transaction).
    sa.Column("id", ID, primary_key=True),
    sa.Column("employer_id", ID, sa.ForeignKey("employers.id"), nullable=False),
    sa.Column("started_by", sa.String(64), nullable=False),
    sa.Column("file_name", sa.String(120), nullable=False),
    sa.Column("total_rows", sa.Integer, nullable=False),
    sa.Column("done_rows", sa.Integer, nullable=False),
    sa.Column("enrolled", sa.Integer, nullable=False),
    sa.Column("unchanged", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("finished_at", TS),
    sa.CheckConstraint("status IN ('running', 'done', 'failed')", name="status"),
    sa.CheckConstraint("done_rows = enrolled + unchanged + rejected AND done_rows <= total_rows", name="counts"),
)
sa.Index("ix_unit_imports_employer_id", unit_imports.c.employer_id)

unit_import_rejections = sa.Table(
    "unit_import_rejections",
    metadata,
    # A row the import refused: where (line, column), why (code and message in both languages) and the row as sent.
    sa.Column("import_id", ID, sa.ForeignKey("unit_imports.id"), primary_key=True),
    sa.Column("line", sa.Integer, primary_key=True),
    sa.Column("column_name", sa.String(20)),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("message_zh", sa.String(500), nullable=False),
    sa.Column("message_en", sa.String(500), nullable=False),
    sa.Column("cells", sa.JSON, nullable=False),
)

# --- background jobs (后台任务) --------------------------------------------------------------------------------------

jobs = sa.Table(
    "jobs",
    metadata,
    # Long work run by a worker (procrastinate on PostgreSQL, a thread pool on SQLite): its progress, for any page.
    sa.Column("id", ID, primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("started_by", sa.String(64), nullable=False),
    sa.Column("actor", sa.JSON, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("subject_id", sa.String(40)),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("done", sa.Integer, nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("result", sa.JSON),
    sa.Column("error_code", sa.String(64)),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("heartbeat_at", TS),
    sa.Column("finished_at", TS),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),
    sa.CheckConstraint("done >= 0 AND total >= 0 AND attempts >= 0", name="counts"),
)
sa.Index("ix_jobs_kind_subject_id", jobs.c.kind, jobs.c.subject_id)
sa.Index("ix_jobs_started_by", jobs.c.started_by)

# --- misuse findings (R26) ------------------------------------------------------------

findings = sa.Table(
    "findings",
    metadata,
    # A pattern an analytics rule saw, kept once by its fingerprint, and the reviewer's disposition of it.
    sa.Column("id", ID, primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    sa.Column("pattern", sa.String(40), nullable=False),
    sa.Column("rule_version", sa.String(40), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("subject_kind", sa.String(20), nullable=False),
    sa.Column("subject_id", sa.String(64), nullable=False),
    sa.Column("period_from", sa.Date, nullable=False),
    sa.Column("period_to", sa.Date, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("facts", sa.JSON, nullable=False),
    sa.Column("found_at", TS, nullable=False),
    sa.Column("found_by", sa.String(64), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("decided_at", TS),
    sa.Column("note", sa.String(500)),
    sa.CheckConstraint("status IN ('open', 'confirmed', 'dismissed', 'escalated')", name="status"),
    sa.CheckConstraint("score >= 0 AND score <= 1", name="score"),
    sa.CheckConstraint("subject_kind IN ('person', 'institution', 'bank_account')", name="subject_kind"),
    sa.CheckConstraint("(status = 'open' AND decided_at IS NULL AND decided_by IS NULL) OR "
                       "(status <> 'open' AND decided_at IS NOT NULL AND decided_by IS NOT NULL)", name="decided"),
)
sa.Index("ix_findings_status_pattern", findings.c.status, findings.c.pattern)
sa.Index("ix_findings_subject", findings.c.subject_kind, findings.c.subject_id)
