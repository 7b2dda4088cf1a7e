-- Cold chain and scales: current state per device, excursions, MKT per location and hour.
-- The readings themselves are in the event log (ReadingsRecorded); these tables are state.

-- One row per device the bridge publishes: where it is, its reading order, its liveness and
-- its excursion watch (outside since / worst / in excursion), so a restart resumes them.
CREATE TABLE coldchain_devices (
    device_id          TEXT    PRIMARY KEY,
    kind               TEXT    NOT NULL CHECK (kind IN ('scale', 'probe')),
    location_id        TEXT    NOT NULL,
    location_kind      TEXT    NOT NULL,
    product_class      TEXT    NOT NULL,
    epoch              INTEGER NOT NULL,
    high_seq           INTEGER NOT NULL,
    last_seen_at_us    INTEGER,
    offline_since_us   INTEGER,
    outside_since_us   INTEGER,
    outside_direction  TEXT,
    worst_centi_c      INTEGER,
    in_excursion       INTEGER NOT NULL DEFAULT 0,
    updated_seq        INTEGER NOT NULL
) WITHOUT ROWID;

-- The latest value of each sensor channel of each device.
CREATE TABLE coldchain_latest (
    device_id   TEXT    NOT NULL,
    sensor      TEXT    NOT NULL,
    quantity    TEXT    NOT NULL,
    value       INTEGER NOT NULL,
    stable      INTEGER NOT NULL,
    at_us       INTEGER NOT NULL,
    PRIMARY KEY (device_id, sensor, quantity)
) WITHOUT ROWID;

CREATE TABLE coldchain_excursions (
    device_id         TEXT    NOT NULL,
    outside_since_us  INTEGER NOT NULL,
    location_id       TEXT    NOT NULL,
    product_class     TEXT    NOT NULL,
    direction         TEXT    NOT NULL CHECK (direction IN ('above', 'below')),
    limit_centi_c     INTEGER NOT NULL,
    started_temp_centi_c INTEGER NOT NULL,
    started_seq       INTEGER NOT NULL,
    ended_at_us       INTEGER,
    worst_centi_c     INTEGER,
    ended_seq         INTEGER,
    PRIMARY KEY (device_id, outside_since_us)
) WITHOUT ROWID;
CREATE INDEX coldchain_excursions_by_location ON coldchain_excursions (location_id, ended_at_us);

-- Mean kinetic temperature per location and hour, kept additive: n and sum of exp(-dH/RT).
CREATE TABLE coldchain_mkt_hours (
    location_id    TEXT    NOT NULL,
    hour_start_us  INTEGER NOT NULL,
    readings       INTEGER NOT NULL,
    sum_terms      REAL    NOT NULL,
    min_centi_c    INTEGER NOT NULL,
    max_centi_c    INTEGER NOT NULL,
    PRIMARY KEY (location_id, hour_start_us)
) WITHOUT ROWID;

-- Each scale's latest weight and its latest stable one (only a stable weight is sellable).
CREATE TABLE scale_weights (
    device_id       TEXT    PRIMARY KEY,
    seq             INTEGER NOT NULL,
    at_us           INTEGER NOT NULL,
    net_g           INTEGER,
    stable          INTEGER NOT NULL,
    sellable        INTEGER NOT NULL,
    reason          TEXT    NOT NULL,
    stable_net_g    INTEGER,
    stable_at_us    INTEGER,
    stable_seq      INTEGER
) WITHOUT ROWID;
