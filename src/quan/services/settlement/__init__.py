"""Settlement: runs that pay merchants for what was redeemed, statements and payout files.

May use: ``money`` (the ledger), ``people``, ``merchants``.
"""
