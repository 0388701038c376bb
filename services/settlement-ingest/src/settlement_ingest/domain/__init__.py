"""Ingest's pure rules: what a return may give back, and how requests are fingerprinted."""
