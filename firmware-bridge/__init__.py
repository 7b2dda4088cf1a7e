"""Firmware bridge: sans-I/O device drivers, serial and MQTT shells, simulators."""
