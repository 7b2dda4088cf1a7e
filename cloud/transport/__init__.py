"""Transport health: how far each store's events have landed in ClickHouse."""
