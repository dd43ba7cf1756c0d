"""The app in the sandbox: imported once its environment is set, its event handlers, `fire`."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from chalice import Chalice
from chalice.app import ScheduledEventConfig
from chalice.local import LambdaContext

from sandbox.env import point_at_sandbox
from sandbox.lambda_events import Handler, scheduled_event
from sandbox.settings import ROOT, SandboxError


def load_app() -> Chalice:
    """Import app.py now: its models and authorizer read the environment when imported."""
    if "app" in sys.modules:
        raise SandboxError("app was imported before the sandbox set its environment")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    app = importlib.import_module("app").app
    if not isinstance(app, Chalice):
        raise SandboxError("app.py has no Chalice object named app")
    return app


def event_handlers(app: Chalice) -> dict[str, Handler]:
    """The Chalice handler objects Lambda would call, by name, for every event source."""
    module = sys.modules["app"]
    return {config.name: getattr(module, config.name) for config in app.event_sources}


def websocket_handlers(app: Chalice) -> dict[str, Handler]:
    """The app's WebSocket handler objects (what Lambda calls), by API Gateway route key."""
    module = sys.modules["app"]
    return {
        route: getattr(module, config.handler_string.rsplit(".", 1)[-1])
        for route, config in app.websocket_handlers.items()
    }


def fire(endpoints: dict[str, Any], name: str) -> Any:
    """Run one scheduled handler now, in this process, against the running sandbox."""
    point_at_sandbox(os.environ, endpoints["aws_endpoint_url"], endpoints["region"])
    os.environ.update(endpoints["app_environment"])
    app = load_app()
    scheduled = sorted(c.name for c in app.event_sources if isinstance(c, ScheduledEventConfig))
    if name not in scheduled:
        raise SandboxError(
            f"no scheduled handler named {name!r}; the app has: {', '.join(scheduled) or 'none'}"
        )
    handler = event_handlers(app)[name]
    context = LambdaContext(function_name=name, memory_size=128)
    return handler(scheduled_event(name, endpoints["region"]), context)
