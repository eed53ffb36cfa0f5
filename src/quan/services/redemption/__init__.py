"""Redemption: spending a voucher at a merchant (the rules check, the micro-batch and its
many-row writes), reversal, deactivation, offline sync and the cases it opens.

May use: ``money``, ``people``, ``merchants``.
"""
