"""Rate-limit and HTTP settings as an operator writes them: read from the environment,
and a bad value stops every command at start-up with one line naming the setting."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from snapscale.cli import main
from snapscale.config import load_settings


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("SNAPSCALE_RATE_LIMIT_LOGIN", "ten a minute", "is not a rate like 10/minute"),
        ("SNAPSCALE_RATE_LIMIT_UPLOADS", "100/fortnight", "is not a rate like 10/minute"),
        ("SNAPSCALE_RATE_LIMIT_PER_IP", "0/minute", "allows nothing"),
        ("SNAPSCALE_FORWARDED_ALLOW_IPS", "10.0.0.1, proxy.internal", "'proxy.internal'"),
        ("SNAPSCALE_CORS_ORIGINS", "https://app.example.com/", "is not an origin"),
        ("SNAPSCALE_CORS_ORIGINS", "app.example.com", "is not an origin"),
    ],
)
def test_a_bad_setting_stops_the_command_with_one_line(
    tmp_path, variable: str, value: str, complaint: str
) -> None:
    env = {"SNAPSCALE_DATA_DIR": str(tmp_path), variable: value}

    result = CliRunner().invoke(main, ["serve"], env=env)

    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: invalid setting {variable}: ")
    assert complaint in lines[0]


def test_limits_and_proxies_are_read_from_the_environment(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNAPSCALE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SNAPSCALE_RATE_LIMIT_LOGIN", "5/minute;20/hour")
    monkeypatch.setenv("SNAPSCALE_RATE_LIMITS_ENABLED", "false")
    monkeypatch.setenv("SNAPSCALE_FORWARDED_ALLOW_IPS", "10.0.0.1, 172.16.0.0/12, unix")
    monkeypatch.setenv("SNAPSCALE_CORS_ORIGINS", "https://app.example.com,http://localhost:5173")

    settings = load_settings()

    assert settings.rate_limit_login == "5/minute;20/hour"
    assert settings.rate_limits_enabled is False
    assert settings.trusted_proxies == ["10.0.0.1", "172.16.0.0/12", "unix"]
    assert settings.cors_origin_list == ["https://app.example.com", "http://localhost:5173"]


def test_the_defaults_limit_and_trust_nothing_unexpected(tmp_path) -> None:
    settings = load_settings(data_dir=tmp_path)

    assert settings.rate_limits_enabled is True
    assert settings.trusted_proxies == []
    assert settings.cors_origin_list == []
