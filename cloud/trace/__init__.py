"""Traceability: lot genealogy, trace reports with evidence, exports, recalls, completeness."""
