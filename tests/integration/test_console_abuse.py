"""Risk cases in the console, by role: an operator of another issuer does not see the case, an
auditor reads it without buttons and cannot post a decision, and the operator's refused
decision (no reason) is answered on the page, in words, recording nothing."""

from __future__ import annotations

from sqlalchemy import select

from quan.store.abuse_tables import risk_cases
from tests.conftest import World
from tests.integration.abuse_fixtures import cash_out, scan
from tests.integration.console_fixtures import staff_session, submit


def test_a_case_is_shown_to_its_issuer_read_by_auditors_and_hidden_from_others(
    world: World,
) -> None:
    c = cash_out(world)
    case = scan(world, c)[0]
    staff_session(world, "outsider")
    assert world.client.get(f"/ops/cases/{case.id}").status_code == 403
    assert world.client.get(f"/ops/programs/{c.s.program_id}/cases").status_code == 403
    staff_session(world, "auditor")
    page = world.client.get(f"/ops/cases/{case.id}")
    assert page.status_code == 200
    assert 'data-test="decide"' not in page.text
    assert 'data-test="hold"' not in page.text
    refused = submit(world, f"/ops/cases/{case.id}/decision",
                     {"decision": "dismissed", "reason": "x"}, page=f"/ops/cases/{case.id}")
    assert refused.status_code == 403
    staff_session(world, "operator")
    listed = world.client.get(f"/ops/programs/{c.s.program_id}/cases?lang=en")
    assert "hug the minimum spend" in listed.text
    no_reason = submit(world, f"/ops/cases/{case.id}/decision",
                       {"decision": "confirmed", "reason": "  "}, page=f"/ops/cases/{case.id}")
    assert no_reason.status_code == 422
    assert "Deciding a case needs a reason" in no_reason.text  # the language chosen above
    no_choice = submit(world, f"/ops/cases/{case.id}/decision",
                       {"decision": "maybe", "reason": "看看"}, page=f"/ops/cases/{case.id}")
    assert no_choice.status_code == 422
    with world.runtime.db.read() as tx:
        assert tx.execute(select(risk_cases.c.status)).scalar_one() == "open"
    held = submit(world, f"/ops/cases/{case.id}/holds", page=f"/ops/cases/{case.id}")
    assert held.status_code == 303
    assert held.headers["location"].endswith("done=held_5")
