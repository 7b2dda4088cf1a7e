-- Item master, keyed by GTIN-14.
CREATE TABLE items (
    gtin       TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    price_fen  INTEGER NOT NULL CHECK (price_fen >= 0),
    unit       TEXT    NOT NULL CHECK (unit IN ('each', 'kg')),
    updated_seq INTEGER NOT NULL
) WITHOUT ROWID;

-- POS terminals and the SHA-256 of their bearer tokens (the token itself is never stored).
CREATE TABLE terminals (
    terminal_id   TEXT PRIMARY KEY,
    token_sha256  BLOB NOT NULL UNIQUE,
    created_at_us INTEGER NOT NULL,
    revoked_at_us INTEGER
) WITHOUT ROWID;
