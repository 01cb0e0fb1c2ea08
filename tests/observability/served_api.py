"""The API built from the environment's settings, for `uvicorn --factory` in tests."""

from __future__ import annotations

from fastapi import FastAPI

from snapscale.api.app import create_api
from snapscale.config import load_settings


def create() -> FastAPI:
    return create_api(load_settings())
