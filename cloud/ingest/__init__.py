"""Ingest: JetStream events → ClickHouse, exactly once per (store_id, seq)."""
