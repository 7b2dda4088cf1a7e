"""jxc cloud."""
