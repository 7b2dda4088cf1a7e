-- The store's event log: one row per event, seq contiguous from 1, the hash chain in `hash`.
-- `envelope` holds the msgpack envelope bytes exactly as sealed; relays send them verbatim.
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY,
    event_id       BLOB    NOT NULL UNIQUE,
    type           TEXT    NOT NULL,
    occurred_at_us INTEGER NOT NULL,
    recorded_at_us INTEGER NOT NULL,
    hash           BLOB    NOT NULL,
    envelope       BLOB    NOT NULL
) WITHOUT ROWID;

-- Events not yet acknowledged by JetStream, written in the same transaction as the event.
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY
) WITHOUT ROWID;
