"""Outbox relay: the edge's only path to NATS JetStream."""
