-- Scan-to-redeem (edge/redeem/). Vouchers arrive in batches from the cloud; a code has at most
-- one live redemption in this store (a unique index, checked inside the writer's
-- transaction); every POS answer is kept by (terminal, client id) so a retry gets it again.

-- Voucher batches applied, by id: a version is applied only if newer (idempotent re-delivery).
CREATE TABLE redeem_batches (
    batch_id    TEXT    PRIMARY KEY,
    version     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    codes       INTEGER NOT NULL
) WITHOUT ROWID;

-- Redeemable codes from batches. `body` is the voucher as JSON (NULL for a revoked code the
-- store never had, e.g. a signed code revoked by the cloud).
CREATE TABLE redeem_vouchers (
    code     TEXT    PRIMARY KEY,
    batch_id TEXT    NOT NULL,
    body     TEXT,
    revoked  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Public keys trusted for signed codes (besides the key ring file), by key id.
CREATE TABLE redeem_keys (
    key_id TEXT PRIMARY KEY,
    body   TEXT NOT NULL
) WITHOUT ROWID;

-- Every POS redemption request and the answer it got, by (terminal, client id): a retry with
-- the same client id gets the same answer. A granted attempt is a redemption
-- (`redemption_id` set); the partial unique index keeps ONE live redemption per code.
CREATE TABLE redeem_attempts (
    terminal_id   TEXT    NOT NULL,
    client_id     TEXT    NOT NULL,
    seq           INTEGER NOT NULL,
    code          TEXT    NOT NULL,
    redemption_id TEXT,
    operator_id   TEXT    NOT NULL,
    at_us         INTEGER NOT NULL,
    reversed_seq  INTEGER,
    answer        BLOB    NOT NULL,
    PRIMARY KEY (terminal_id, client_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX redeem_live_code ON redeem_attempts(code)
    WHERE redemption_id IS NOT NULL AND reversed_seq IS NULL;
CREATE UNIQUE INDEX redeem_by_id ON redeem_attempts(redemption_id)
    WHERE redemption_id IS NOT NULL;

-- A redemption is reversed at most once.
CREATE TABLE redeem_reversals (
    redemption_id TEXT    PRIMARY KEY,
    seq           INTEGER NOT NULL,
    reason        TEXT    NOT NULL,
    operator_id   TEXT    NOT NULL
) WITHOUT ROWID;

-- Redemptions of multi-store codes made in other stores, pulled from the cloud.
CREATE TABLE redeem_remote (
    code           TEXT    PRIMARY KEY,
    store_id       TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    terminal_id    TEXT    NOT NULL,
    redeemed_at_us INTEGER NOT NULL,
    redemption_id  TEXT    NOT NULL
) WITHOUT ROWID;

-- Cursors of the redemption sync with the cloud.
CREATE TABLE redeem_sync (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
