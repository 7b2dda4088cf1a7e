"""jxc edge."""
