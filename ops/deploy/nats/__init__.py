"""NATS deployment configs: the cloud hub and each store (direct client or leaf node)."""
