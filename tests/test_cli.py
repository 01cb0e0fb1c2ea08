"""The `snapscale` command, as an operator uses it."""

import asyncio

from click.testing import CliRunner

from snapscale.cli import main
from snapscale.core.accounts import service as account_service
from snapscale.core.runtime import Runtime
from tests.conftest import TEST_SECRET
from tests.support.servers import settings_env


def test_help_lists_the_commands_that_work():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "db", "create-admin"):
        assert command in result.output


def test_create_admin_makes_an_administrator_who_can_sign_in(settings):
    env = settings_env(settings) | {"SNAPSCALE_ADMIN_PASSWORD": "a-long-admin-secret"}
    result = CliRunner().invoke(
        main, ["create-admin", "--username", "Boss", "--email", "boss@example.com"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "@boss" in result.output

    async def sign_in() -> bool:
        runtime = Runtime(settings)
        try:
            user = await runtime.run(
                account_service.authenticate, login="boss", password="a-long-admin-secret"
            )
            return user.is_admin
        finally:
            await runtime.aclose()

    assert asyncio.run(sign_in()) is True


def test_create_admin_refuses_a_weak_password_in_one_line(settings):
    env = settings_env(settings) | {"SNAPSCALE_ADMIN_PASSWORD": "12345678"}
    result = CliRunner().invoke(
        main, ["create-admin", "--username", "boss", "--email", "boss@example.com"], env=env
    )
    assert result.exit_code != 0
    assert "password" in result.output
    assert "Traceback" not in result.output


def test_db_upgrade_on_an_unreachable_database_is_one_clear_line(tmp_path):
    env = {
        "SNAPSCALE_DATABASE_URL": "postgresql://someone:hunter22@127.0.0.1:1/nowhere",
        "SNAPSCALE_SECRET_KEY": TEST_SECRET,
        "SNAPSCALE_DATA_DIR": str(tmp_path),
    }
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 1
    assert "127.0.0.1:1" in result.output
    assert "hunter22" not in result.output  # never print the password
    assert len(result.output.strip().splitlines()) == 1


def test_db_upgrade_is_repeatable(tmp_path):
    env = {"SNAPSCALE_DATA_DIR": str(tmp_path), "SNAPSCALE_SECRET_KEY": TEST_SECRET}
    for _ in range(2):
        result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
        assert result.exit_code == 0, result.output
    assert (tmp_path / "snapscale.db").exists()
