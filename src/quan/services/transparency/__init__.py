"""Transparency: the public append-only log (leaves, checkpoints, proofs) and program disclosure.

May use: ``money`` (programs).
"""
