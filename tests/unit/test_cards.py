"""The card (医保卡) lifecycle: the transition table, expiry by date, the error of each
state, and the PIN rules (failure counting, locking, which new PINs are too simple)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from yibao.domain import errors
from yibao.domain.cards import (
    PIN_MAX_TRIES,
    TRANSITIONS,
    Card,
    CardAction,
    CardStatus,
    check_new_pin,
)

S, A = CardStatus, CardAction

EXPIRES_ON = dt.date(2030, 6, 30)
BEFORE_EXPIRY = dt.date(2026, 3, 2)
DAY_AFTER_EXPIRY = dt.date(2030, 7, 1)

BIRTH_DATE = dt.date(1985, 3, 12)
ID_NUMBER = "110105198503120258"

# The error each state answers with when an action is not allowed from it.
STATE_ERROR = {
    S.ISSUED: (errors.CardNotActive, "card.not_active"),
    S.ACTIVE: (errors.CardWrongState, "card.wrong_state"),
    S.LOST: (errors.CardLost, "card.lost"),
    S.FROZEN: (errors.CardFrozen, "card.frozen"),
    S.EXPIRED: (errors.CardExpired, "card.expired"),
    S.REPLACED: (errors.CardReplaced, "card.replaced"),
}


def a_card(status: CardStatus) -> Card:
    return Card(
        card_no="1101050000000018",
        person_id="person-1",
        status=status.value,
        issued_on=dt.date(2026, 1, 5),
        expires_on=EXPIRES_ON,
        created_at=dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC),
    )


# --- the transition table ------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "action", "end"),
    [
        (S.ISSUED, A.ACTIVATE, S.ACTIVE),
        (S.ISSUED, A.REPORT_LOST, S.LOST),
        (S.ACTIVE, A.REPORT_LOST, S.LOST),
        (S.FROZEN, A.REPORT_LOST, S.LOST),
        (S.ACTIVE, A.FREEZE, S.FROZEN),
        (S.FROZEN, A.UNFREEZE, S.ACTIVE),
        (S.ISSUED, A.REPLACE, S.REPLACED),
        (S.ACTIVE, A.REPLACE, S.REPLACED),
        (S.LOST, A.REPLACE, S.REPLACED),
        (S.EXPIRED, A.REPLACE, S.REPLACED),
        (S.ACTIVE, A.USE, S.ACTIVE),
    ],
)
def test_allowed_transition_moves_the_card(start, action, end):
    card = a_card(start)

    assert card.apply(action, BEFORE_EXPIRY) == (start, end)
    assert card.status == end.value


@pytest.mark.parametrize(("status", "action"), list(itertools.product(S, A)))
def test_every_status_and_action_follows_the_table(status, action):
    card = a_card(status)
    # Expiry is the one action the calendar drives: it applies only once the date has passed.
    day = DAY_AFTER_EXPIRY if action is A.EXPIRE else BEFORE_EXPIRY

    if (status, action) in TRANSITIONS:
        target = TRANSITIONS[(status, action)]
        assert card.apply(action, day) == (status, target)
        assert card.status == target.value
    else:
        error_class, code = STATE_ERROR[status]
        with pytest.raises(errors.CardWrongState) as caught:
            card.apply(action, day)
        assert type(caught.value) is error_class
        assert caught.value.code == code
        assert card.status == status.value


@pytest.mark.parametrize(
    ("status", "action", "code"),
    [
        (S.LOST, A.USE, "card.lost"),
        (S.LOST, A.UNFREEZE, "card.lost"),
        (S.LOST, A.ACTIVATE, "card.lost"),
        (S.FROZEN, A.USE, "card.frozen"),
        (S.FROZEN, A.REPLACE, "card.frozen"),
        (S.ISSUED, A.USE, "card.not_active"),
        (S.ISSUED, A.FREEZE, "card.not_active"),
        (S.ACTIVE, A.ACTIVATE, "card.wrong_state"),
        (S.ACTIVE, A.UNFREEZE, "card.wrong_state"),
        (S.EXPIRED, A.USE, "card.expired"),
        (S.EXPIRED, A.ACTIVATE, "card.expired"),
    ],
)
def test_forbidden_action_raises_the_error_of_the_state(status, action, code):
    with pytest.raises(errors.CardWrongState) as caught:
        a_card(status).apply(action, BEFORE_EXPIRY)

    assert caught.value.code == code
    assert caught.value.status == 409


def test_wrong_state_error_names_the_status_and_action_in_both_languages():
    with pytest.raises(errors.CardWrongState) as caught:
        a_card(S.ACTIVE).apply(A.UNFREEZE, BEFORE_EXPIRY)

    assert caught.value.zh == "医保卡当前状态为“正常”，不能解冻"
    assert caught.value.en == "The card is active; it cannot be used to unfreeze"


@pytest.mark.parametrize("action", list(A))
@pytest.mark.parametrize("today", [BEFORE_EXPIRY, DAY_AFTER_EXPIRY])
def test_replaced_card_is_void_for_every_action(action, today):
    card = a_card(S.REPLACED)

    with pytest.raises(errors.CardReplaced) as caught:
        card.apply(action, today)

    assert caught.value.code == "card.replaced"
    assert card.status == "replaced"


def test_no_transition_leaves_replaced():
    assert [key for key in TRANSITIONS if key[0] is S.REPLACED] == []


# --- expiry by date --------------------------------------------------------------


def test_card_is_still_active_on_its_expiry_date():
    assert a_card(S.ACTIVE).status_on(EXPIRES_ON) is S.ACTIVE


def test_card_shows_expired_the_day_after_its_expiry_date():
    card = a_card(S.ACTIVE)

    assert card.status_on(DAY_AFTER_EXPIRY) is S.EXPIRED
    assert card.status == "active"


@pytest.mark.parametrize("status", [S.ISSUED, S.FROZEN])
def test_unused_or_frozen_card_also_shows_expired_past_its_date(status):
    assert a_card(status).status_on(DAY_AFTER_EXPIRY) is S.EXPIRED


@pytest.mark.parametrize("status", [S.LOST, S.REPLACED])
def test_lost_or_replaced_card_keeps_its_status_past_its_date(status):
    assert a_card(status).status_on(DAY_AFTER_EXPIRY) is status


def test_paying_with_a_card_past_its_date_says_when_it_expired():
    with pytest.raises(errors.CardExpired) as caught:
        a_card(S.ACTIVE).apply(A.USE, DAY_AFTER_EXPIRY)

    assert caught.value.code == "card.expired"
    assert "2030-06-30" in caught.value.zh
    assert "2030-06-30" in caught.value.en


def test_paying_on_the_expiry_date_is_still_allowed():
    assert a_card(S.ACTIVE).apply(A.USE, EXPIRES_ON) == (S.ACTIVE, S.ACTIVE)


@pytest.mark.parametrize("status", [S.ISSUED, S.ACTIVE, S.FROZEN])
def test_expiry_is_recorded_from_the_stored_status_past_the_date(status):
    # Regression: the expiry job used to be refused with card.expired, because the
    # card already *looked* expired and (expired, expire) is not in the table.
    card = a_card(status)

    assert card.apply(A.EXPIRE, DAY_AFTER_EXPIRY) == (status, S.EXPIRED)
    assert card.status == "expired"


def test_an_expired_card_cannot_expire_twice():
    card = a_card(S.ACTIVE)
    card.apply(A.EXPIRE, DAY_AFTER_EXPIRY)

    with pytest.raises(errors.CardExpired):
        card.apply(A.EXPIRE, DAY_AFTER_EXPIRY)


@pytest.mark.parametrize(
    ("status", "action"),
    [(S.ACTIVE, A.FREEZE), (S.ACTIVE, A.REPORT_LOST), (S.FROZEN, A.UNFREEZE), (S.ISSUED, A.ACTIVATE)],
)
def test_card_past_its_date_can_only_be_replaced(status, action):
    card = a_card(status)

    with pytest.raises(errors.CardExpired):
        card.apply(action, DAY_AFTER_EXPIRY)
    assert card.apply(A.REPLACE, DAY_AFTER_EXPIRY) == (S.EXPIRED, S.REPLACED)


# --- ensure_can is a question, not a change ---------------------------------------


def test_ensure_can_answers_without_moving_the_card():
    card = a_card(S.ACTIVE)

    assert card.ensure_can(A.FREEZE, BEFORE_EXPIRY) == (S.ACTIVE, S.FROZEN)
    assert card.status == "active"


def test_ensure_can_refusal_leaves_the_card_as_it_was():
    card = a_card(S.ACTIVE)

    with pytest.raises(errors.CardExpired):
        card.ensure_can(A.USE, DAY_AFTER_EXPIRY)
    assert card.status == "active"


# --- PIN failures ----------------------------------------------------------------


def test_pin_locks_on_the_fifth_wrong_try():
    card = a_card(S.ACTIVE)
    tries_left, locked = [], []

    for _ in range(5):
        tries_left.append(card.record_pin_failure())
        locked.append(card.pin_locked)

    assert PIN_MAX_TRIES == 5
    assert tries_left == [4, 3, 2, 1, 0]
    assert locked == [False, False, False, False, True]


def test_more_wrong_tries_after_locking_stay_locked_at_zero():
    card = a_card(S.ACTIVE)
    for _ in range(PIN_MAX_TRIES):
        card.record_pin_failure()

    assert card.record_pin_failure() == 0
    assert card.pin_locked


def test_right_pin_resets_the_count_of_wrong_tries():
    card = a_card(S.ACTIVE)
    for _ in range(3):
        card.record_pin_failure()

    card.record_pin_success()

    assert card.pin_failures == 0
    assert card.record_pin_failure() == 4


def test_unlock_clears_the_lock_and_the_count():
    card = a_card(S.ACTIVE)
    for _ in range(PIN_MAX_TRIES):
        card.record_pin_failure()

    card.unlock_pin()

    assert not card.pin_locked
    assert card.pin_failures == 0
    assert card.record_pin_failure() == 4


# --- choosing a new PIN ----------------------------------------------------------


def new_pin(pin: str, id_number: str = ID_NUMBER) -> str:
    return check_new_pin(pin, birth_date=BIRTH_DATE, id_number=id_number)


def test_reasonable_pin_is_accepted():
    assert new_pin("258369") == "258369"


@pytest.mark.parametrize(
    "pin",
    ["", "25836", "2583690", "25836a", " 25836", "258-69", "２５８３６９", "٢٥٨٣٦٩", "²²²²²²"],
)
def test_pin_that_is_not_six_ascii_digits_is_refused(pin):
    # Regression: full-width and other Unicode digits passed str.isdigit(); "²" crashed int().
    with pytest.raises(errors.PinFormatInvalid) as caught:
        new_pin(pin)

    assert caught.value.code == "card.pin_invalid"


@pytest.mark.parametrize(
    ("pin", "why_en"),
    [
        ("000000", "all six digits the same"),
        ("111111", "all six digits the same"),
        ("123456", "a run of consecutive digits"),
        ("654321", "a run of consecutive digits"),
        ("850312", "the birth date"),  # YYMMDD
        ("120385", "the birth date"),  # DDMMYY
        ("031285", "the birth date"),  # MMDDYY
        ("198503", "the birth date"),  # YYYYMM
        ("120258", "the end of the ID number"),
    ],
)
def test_guessable_pin_is_refused_with_the_reason(pin, why_en):
    with pytest.raises(errors.PinTooSimple) as caught:
        new_pin(pin)

    assert caught.value.code == "card.pin_trivial"
    assert why_en in caught.value.en


def test_pin_of_the_digits_before_a_final_x_is_refused():
    with pytest.raises(errors.PinTooSimple):
        new_pin("312008", id_number="11010519850312008X")


def test_another_persons_birth_date_is_not_refused():
    assert check_new_pin("850312", birth_date=dt.date(1990, 7, 1), id_number="110105199007010011") == "850312"


def test_a_card_cannot_be_expired_before_its_expiry_date():
    card = Card(card_no="1", person_id="p", status="active", issued_on=dt.date(2020, 1, 1),
                expires_on=dt.date(2030, 1, 1), created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(errors.CardWrongState):
        card.apply(CardAction.EXPIRE, dt.date(2030, 1, 1))
    assert card.apply(CardAction.EXPIRE, dt.date(2030, 1, 2)) == (CardStatus.ACTIVE, CardStatus.EXPIRED)
