"""HTTP routes of credit-scorer."""
