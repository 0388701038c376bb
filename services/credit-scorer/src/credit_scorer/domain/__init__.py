"""Credit domain: indicator tree, deduction ledger, scores, 12-point system and workflows.

Pure rules only — no database, broker or web framework — so every rule can be tested on its
own and the service layer stays a thin adapter that stores rows and emits events.
"""
