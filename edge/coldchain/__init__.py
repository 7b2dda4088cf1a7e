"""Cold chain: probe and scale readings from the bridge, excursions, probe liveness, MKT."""
