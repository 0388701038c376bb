"""HTTP routes of disclosure-publisher."""
