"""HTTP routes of enrollment-matcher (thin: parse, call the person file, render)."""
