"""The developer environment: finds or starts PostgreSQL and NATS for ``make run`` and tests."""

from telecast_devenv.infra import Endpoint, Infra, resolve

__all__ = ["Endpoint", "Infra", "resolve"]
