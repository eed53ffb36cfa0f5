"""The ``quan`` command explains itself: a version, flags shown as flags, help re-flowed."""

from __future__ import annotations

from typer.main import get_command
from typer.testing import CliRunner

from quan import __version__
from quan.cli import app

runner = CliRunner()


def _paths(command: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, sub in getattr(command, "commands", {}).items():
        found += _paths(sub, (*prefix, name))
    return found


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"quan {__version__}"


def test_no_command_shows_a_boolean_flag_as_taking_a_value() -> None:
    paths = _paths(get_command(app))
    assert len(paths) > 30
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], terminal_width=100)
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, (path, result.output)
    dry = runner.invoke(app, ["citizens", "import", "--help"], terminal_width=100).output
    assert "--dry-run  " in dry


def test_help_text_is_reflowed_not_hard_wrapped_at_the_source_line_breaks() -> None:
    # The docstring breaks its line after "valid rows"; the help must not.
    text = runner.invoke(app, ["citizens", "import", "--help"], terminal_width=200).output
    assert "every row validated, valid rows applied at once." in text
