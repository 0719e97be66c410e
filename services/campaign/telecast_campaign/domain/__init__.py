"""Campaign aggregates and rules: plain Python, no I/O."""
