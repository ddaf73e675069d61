"""The embedded local ECS endpoint: moto's server, fidelity patches, a scheduler and an event emitter."""

from reconciler.local.server import LocalEndpoint, serve

__all__ = ["LocalEndpoint", "serve"]
