"""The Chalice application: routes and event handlers, each a thin adapter over chalicelib."""

from __future__ import annotations

from chalice import Chalice

from chalicelib import __version__
from chalicelib.api import todos

app = Chalice(app_name="mytodolist")
app.register_blueprint(todos.bp)


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}
