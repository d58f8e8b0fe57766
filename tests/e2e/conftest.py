"""What end-to-end tests share: the environment a real `yibao` process runs in, and every log record."""

from __future__ import annotations

import logging
import os

import pytest


@pytest.fixture
def env(database_url, tmp_path):
    return {**os.environ, "YIBAO_DATABASE_URL": database_url, "YIBAO_DATA_DIR": str(tmp_path),
            "YIBAO_ARGON2_PROFILE": "light", "YIBAO_ENV": "dev", "COLUMNS": "200"}


@pytest.fixture
def every_log_record(caplog):
    """Every log record of every logger at DEBUG, also of loggers that do not propagate."""
    caplog.set_level(logging.DEBUG)
    loggers = [lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    for lg in loggers:
        caplog.set_level(logging.DEBUG, logger=lg.name)
    isolated = [lg for lg in loggers if not lg.propagate]
    for lg in isolated:
        lg.addHandler(caplog.handler)
    yield caplog
    for lg in isolated:
        lg.removeHandler(caplog.handler)
