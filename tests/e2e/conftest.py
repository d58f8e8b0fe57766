"""What end-to-end tests of the command line share: the environment a real `yibao` process runs in."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def env(database_url, tmp_path):
    return {**os.environ, "YIBAO_DATABASE_URL": database_url, "YIBAO_DATA_DIR": str(tmp_path),
            "YIBAO_ARGON2_PROFILE": "light", "YIBAO_ENV": "dev", "COLUMNS": "200"}
