"""The page catalogs: every message the pages use is in both languages, none is unused, and Babel formats money
and dates as each locale writes them."""

from __future__ import annotations

import datetime as dt

from yibao.web import catalogs, i18n


def test_every_message_is_in_both_languages_and_none_is_unused():
    result = catalogs.check()
    assert result.missing == {"zh_CN": [], "en": []}, result.missing
    assert result.unused == {"zh_CN": [], "en": []}, result.unused


def test_the_chinese_catalog_is_chinese():
    catalog = catalogs.read("zh_CN")
    latin_only = [m.id for m in catalog if m.id and m.string and not any("\u4e00" <= c <= "\u9fff" for c in m.string)
                  and m.string == m.id]
    assert latin_only == []


def test_pages_use_the_catalogs_at_run_time():
    assert i18n.gettext("zh_CN", "Available balance") == "可用余额"
    assert i18n.gettext("en", "Available balance") == "Available balance"
    assert i18n.gettext("zh_CN", "Hello, %(name)s", name="张伟") == "您好，张伟"


def test_money_and_dates_as_each_locale_writes_them():
    assert i18n.money(123456, "zh_CN") == "¥1,234.56"
    assert i18n.money(-3680, "zh_CN") == "-¥36.80"
    assert i18n.money(5, "en").endswith("0.05")
    assert i18n.day(dt.date(2026, 3, 2), "zh_CN") == "2026年3月2日"
    assert i18n.day(dt.date(2026, 3, 2), "en") == "March 2, 2026"
    assert i18n.moment(dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC), "zh_CN").startswith("2026年3月2日")


def test_the_language_is_chosen_by_query_then_switch_then_browser():
    assert i18n.choose(None, None, None) == "zh_CN"
    assert i18n.choose(None, None, "en-GB,en;q=0.8") == "en"
    assert i18n.choose(None, "zh_CN", "en-GB") == "zh_CN"
    assert i18n.choose("en", "zh_CN", None) == "en"
    assert i18n.choose("fr", None, "de,zh-TW;q=0.5") == "zh_CN"


def test_a_moment_is_dated_in_china_time():
    late_in_utc = dt.datetime(2026, 12, 1, 17, 5, tzinfo=dt.UTC)  # 01:05 on 2 December in Beijing
    assert i18n.day(late_in_utc, "zh_CN") == "2026年12月2日"
    assert i18n.day(dt.datetime(2026, 12, 1, 17, 5), "zh_CN") == "2026年12月2日"
