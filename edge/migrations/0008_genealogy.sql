-- Lot genealogy at the store edge: transformations, aggregation, store-to-store shipments.

-- What each container (an SSCC: a case, a pallet) holds now, by lot. Packing adds, unpacking
-- takes away; a row at zero is deleted, so a container with no rows is unknown (or empty).
CREATE TABLE container_contents (
    container_id TEXT    NOT NULL,
    gtin         TEXT    NOT NULL,
    lot          TEXT    NOT NULL,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    updated_seq  INTEGER NOT NULL,
    PRIMARY KEY (container_id, gtin, lot)
) WITHOUT ROWID;
CREATE INDEX container_contents_lot ON container_contents(gtin, lot);

-- A digest of the document's request, so the same client id sent with a different body is
-- refused (409) instead of answered as a retry. NULL for kinds that do not compare bodies.
ALTER TABLE ledger_documents ADD COLUMN request_digest BLOB;
