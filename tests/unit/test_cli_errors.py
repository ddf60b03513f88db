"""What ``autorl`` prints when a command fails: a user's mistake gets one line saying what to
change; anything else is a bug and keeps its traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from autorl import cli
from autorl.errors import UsageError


def _failing(exc: BaseException):
    def handler(_args) -> int:
        raise exc

    return handler


def _run(monkeypatch, capsys, exc: BaseException) -> tuple[int, str]:
    parser = cli.build_parser()
    real = parser.parse_args

    def parse(argv):
        args = real(argv)
        args.handler = _failing(exc)
        return args

    monkeypatch.setattr(parser, "parse_args", parse)
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    code = cli.main(["studies"])
    return code, capsys.readouterr().err


def test_a_user_error_is_one_line_without_a_traceback(monkeypatch, capsys):
    code, err = _run(monkeypatch, capsys, UsageError("--jobs 99 must be between 1 and 8"))
    assert code == 2 and err == "autorl: error: --jobs 99 must be between 1 and 8\n"


@pytest.mark.parametrize("exc", [ValueError("setting an array element"), KeyError("x")])
def test_any_other_exception_shows_its_traceback_and_says_it_is_a_bug(monkeypatch, capsys, exc):
    code, err = _run(monkeypatch, capsys, exc)
    assert code == 1
    assert "Traceback (most recent call last)" in err and type(exc).__name__ in err
    assert "internal error" in err and "bug" in err and "autorl: error:" not in err


@pytest.mark.parametrize(
    "command", [["studies"], ["tune", "CartPole-v1", "--trials", "1", "--timesteps", "100"]]
)
def test_an_unreachable_postgres_url_is_a_clear_error_that_hides_the_password(capsys, command):
    pytest.importorskip("psycopg")
    url = "postgresql+psycopg://someone:secret@127.0.0.1:1/test"
    code = cli.main([*command, "--storage", url])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach storage" in err and "Start the database server" in err
    assert "secret" not in err and "Traceback" not in err


def test_a_reader_that_goes_away_is_not_reported_as_a_bug(tmp_path):
    """``autorl studies | head -1``: the pipe closes before autorl writes."""
    command = [sys.executable, "-m", "autorl.cli", "studies", "--storage"]
    proc = subprocess.Popen(
        [*command, f"sqlite:///{tmp_path / 'a.db'}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # long before the interpreter has imported anything
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in err and "internal error" not in err
