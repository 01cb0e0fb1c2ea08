from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient


@pytest.fixture
def other_browser(site: FlaskClient) -> Iterator[FlaskClient]:
    """A second browser on the same site: its own cookies, the same server-side store."""
    # The `site` fixture's client runs inside `with`, which keeps its last request's app
    # context pushed; a second client's requests would then reuse that context, and with
    # it `g`, where Flask-Login caches the signed-in user. Leaving the `with` state lets
    # each request of either client start from a clean context, as separate browsers do.
    site.__exit__(None, None, None)
    yield site.application.test_client()
