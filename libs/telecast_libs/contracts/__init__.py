"""The messages telecast services exchange, as msgspec Structs (camelCase on the wire)."""
