"""Operations: running Quan safely over time — backups and restores of the whole database, and
rotation of its keys (the personal-data sealing keys with the re-encryption job, the
transparency log's signing key with its endorsed history), and the program office's report
(``report``: take-up, redemption, leverage, money by category, region and merchant, day by day).

May use: ``people`` (the personal-data keys and the citizens' sealed columns), ``merchants``
(their sealed columns), ``issuance`` (the lottery's sealed seeds), ``transparency`` (the log's
key), ``delivery`` (partners' sealed webhook signing secrets), ``money`` (programs and the
ledger's budget, for the report), ``feedback`` (hotline callers' sealed phones).
"""
