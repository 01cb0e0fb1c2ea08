"""The observability settings refuse nonsense at start-up, naming the setting."""

from __future__ import annotations

import pytest

from snapscale.config import SettingsError, load_settings


@pytest.mark.parametrize(
    ("name", "bad"),
    [("SNAPSCALE_LOG_FORMAT", "xml"), ("SNAPSCALE_WORKER_METRICS_PORT", "70000")],
)
def test_a_bad_value_is_refused_by_name(monkeypatch, name, bad):
    monkeypatch.setenv(name, bad)
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_the_worker_metrics_port_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("SNAPSCALE_WORKER_METRICS_PORT", "0")
    assert load_settings().worker_metrics_port == 0
