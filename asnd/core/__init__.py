"""Pure deterministic state machines: book, features, strategy, matching, models, ledger,
watchtower rules, promotion rule. No I/O, no clocks, no trio: time and randomness come in as
events and seeds, so the same journal always yields the same decisions.
"""
