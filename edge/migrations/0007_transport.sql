-- What the transport knows about this store's log beyond the outbox: the cloud's
-- high-water mark (end-to-end acknowledgement) and JetStream's last ack.
CREATE TABLE transport_marks (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO transport_marks(name, value) VALUES ('cloud_hwm', 0), ('jetstream_acked', 0);
