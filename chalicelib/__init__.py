"""Everything the Lambda functions need besides app.py, one package per layer or domain.

Layers, top to bottom; a module imports only from its own layer or below (function-level
imports count too), checked by import-linter (pyproject.toml) and tests/test_layout.py:

- `chalicelib.snapstart`: the Lambda SnapStart hooks (the preload before the snapshot, what a
  restored container redoes).
- `chalicelib.warm`: the warm-up answer, the warmer and the preload of every domain.
- `chalicelib.todos`, `chalicelib.photos`, `chalicelib.blog`, `chalicelib.realtime`: one
  package per domain, each with its routes (blueprints) or socket adapters, services, and in its
  `__init__` the accessors that build each service on first use. Domains never import each
  other.
- `chalicelib.web`: HTTP plumbing every domain's routes share (auth, tokens, the error table,
  headers).
- `chalicelib.store`: AWS clients, PynamoDB models and the storage helpers all domains share.
- `chalicelib.core`: standard library only: config, errors, validation, cursors, telemetry,
  the accessor registry.

Beside the layers, `chalicelib.local_stage` (standard library only, imported on the local stage
alone, by `follow_local_sandbox`) points the `local` stage (`chalice local --stage local`) at the
running sandbox.

Routes live with their domain, so a change to one feature touches one folder; `app.py` is the
one place that wires handlers (registers each domain's blueprint and event handlers).
"""

import os

__version__ = "0.1.0"


def follow_local_sandbox() -> None:
    """On the local stage only, point this process at the running sandbox
    (`chalicelib.local_stage`); elsewhere it imports nothing more: every cold start runs this."""
    # local_stage.LOCAL_STAGE, written out: reading it would import the module on every stage.
    if os.environ.get("APP_STAGE") == "local":
        from chalicelib.local_stage import follow_sandbox  # noqa: PLC0415 - the local stage only

        follow_sandbox()


# Lambda's AWS_LAMBDA_INITIALIZATION_TYPE where a function does not run under SnapStart (which
# sets "snap-start"): there, looking for `snapshot_restore_py` would search every path entry.
_NOT_SNAPSTART = frozenset({"on-demand", "provisioned-concurrency"})


def register_snapstart_hooks() -> bool:
    """Register `chalicelib.snapstart`'s hooks where Lambda SnapStart runs (its runtime alone has
    `snapshot_restore_py`). Elsewhere it imports nothing more: every cold start runs this, and an
    on-demand or provisioned container does not even look for the module."""
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") in _NOT_SNAPSTART:
        return False
    try:
        import snapshot_restore_py  # type: ignore[import-not-found]  # noqa: F401, PLC0415
    except ImportError:
        return False
    from chalicelib import snapstart  # noqa: PLC0415 - loaded before the snapshot, not at import

    return snapstart.register()
