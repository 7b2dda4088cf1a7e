"""jxc ops."""
