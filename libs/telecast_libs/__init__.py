"""Code shared by the telecast services: contracts, subjects, settings, logging, I/O helpers."""
