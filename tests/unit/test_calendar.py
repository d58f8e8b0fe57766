"""Working days across the official holidays, with make-up workdays, and an agency's override."""

import datetime as dt

import pytest

from yibao.policy.calendar import WorkingCalendar, schedule

D = dt.date


@pytest.fixture(scope="module")
def official():
    return WorkingCalendar()


@pytest.mark.parametrize("day, working", [
    (D(2026, 9, 30), True),  # Wednesday before National Day
    (D(2026, 10, 1), False), (D(2026, 10, 5), False), (D(2026, 10, 7), False),  # Golden Week
    (D(2026, 10, 8), True),
    (D(2026, 9, 20), True),  # a Sunday worked in lieu (调休)
    (D(2026, 10, 10), True),  # a Saturday worked in lieu
    (D(2026, 10, 11), False),  # an ordinary Sunday
    (D(2026, 2, 14), True), (D(2026, 2, 17), False),  # Spring Festival 2026
])
def test_the_official_calendar_knows_holidays_and_make_up_workdays(official, day, working):
    assert official.is_working_day(day) is working


def test_counting_working_days_across_national_day(official):
    # Approved on Tuesday 29 September: 3 working days are 30 Sep, 8 Oct, 9 Oct.
    assert official.add_working_days(D(2026, 9, 29), 3) == D(2026, 10, 9)
    # Approved on a holiday: the first working day after it is the 8th.
    assert official.add_working_days(D(2026, 10, 3), 1) == D(2026, 10, 8)
    assert official.add_working_days(D(2026, 10, 3), 0) == D(2026, 10, 8)
    assert official.add_working_days(D(2026, 9, 30), 0) == D(2026, 9, 30)
    assert official.working_days_between(D(2026, 9, 28), D(2026, 10, 10)) == 5  # 29, 30 Sep; 8, 9, 10 Oct


def test_an_agency_schedule_decides_a_year_it_names():
    # A year as an agency would enter it from the published notice (dates here are a test's own).
    spring = [D(2027, 2, d) for d in range(5, 13)]
    calendar = WorkingCalendar({2027: schedule(days_off=spring, workdays=[D(2027, 2, 14), D(2027, 2, 20)])})
    assert not calendar.is_working_day(D(2027, 2, 12))  # a Friday off
    assert calendar.is_working_day(D(2027, 2, 14))  # a Sunday worked
    assert calendar.add_working_days(D(2027, 2, 4), 2) == D(2027, 2, 15)  # Thu 4th → Sun 14th, Mon 15th
    assert calendar.is_working_day(D(2026, 10, 10))  # other years still follow the official calendar


def test_working_days_are_counted_forwards(official):
    with pytest.raises(ValueError):
        official.add_working_days(D(2026, 1, 5), -1)
