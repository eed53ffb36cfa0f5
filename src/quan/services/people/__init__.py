"""People: citizens (registration, imports, CSV), one-time codes, personal data (encryption,
pseudonyms and reveals), the blacklist, staff accounts, tokens, API keys and rate limits.

May use: no other wing (every other wing may use this one).
"""
