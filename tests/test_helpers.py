"""What a test does when this machine lacks something it needs: fail under CI, skip elsewhere."""

from __future__ import annotations

import pytest

from tests.helpers import unavailable


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_unavailable_fails_under_ci(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="Chromium is missing; under CI"):
        unavailable("Chromium is missing", safe_because="reasons")


@pytest.mark.parametrize("ci", [None, "", "0", "false"])
def test_unavailable_skips_elsewhere_naming_why_it_is_safe(
    monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match=r"Chromium is missing; .*: CI runs them"):
        unavailable("Chromium is missing", safe_because="CI runs them")
