"""What the applications area asks of the store beyond entities by key: an application's documents and queues
(`uow.applications`), the invoices claims hold (`uow.invoices`) and the cash vouchers' conditional writes
(`uow.cash_vouchers`)."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from yibao.domain.applications import Application, CashVoucher, Document, KeptVoucher
from yibao.domain.settlement import Settlement


class ApplicationRepository(Protocol):
    def attached(self, application_id: str) -> list[Document]:
        """The documents attached to the application, in the order they were added."""

    def attach(self, application_id: str, document_ids: list[str], at: dt.datetime) -> None:
        """Attach the documents (none of them attached yet) to the application."""

    def open_death_case(self, person_id: str) -> str | None:
        """The id of a death case for the person's account that is neither rejected nor withdrawn, if any."""

    def approved_for(self, applicant_id: str) -> list[Application]:
        """The applicant's approved applications, by id, locked for this unit of work."""

    def queue(self, statuses: list[str], limit: int) -> list[Application]:
        """Applications in one of the statuses, the longest untouched first."""

    def of_person(self, person_id: str, status: str | None, limit: int) -> list[Application]:
        """Applications for or by the person (as the account's owner or the applicant), newest first."""

    def vouchers_of(self, person_id: str, kinds: tuple[str, ...]) -> list[KeptVoucher]:
        """The vouchers of these kinds recorded for the person, oldest first."""


class InvoiceClaims(Protocol):
    def first_claim(self, keys: list[str]) -> str | None:
        """The application that claimed one of the invoice keys first, if any did."""

    def claim(self, keys: dict[str, str], *, application_id: str, person_id: str, at: dt.datetime) -> bool:
        """Hold the invoice keys (key: its kind) for the application; False when a concurrent claim holds one
        (the unit of work must then be rolled back)."""

    def release(self, application_id: str) -> int:
        """Give back the keys the application holds; how many."""

    def settled_on(self, person_id: str, institution_code: str, day: dt.date) -> list[Settlement]:
        """The person's settlements (as owner or payer) at the institution on the business day, in order."""


class CashVoucherRepository(Protocol):
    def remove(self, cash: CashVoucher) -> None:
        """Delete a lapsed voucher (its code no longer pays)."""

    def refresh(self, cash: CashVoucher) -> None:
        """Read the voucher's state again, as committed (after a lock, or a conditional write)."""

    def redeem(self, code: str, *, at: dt.datetime, by: str, institution_code: str | None) -> bool:
        """Mark the voucher redeemed if it is still unused and in time; whether this call did it (of two at once,
        one wins)."""

    def due(self, now: dt.datetime) -> list[str]:
        """The codes of unredeemed vouchers past their validity whose application is still disbursing, the
        earliest lapsed first."""
