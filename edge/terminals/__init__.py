"""POS terminals and their bearer tokens."""
