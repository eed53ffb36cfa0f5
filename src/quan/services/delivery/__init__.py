"""Delivery: the outbox relay and the providers that carry messages to people (issue 25).

Messages are queued in the business transaction (:mod:`quan.channels.outbox`); the relay
(:mod:`.relay`), run by ``quan worker``, claims due rows, sends them through the provider of
their channel (:mod:`.providers`) and records each outcome. See docs/delivery.md.

Announcements (:mod:`.announcements`, :mod:`.announcement_release`) and partner webhooks
(:mod:`.partners`, :mod:`.webhooks`, :mod:`.webhook_sender`) live here too.

May use: ``people`` (the personal-data keys that open the sealed outbox), ``money`` (programs),
``issuance`` (the segment rule's SQL, ``grants.rule_sql``).
"""
