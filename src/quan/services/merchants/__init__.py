"""Merchants: applications and reviews, terminals and their keys, offline signing keys.

May use: ``money`` (programs), ``people`` (API keys, staff).
"""
