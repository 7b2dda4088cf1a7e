"""`python -m ops` is `jxc` (used to spawn child services with the same interpreter)."""

from ops.cli import main

main()
