"""A private stream (no ``public``): only a token may join it."""

config = {"name": "vault", "schema": {"type": "object"}}
