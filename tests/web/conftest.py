from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient


@pytest.fixture
def new_browser(site: FlaskClient) -> Callable[[], FlaskClient]:
    """Opens more browsers on the same site: own cookies, the same server-side store."""
    return site.application.test_client


@pytest.fixture
def other_browser(new_browser: Callable[[], FlaskClient]) -> FlaskClient:
    return new_browser()
