"""sandbox.moto_dispatch: moto's server answers from what it computed once, the same answers."""

from __future__ import annotations

import os

import pytest
from moto import backends
from moto.core import responses
from moto.dynamodb.responses import DynamoHandler

from sandbox.moto_dispatch import cache_moto_dispatch


def test_moto_modules_are_listed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    listed = sorted(backends.list_of_moto_modules())
    cache_moto_dispatch()

    def no_disk(path: str) -> list[str]:
        raise AssertionError(f"listed {path} again")

    monkeypatch.setattr(os, "listdir", no_disk)
    assert sorted(backends.list_of_moto_modules()) == listed
    assert "dynamodb" in backends.list_of_moto_modules()


def test_handler_methods_are_listed_once() -> None:
    cache_moto_dispatch()
    names = responses.method_names_from_class(DynamoHandler)  # type: ignore[attr-defined]
    assert "transact_write_items" in names
    assert responses.method_names_from_class(DynamoHandler) is names  # type: ignore[attr-defined]
