"""Operations: running Quan safely over time — backups and restores of the whole database, and
rotation of its keys (the personal-data sealing keys with the re-encryption job, the
transparency log's signing key with its endorsed history).

May use: ``people`` (the personal-data keys and the citizens' sealed columns), ``merchants``
(their sealed columns), ``issuance`` (the lottery's sealed seeds), ``transparency`` (the log's
key), ``delivery`` (partners' sealed webhook signing secrets).
"""
