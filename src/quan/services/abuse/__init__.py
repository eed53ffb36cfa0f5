"""Abuse and supervision: risk features of redemptions and actors, the rules that score them,
cases opened for review, and holds on the single redemptions a case concerns.

May use: ``money`` (programs), ``people`` (the blacklist), ``settlement`` (the last cut-off).
"""
