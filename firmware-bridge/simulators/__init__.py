"""Device simulators: real byte protocols on a pty pair, MQTT probes like the real firmwares."""
