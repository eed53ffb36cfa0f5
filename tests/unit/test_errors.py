"""Every error code speaks both languages and fills its fields."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import quan
from quan.domain.errors import NOT_FOUND, Kind, QuanError, catalogue, define


def _import_everything() -> None:
    for module in pkgutil.walk_packages(quan.__path__, "quan."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)


def test_every_code_has_a_chinese_and_an_english_message() -> None:
    _import_everything()
    for code, spec in catalogue().items():
        assert spec.zh.strip(), code
        assert spec.en.strip(), code
        assert code == code.upper(), code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in spec.zh), (
            f"{code}: zh message has no Chinese"
        )


def test_message_fills_params_in_the_asked_language() -> None:
    error = QuanError(NOT_FOUND, what="program prg_1")
    assert error.message("en") == "Not found: program prg_1"
    assert "program prg_1" in error.message("zh")
    assert error.code == "NOT_FOUND"


def test_missing_param_is_left_visible_rather_than_crashing() -> None:
    assert "{what}" in QuanError(NOT_FOUND).message("en")


def test_a_code_cannot_be_redefined_with_another_meaning() -> None:
    define("TEST_ONLY_CODE", Kind.CONFLICT, zh="测试", en="test")
    define("TEST_ONLY_CODE", Kind.CONFLICT, zh="测试", en="test")
    with pytest.raises(ValueError, match="defined twice"):
        define("TEST_ONLY_CODE", Kind.INVALID, zh="测试", en="test")


RESERVED = {"type", "title", "status", "code", "detail", "instance", "errors"}


def test_no_message_field_collides_with_a_problem_member() -> None:
    """Params become problem fields; a param named like a member would be silently hidden."""
    import string

    _import_everything()
    for code, spec in catalogue().items():
        for template in (spec.zh, spec.en):
            names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
            assert not names & RESERVED, f"{code} uses {names & RESERVED}"
