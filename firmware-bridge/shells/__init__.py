"""Shells: the only bridge code that does I/O (serial ports, RS-485 buses, MQTT)."""
