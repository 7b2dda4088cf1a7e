"""The store's durable event log: SQLite (WAL), hash chain, outbox, one writer task."""
