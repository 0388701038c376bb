"""HTTP routes of tracecode-validator."""
