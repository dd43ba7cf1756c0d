"""Unit tests of the dev CLI's parsing, messages and behaviour when no sandbox runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.cli import build_parser, main
from sandbox.users import describe_password_policy


def test_cli_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "user", "token", "reset", "SANDBOX_API_PORT", "SANDBOX_DIR"):
        assert command in out


def test_cli_user_create_takes_an_editor_flag() -> None:
    args = build_parser().parse_args(["user", "create", "a@example.com", "Passw0rd!!", "--editor"])
    assert (args.email, args.password, args.editor) == ("a@example.com", "Passw0rd!!", True)


def test_cli_reset_keeps_users_unless_asked() -> None:
    assert build_parser().parse_args(["reset"]).users is False
    assert build_parser().parse_args(["reset", "--users"]).users is True


def test_cli_without_a_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_cli_without_a_running_sandbox_says_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SANDBOX_DIR", str(tmp_path))
    assert main(["token", "a@example.com", "Passw0rd!!"]) == 1
    assert "no sandbox is running" in capsys.readouterr().err


def test_describe_password_policy_names_every_rule() -> None:
    policy = {
        "MinimumLength": 10,
        "RequireUppercase": True,
        "RequireLowercase": True,
        "RequireNumbers": True,
        "RequireSymbols": False,
    }
    assert describe_password_policy(policy) == (
        "passwords need at least 10 characters, an upper-case letter, a lower-case letter, a digit"
    )
