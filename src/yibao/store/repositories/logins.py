"""Logins in SQL: the bearer-token read every API request makes (one round trip, outside any transaction),
and the sessions a password change ends."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.domain.credentials import BankAccount
from yibao.domain.users import Actor, AuthToken, Role, User
from yibao.store.tables import auth_tokens, users

_TOKEN_USER = (sa.select(auth_tokens.c.expires_at, users.c.active, users.c.username, users.c.role, users.c.id,
                         users.c.person_id, users.c.employer_id, users.c.institution_code)
               .join_from(auth_tokens, users, users.c.id == auth_tokens.c.user_id)
               .where(auth_tokens.c.digest == sa.bindparam("digest", type_=sa.String)))


class SqlUsers:
    """`services.credentials.ports.UserRepository` on a session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def remove(self, user: User) -> None:
        """Delete the login."""
        self._session.delete(user)


class SqlTokens:
    """`services.credentials.ports.TokenRepository` on a session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def bearer(self, digest: str) -> tuple[dt.datetime, bool, Actor] | None:
        """The token's expiry, its user's being active and the actor, in one statement on a connection of its
        own. On PostgreSQL it begins no transaction: the read is one round trip and ends without a ROLLBACK
        (after which the driver forgets the statements it has prepared on the connection)."""
        with self._session.get_bind().connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT")
            row = conn.execute(_TOKEN_USER, {"digest": digest}).first()
        if row is None:
            return None
        return row.expires_at, row.active, Actor(username=row.username, role=Role(row.role), user_id=row.id,
                                                 person_id=row.person_id, employer_id=row.employer_id,
                                                 institution_code=row.institution_code)

    def remove(self, token: AuthToken) -> None:
        """Delete one token."""
        self._session.delete(token)

    def end_sessions(self, user_id: str, *, keep: str | None = None) -> int:
        """Delete the user's tokens, but the one with the digest `keep`; returns how many were deleted."""
        where = [auth_tokens.c.user_id == user_id] + ([auth_tokens.c.digest != keep] if keep is not None else [])
        return self._session.execute(auth_tokens.delete().where(*where)).rowcount


class SqlBankAccounts:
    """`services.credentials.ports.BankAccountRepository` on a session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def linked_elsewhere(self, account_no: str, person_id: str) -> list[BankAccount]:
        """The links of this account number that other persons hold."""
        return list(self._session.scalars(sa.select(BankAccount).where(
            BankAccount.account_no == account_no, BankAccount.status == "linked",
            BankAccount.person_id != person_id)))
