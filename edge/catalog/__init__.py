"""Item master: what the store sells, at what price, in which unit."""
