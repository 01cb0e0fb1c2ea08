from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient

from snapscale.config import Settings
from snapscale.web.core_access import EXTENSION_KEY
from tests.web.helpers import Sites


@pytest.fixture
def new_browser(site: FlaskClient) -> Callable[[], FlaskClient]:
    """Opens more browsers on the same site: own cookies, the same server-side store."""
    return site.application.test_client


@pytest.fixture
def other_browser(new_browser: Callable[[], FlaskClient]) -> FlaskClient:
    return new_browser()


@pytest.fixture
def sites(settings: Settings) -> Iterator[Sites]:
    """Site apps started with their own settings; each is closed after the test."""
    sites = Sites(settings)
    yield sites
    for app in sites.apps:
        app.extensions[EXTENSION_KEY].close()
