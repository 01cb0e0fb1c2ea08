import subprocess
import sys

import pytest

from snapscale.config import SettingsError, load_settings


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SNAPSCALE_DATABASE_URL": "mysql://localhost/db"}, "SNAPSCALE_DATABASE_URL"),
        ({"SNAPSCALE_REDIS_URL": "localhost:6379"}, "SNAPSCALE_REDIS_URL"),
        ({"SNAPSCALE_ACCESS_TOKEN_TTL_SECONDS": "soon"}, "SNAPSCALE_ACCESS_TOKEN_TTL_SECONDS"),
        ({"SNAPSCALE_NODE_ID": "5000"}, "SNAPSCALE_NODE_ID"),
        ({"SNAPSCALE_DATABASE_URL": "postgresql://db/snapscale"}, "SNAPSCALE_SECRET_KEY"),
        ({"SNAPSCALE_JOB_TIME_LIMIT_SECONDS": "0"}, "SNAPSCALE_JOB_TIME_LIMIT_SECONDS"),
        ({"SNAPSCALE_JOB_TIME_LIMIT_SECONDS": "300"}, "SNAPSCALE_JOB_VISIBILITY_TIMEOUT_SECONDS"),
        ({"SNAPSCALE_JOB_VISIBILITY_TIMEOUT_SECONDS": "60"}, "SNAPSCALE_JOB_TIME_LIMIT_SECONDS"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(monkeypatch, env, named):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert named in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_job_time_limit_below_the_visibility_timeout_is_accepted(monkeypatch):
    monkeypatch.setenv("SNAPSCALE_JOB_VISIBILITY_TIMEOUT_SECONDS", "60")
    monkeypatch.setenv("SNAPSCALE_JOB_TIME_LIMIT_SECONDS", "59")
    assert load_settings().job_time_limit_seconds == 59


def test_database_urls_get_the_async_driver(monkeypatch):
    monkeypatch.setenv("SNAPSCALE_DATABASE_URL", "postgres://u:p@db:5432/snap")
    monkeypatch.setenv("SNAPSCALE_SECRET_KEY", "k" * 40)
    assert load_settings().database_url == "postgresql+asyncpg://u:p@db:5432/snap"


def test_embedded_mode_keeps_one_generated_secret(tmp_path):
    first = load_settings(data_dir=tmp_path).signing_key
    second = load_settings(data_dir=tmp_path).signing_key
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_the_command_reports_a_bad_setting_without_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "snapscale", "db", "upgrade"],
        env={"SNAPSCALE_DATABASE_URL": "mysql://x/y", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode != 0
    assert "SNAPSCALE_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
