"""HTTP adapters: blueprints of thin routes, the auth wiring and the error-to-status table."""
