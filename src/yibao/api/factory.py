"""The application for servers that start it by name (`uvicorn yibao.api.factory:app --factory`), one per
worker process, each wired from the environment's settings."""

from __future__ import annotations

from fastapi import FastAPI

from yibao.api.app import create_app
from yibao.bootstrap import bootstrap


def app() -> FastAPI:
    return create_app(bootstrap())
