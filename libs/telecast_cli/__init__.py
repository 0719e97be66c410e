"""``telecast``: the operator command line (docs/cli.md)."""
