"""Deployment tooling (never packaged): templates, `chalice package`, stacks, the site, config."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "mytodolist"
