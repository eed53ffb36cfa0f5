"""Issuance: voucher types, batches, first-come claims (with their micro-batch and cache), bulk
issuing, the lottery, grants, assisted issuance, share links, recycling, the citizen's wallet and
the fairness report.

May use: ``money`` (programs, budgets), ``people`` (citizens, blacklist), ``merchants``,
``redemption`` (deactivated vouchers in the wallet).
"""
