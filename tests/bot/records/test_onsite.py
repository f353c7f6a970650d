"""Employers' on-site service requests."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy.orm import Session

from bot.records.errors import RecordsValidationError
from bot.records.onsite import record_onsite_request
from bot.records.service_models import OnsiteStatus

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)  # 10:00 in Chengdu


def test_record_onsite_request(db_session: Session) -> None:
    request = record_onsite_request(
        db_session,
        employer_name="成都某某制造有限公司",
        contact_name="赵女士",
        phone="13912345678",
        headcount=120,
        preferred_time="工作日晚上",
        note="夜班员工较多",
        conversation_id="c1",
        channel="webchat",
        now=NOW,
    )
    assert request.status == OnsiteStatus.open and request.headcount == 120
    for headcount in (0, -3, True, "12"):
        with pytest.raises(RecordsValidationError, match="headcount"):
            record_onsite_request(db_session, employer_name="x", contact_name="y",
                                  phone="13912345678", headcount=headcount)  # type: ignore[arg-type]
    with pytest.raises(RecordsValidationError, match="employer_name"):
        record_onsite_request(db_session, employer_name=" ", contact_name="y",
                              phone="13912345678", headcount=3)
