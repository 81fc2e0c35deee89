"""My Proofs: status, customer and title filters, pagination, and a fixed query count."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from proofdesk.db import utcnow
from proofdesk.proofs.models import Proof
from proofdesk.proofs.services import PAGE_SIZE
from tests.conftest import login


def bulk_proofs(session, designer, customers, n, start=0):
    """Rows straight into the table: the dashboard reads only these columns."""
    now = utcnow()
    session.execute(
        sa.insert(Proof),
        [
            {
                "designer_id": designer.id,
                "customer_id": customers[i % len(customers)].id,
                "title": f"Banner {i:04d}",
                "status": ("awaiting_review", "changes_requested", "approved")[i % 3],
                "current_version": 1 + i % 4,
                "created_at": now,
                "last_activity_at": now - dt.timedelta(minutes=i),
            }
            for i in range(start, start + n)
        ],
    )
    session.commit()


def test_dashboard_shows_status_customer_version_and_activity(client, factory):
    designer = factory.user()
    customer = factory.customer(name="Hana")
    factory.proof(designer, customer, title="Truck wrap")
    login(client, designer)
    page = client.get("/proofs").get_data(as_text=True)
    assert "My Proofs" in page and "Truck wrap" in page and "Hana" in page
    assert "Awaiting review" in page and "v1" in page and "UTC" in page


def test_empty_dashboard_invites_the_first_upload(client, factory):
    login(client, factory.user())
    assert "Upload your first proof" in client.get("/proofs").get_data(as_text=True)


def test_filters_search_and_pages(client, factory, db_session):
    designer = factory.user()
    customers = [factory.customer(name="Ivy"), factory.customer(name="Jon")]
    bulk_proofs(db_session, designer, customers, 60)
    bulk_proofs(db_session, factory.user(), customers, 5, start=1000)  # someone else's
    login(client, designer)
    first = client.get("/proofs").get_data(as_text=True)
    assert first.count('href="/proofs/') - first.count('href="/proofs/new') == PAGE_SIZE
    assert "Banner 0000" in first and "Banner 1000" not in first and "Older →" in first
    third = client.get("/proofs?page=3").get_data(as_text=True)
    assert "Banner 0059" in third and "Older →" not in third
    approved = client.get("/proofs?status=approved").get_data(as_text=True)
    assert "Banner 0002" in approved and "Banner 0000" not in approved
    jon = client.get(f"/proofs?customer={customers[1].id}").get_data(as_text=True)
    assert "Banner 0001" in jon and "Banner 0000" not in jon and "Customer: Jon" in jon
    found = client.get("/proofs?q=banner 004").get_data(as_text=True)
    assert "Banner 0042" in found and "Banner 0032" not in found
    assert "No proofs match" in client.get("/proofs?q=%25%25").get_data(as_text=True)
    for junk in ("page=-1", "page=abc", "status=nope", "customer=x", "customer=99999999999"):
        assert client.get(f"/proofs?{junk}").status_code == 200


@pytest.mark.parametrize("filters", ["", "?status=approved", "?q=banner", "?page=2"])
def test_query_count_does_not_grow_with_the_data(app, client, factory, db_session, filters):
    designer = factory.user()
    customers = [factory.customer() for _ in range(5)]
    login(client, designer)

    def queries() -> int:
        seen: list[str] = []
        engine = app.extensions["db_engine"]
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get(f"/proofs{filters}").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    bulk_proofs(db_session, designer, customers, 30)
    small = queries()
    bulk_proofs(db_session, designer, customers, 300, start=30)
    assert queries() == small
    assert small <= 5  # the session, the page of proofs, the customer chip, the unread marks


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_dashboard_queries_use_an_index_on_postgresql(app, db_session, factory):
    designer = factory.user()
    bulk_proofs(db_session, designer, [factory.customer()], 2000)
    db_session.execute(sa.text("ANALYZE proofs"))
    plan = "\n".join(
        db_session.execute(
            sa.text(
                "EXPLAIN SELECT * FROM proofs WHERE designer_id = :d AND status = 'approved' "
                "ORDER BY last_activity_at DESC, id DESC LIMIT 26"
            ),
            {"d": designer.id},
        ).scalars()
    )
    assert "ix_proofs_designer_status_activity" in plan, plan
