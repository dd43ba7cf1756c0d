"""One service per area; each owns its storage and AWS calls and returns JSON-ready dicts."""
