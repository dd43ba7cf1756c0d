"""The Chalice app class whose API function answers warm-up invocations before anything else."""

from __future__ import annotations

from typing import Any

from chalice import Chalice

from chalicelib import warm
from chalicelib.api import deps


class WarmableChalice(Chalice):
    def __call__(self, event: Any, context: Any) -> Any:
        # Before routing, auth and storage: a warm-up must cost nothing but the preload.
        if warm.is_warm_event(event):
            return warm.answer(event, deps.preload)
        return super().__call__(event, context)
