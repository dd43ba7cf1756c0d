"""Performance benchmarks and the load generator (never packaged)."""
