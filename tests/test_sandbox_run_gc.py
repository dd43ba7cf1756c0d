"""sandbox.run's garbage-collector setting: what survived a full collection is frozen, so the
next full collection walks only newer objects; other collections freeze nothing."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from sandbox.run import freeze_after_full_collection


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_a_full_collection_freezes_what_survived() -> None:
    freeze_after_full_collection("stop", {"generation": 2, "collected": 0, "uncollectable": 0})
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("unfrozen")
@pytest.mark.parametrize(("phase", "generation"), [("stop", 0), ("stop", 1), ("start", 2)])
def test_other_collections_freeze_nothing(phase: str, generation: int) -> None:
    freeze_after_full_collection(phase, {"generation": generation})
    assert gc.get_freeze_count() == 0
