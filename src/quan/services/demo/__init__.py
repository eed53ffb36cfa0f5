"""The demo that ``make run`` seeds: a small, believable city program, built through the services.

Owns nothing of its own: every row is written by the use case that owns it (issuers, staff,
programs, funding, voucher types, batches, citizen import, claims, lottery registration,
merchants, terminals, redemption, settlement, the log sequencer), so the demo obeys every rule a
real program does. It is laid out on a short timeline ending now (``seed.Timeline``), so that a
settled and paid day and an open lottery exist on first open.

- ``accounts``: the staff accounts and the credentials file (``var/demo-credentials.json``).
- ``people``: the few hundred synthetic residents, imported as an eligibility list.
- ``program``: issuer, program, funders and contributions, voucher types, batches.
- ``shops``: merchants, their review and their cashier terminals.
- ``activity``: claims, lottery registrations, redemptions, the settled day and its payout.
- ``complaints``: a resident's complaint about a shop, answered, and a hotline caller's.
- ``seed``: the order of it all, and idempotence against any later state.

Development only: ``quan demo seed`` refuses to run in production. Entry point:
``quan.services.demo.seed.seed``.

May use: every wing (``money``, ``people``, ``issuance``, ``merchants``, ``redemption``,
``settlement``, ``feedback``), only through their use cases, and the log sequencer job. No wing
uses it.
"""
