"""The Chalice application: routes and event handlers, each a thin adapter over chalicelib."""

from __future__ import annotations

import os
from typing import Any

from chalice import Chalice
from chalice.app import SQSEvent

from chalicelib import __version__
from chalicelib.api import deps, photos, todos

app = Chalice(app_name="mytodolist")
app.register_blueprint(todos.bp)
app.register_blueprint(photos.bp)


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


# A decorator argument, so read at import; .chalice/config.json sets it per stage.
@app.on_sqs_message(
    queue=os.environ.get("THUMBNAILS_QUEUE_NAME", "mytodolist-dev-thumbnails"), batch_size=10
)
def make_thumbnails(event: SQSEvent) -> dict[str, Any]:
    messages = [(record.to_dict()["messageId"], record.body) for record in event]
    return deps.photos().handle_messages(messages)
