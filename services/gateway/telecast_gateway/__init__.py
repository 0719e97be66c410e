"""The gateway: the HTTP API, authentication, validation and the response envelope."""
