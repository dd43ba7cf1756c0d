"""Todos: the /todos routes (routes; batch_routes for POST /todos/batch's envelope), the
single-item service (service, items, idempotency), batches on top of it (batch, requests),
offline sync (sync) and the accessors (deps).

May import `chalicelib.core`, `chalicelib.store` and `chalicelib.web`; never photos, the blog or
realtime. Routes live here with their services: a change to todos touches this folder only. The
service never imports batch: a batch runs on top of it, composed in deps.
"""
