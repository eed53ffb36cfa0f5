"""Issuance: voucher types, batches, claims, grants, the lottery, the assisted channel, share
links, recycling and the wallet."""
