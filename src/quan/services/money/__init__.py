"""Money: programs and their budgets, funding (tranches, the ledger's postings), issuers, and the
ledger check that proves the double-entry identities over the whole database.

May use: ``redemption`` (the ledger check runs the redemption check).
"""
