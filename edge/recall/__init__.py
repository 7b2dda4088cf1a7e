"""Recalls pushed by the cloud: cloud → NATS JetStream → edge → a "recall" hold on the lot.

The cloud publishes one `protocol.recall.RecallHold` per (store, lot) on
`jxc.v1.cmd.<store>.recalls` (stream `JXC_RECALLS`). The edge's durable pull consumer reads
its own subject, so a recall published while the store is offline arrives when it is back.
Each command places (or releases) a hold through `edge.holds.HoldService`, with the command's
`hold_id()` as the hold's id: applying a command twice is one hold, and from then on every
scan of the lot blocks with `recalled_lot`.

- `domain.py`: pure: a payload becomes a `RecallOrder` or a `RecallRefused` with its reason.
- `service.py`: applies an order to the lot's holds.
- `downlink.py`: the stream, the consumer, connecting forever with backoff; ack after commit.
"""
