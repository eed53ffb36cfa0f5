"""Abuse and supervision: risk features of redemptions and actors, the rules that score them,
cases opened for review, holds on the single redemptions a case concerns, and the clawback of
those a confirmed case finds settled.

May use: ``money`` (programs), ``people`` (the blacklist), ``settlement`` (the last cut-off),
``redemption`` (a clawback is a reversal after settlement).
"""
