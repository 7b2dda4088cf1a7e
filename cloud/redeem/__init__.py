"""Redemptions across stores: double redemptions of multi-store codes, flagged on ingest."""
