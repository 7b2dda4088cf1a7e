-- Store ledger and lot holds (issue 3). Quantities are in the item's base unit: pieces for
-- 'each' items, grams for 'kg' items. Dates are ISO-8601 text; instants are epoch µs.

-- Item master extensions: what the scan rules need beyond name/price/unit.
CREATE TABLE item_profiles (
    gtin          TEXT    PRIMARY KEY,
    category      TEXT    NOT NULL DEFAULT '',
    min_age_years INTEGER NOT NULL DEFAULT 0 CHECK (min_age_years >= 0),
    plu           TEXT,            -- the store's item code in variable-measure EAN-13 labels
    min_net_g     INTEGER,         -- sellable weight range of one weighed pack
    max_net_g     INTEGER,
    updated_seq   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX item_profiles_plu ON item_profiles(plu) WHERE plu IS NOT NULL;
CREATE INDEX item_profiles_updated ON item_profiles(updated_seq);

-- Per-category rules: which qualification documents a lot must carry to be sold.
CREATE TABLE category_rules (
    category           TEXT PRIMARY KEY,
    required_documents TEXT NOT NULL,   -- JSON array, e.g. ["inspection_report"]
    updated_seq        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX category_rules_updated ON category_rules(updated_seq);

-- Lots: GTIN + lot number, with expiry, supplier and the documents received with it.
CREATE TABLE lots (
    gtin        TEXT NOT NULL,
    lot         TEXT NOT NULL,
    expiry      TEXT,                    -- ISO date, NULL if the lot has none
    supplier_id TEXT NOT NULL DEFAULT '',
    documents   TEXT NOT NULL DEFAULT '[]',  -- JSON array of document kinds on file
    updated_seq INTEGER NOT NULL,
    PRIMARY KEY (gtin, lot)
) WITHOUT ROWID;
CREATE INDEX lots_updated ON lots(updated_seq);

-- Stock by item, lot ('' when the item is not lot-tracked) and location.
CREATE TABLE stock (
    gtin        TEXT    NOT NULL,
    lot         TEXT    NOT NULL,
    location    TEXT    NOT NULL,
    quantity    INTEGER NOT NULL,
    negative    INTEGER NOT NULL DEFAULT 0,  -- 1 while the balance is below zero (flagged)
    updated_seq INTEGER NOT NULL,
    PRIMARY KEY (gtin, lot, location)
) WITHOUT ROWID;
CREATE INDEX stock_location ON stock(location);

-- Idempotency of POS documents: one row per client id, with the answer given the first time.
CREATE TABLE ledger_documents (
    kind        TEXT NOT NULL,   -- 'sale', 'return', 'receipt', 'transfer', 'waste', 'count'
    client_id   TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    answer      BLOB NOT NULL,   -- JSON of the response returned the first time
    PRIMARY KEY (kind, client_id)
) WITHOUT ROWID;

-- Holds on lots: recall, quality hold, cold-chain hold; optionally at one location only.
CREATE TABLE lot_holds (
    hold_id        TEXT    PRIMARY KEY,
    gtin           TEXT    NOT NULL,
    lot            TEXT    NOT NULL,
    location       TEXT,               -- NULL: everywhere in the store
    kind           TEXT    NOT NULL CHECK (kind IN ('recall', 'quality', 'cold_chain')),
    reason         TEXT    NOT NULL,
    placed_by      TEXT    NOT NULL,
    placed_at_us   INTEGER NOT NULL,
    released_by    TEXT,
    release_reason TEXT,
    released_at_us INTEGER,
    updated_seq    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX lot_holds_lot ON lot_holds(gtin, lot);
CREATE INDEX lot_holds_updated ON lot_holds(updated_seq);
