"""The shared core: config, errors, validation, cursors, preconditions, cache, telemetry,
defaults (clock, ids) and the accessor registry.

Standard library only (no chalice, botocore or PynamoDB), and nothing else from chalicelib:
every other package may use it.
"""
