"""The feedback jobs of ``quan worker``: escalating complaints whose deadline passed, and
analysing the text of new complaints (sentiment and topic), each in bounded steps."""

from __future__ import annotations

from sqlalchemy import select, update

from quan.services.feedback import analysis
from quan.services.feedback.escalation import escalate_due
from quan.services.people.citizens import CitizenKeys
from quan.services.runtime import Runtime
from quan.store.feedback_tables import complaints

STEP = 200


def escalate(rt: Runtime, holder: str) -> int:
    """Escalate every complaint whose deadline has passed; how many."""
    keys = CitizenKeys.from_settings(rt.settings)
    total = 0
    while True:
        with rt.db.write() as tx:
            done = escalate_due(
                tx, rt.clock.now(), keys, locale=rt.settings.message_locale, limit=STEP
            )
        total += done
        if done < STEP:
            return total


def analyse(rt: Runtime, holder: str) -> int:
    """Score and group the complaints not analysed yet (jieba loads on the first one)."""
    c = complaints.c
    with rt.db.read() as tx:
        rows = tx.execute(
            select(c.id, c.body).where(c.sentiment.is_(None)).order_by(c.id).limit(STEP)
        ).all()
    if not rows:
        return 0
    analysis.configure(rt.settings.var_dir / "cache")
    results = [(row.id, analysis.analyse(row.body)) for row in rows]
    with rt.db.write() as tx:
        for complaint_id, found in results:
            tx.execute(
                update(complaints)
                .where(c.id == complaint_id, c.sentiment.is_(None))
                .values(sentiment=found.sentiment, topic=found.topic)
            )
    return len(results)
