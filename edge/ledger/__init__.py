"""The store stock ledger: item profiles, lots, stock by item/lot/location, and the documents
that move it (receipt, sale, return, transfer, waste, count, price change). FEFO pick
suggestions. Stock is never silently negative: a movement that takes a balance below zero
stands (the goods did leave) and is flagged with a StockWentNegative event.

Lot genealogy (genealogy.py, genealogy_api.py): transformations that make new lots from others,
containers (SSCC) packed and unpacked, shipments to and from other stores."""
