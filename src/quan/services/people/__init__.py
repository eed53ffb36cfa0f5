"""People: citizens, their imports and sign-in codes, personal data and its reveals, the
blacklist, staff, tokens, API keys and rate limits (the ``people`` wing, issue 14)."""
