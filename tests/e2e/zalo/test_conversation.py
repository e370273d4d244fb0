"""A parent completes a whole report through Zalo webhooks; an officer's follow-up question reaches them on Zalo."""

from __future__ import annotations

from tests.e2e.call_report import officer_question_reaches, the_call_tip, walk_call_report
from tests.e2e.zalo.conftest import Live
from tests.e2e.zalo.fakezalo import FakeZalo
from tests.e2e.zalo.people import ZaloUser, texts


async def test_parent_reports_a_call_through_zalo_and_the_officer_question_reaches_them(zalo: Live,
                                                                                        fake: FakeZalo) -> None:
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "7001002003004005006")
    welcome = texts(await parent.send(parent.follow_event()))
    assert "Bạn cần giúp gì" in welcome
    await walk_call_report(parent, parent.image)  # options as buttons where Zalo shows them

    tip = await the_call_tip(zalo.runtime, "zalo")
    # Every message the bot sent fits Zalo's limits (the fake refuses those that do not) and used the token.
    assert all(s.token for s in fake.messages(parent.id))
    await officer_question_reaches(zalo.runtime, tip, parent)
