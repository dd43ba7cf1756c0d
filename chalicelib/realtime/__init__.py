"""Real time: the WebSocket connections of signed-in devices, and the pokes that tell a user's
devices that their todos changed. Uses the core, the store and the web layer, never another
domain: the todos table reaches it through its stream, as plain records."""
