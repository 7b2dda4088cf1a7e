"""Holds on lots: recall, quality hold, cold-chain hold, optionally at one location.

Other capabilities place and release holds through `edge.holds.service.HoldService` (built once
in `edge/app.py`, reachable as `EdgeRuntime.holds`); the scan verdict reads `active_for`:

    hold = await runtime.holds.place(
        gtin, lot, "cold_chain", "cold room 2 above 8 °C for 45 min",
        location="cold-room-2", operator_id="coldchain", now=now,
    )
    held = await runtime.holds.place_at_location(
        "cold-room-2", "cold_chain", "excursion …", operator_id="coldchain", now=now
    )  # every lot with stock there
    await runtime.holds.release(hold.hold_id, "QA checked: core temp fine", operator_id="qa-1",
                                now=now)
    runtime.holds.active_for(gtin, lot)  # -> tuple[Hold, ...], in memory, no I/O

Placing is idempotent per (gtin, lot, kind, location): a second place returns the active hold.
Every place/release is a LotHoldPlaced/LotHoldReleased event on the store's chain.
"""
