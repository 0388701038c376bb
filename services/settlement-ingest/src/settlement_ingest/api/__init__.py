"""HTTP routes of settlement-ingest."""
