"""Pure trace-code domain: parsing, catalogue, code lifecycle and settlement rules.

Nothing here does I/O; the service loads state, calls these functions and persists what
they return, so every decision can be replayed and unit-tested in milliseconds.
"""
