"""Use cases: each function is one use case and runs inside exactly one database transaction.

A service function takes the open transaction (``tx``), the instant (``now``) and the acting
principal, loads what it needs from ``store/``, asks ``domain/`` what should happen, and writes
the outcome together with its event. Callers open the transaction with ``Database.write()`` or
:func:`quan.services.idempotency.run`, so a use case either happens whole or not at all.
"""
