"""Domain events: the vocabulary of what is recorded (each kind labelled, the database takes no
other), and subscribers, who hear each event once, in the transaction that records it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from io import BytesIO

import pytest
import sqlalchemy as sa
from alembic import command

from proofdesk import activity
from proofdesk.activity import Activity, ActivityKind
from proofdesk.customers.models import Customer
from proofdesk.proofs.models import Proof
from proofdesk.review import services as review
from proofdesk.review.models import Comment
from tests.conftest import alembic_config, csrf_token, login, png_bytes, postgres_database
from tests.proofs.test_views import post_multipart
from tests.review.test_share_link import form_token, share_path


def test_every_kind_has_a_label_and_fits_the_column():
    for kind in ActivityKind:
        assert kind.label.strip(), kind
        assert activity.label(kind.value) == kind.label  # what the activity lists show
        assert len(kind.value) <= Activity.__table__.c.kind.type.length
    assert activity.label(ActivityKind.DECISION_WITHDRAWN) == "withdrew the approval"


def test_record_takes_only_members_of_the_vocabulary(db_session):
    for kind in ("proof.exploded", "share_link.viewed"):  # unknown, and a bare string
        with pytest.raises(TypeError, match="not an ActivityKind"):
            activity.record(db_session, kind=kind, actor="Someone", ip=None)  # type: ignore[arg-type]
    assert not db_session.new
    with pytest.raises(TypeError):
        activity.subscribe("comment.added")  # type: ignore[arg-type]


def test_the_database_takes_every_kind_and_no_other(db_session):
    """The migrations' CHECK constraint and the vocabulary agree, on either database."""
    rows = [{"kind": kind.value, "actor": "Migration check"} for kind in ActivityKind]
    db_session.execute(sa.insert(Activity), rows)
    db_session.commit()
    stored = db_session.scalars(sa.select(Activity.kind).where(Activity.actor == "Migration check"))
    assert set(stored) == {kind.value for kind in ActivityKind}
    with pytest.raises(sa.exc.IntegrityError):
        db_session.execute(sa.insert(Activity).values(kind="proof.exploded", actor="Someone"))
        db_session.flush()
    db_session.rollback()


@pytest.fixture
def heard() -> Iterator[list[Activity]]:
    """Every event recorded while the test runs, as its subscriber saw it."""
    events: list[Activity] = []

    @activity.subscribe(*ActivityKind)
    def listen(session, entry):
        assert entry in session  # added to the session that records it, not yet committed
        events.append(entry)

    try:
        yield events
    finally:
        activity.unsubscribe(listen)


def test_a_review_records_each_event_once_and_subscribers_hear_each(
    app, client, factory, db_session, heard
):
    """Upload, link viewed, comment, reply, resolve, changes requested, new version, approval,
    withdrawal, lock and unlock: one row each, where it happens, and one call to the subscriber
    per row (a change request's comment is a comment too)."""
    designer = factory.user(name="Dora")
    proof = factory.proof(designer)
    login(client, designer)
    path = share_path(client, proof)
    staff = f"/proofs/{proof.id}"
    visitor = app.test_client()
    page = visitor.get(path).get_data(as_text=True)
    visitor.get(f"{path}/v/1")  # only the link's landing page records a view
    visitor.post(
        f"{path}/comments",
        data={
            "comment-csrf_token": form_token(page),
            "comment-body": "Bigger?",
            "comment-name": "Vic",
        },
    )
    root = db_session.scalar(sa.select(Comment))
    client.post(
        f"{staff}/comments",
        data={
            "comment-csrf_token": csrf_token(client, staff),
            "comment-body": "Done.",
            "reply_to": root.id,
        },
    )
    client.post(
        f"{staff}/threads/{root.id}",
        data={"action": "resolve", "csrf_token": csrf_token(client, staff)},
    )
    token = form_token(page)  # one per session: the landing page is not loaded again
    decide = {"csrf_token": token, "name": "Vic"}
    visitor.post(
        f"{path}/decision", data={**decide, "decision": "changes_requested", "comment": "Red."}
    )
    new = f"{staff}/versions/new"
    post_multipart(
        client,
        new,
        {"csrf_token": csrf_token(client, new), "file": (BytesIO(png_bytes()), "v2.png")},
    )
    visitor.post(f"{path}/decision", data={**decide, "decision": "approved"})
    visitor.post(
        f"{path}/decision/withdraw",
        data={"csrf_token": token, "withdraw-reason": "Wrong date", "withdraw-name": "Vic"},
    )
    for action in ("lock", "unlock"):
        client.post(
            f"{staff}/lock", data={"csrf_token": csrf_token(client, staff), "action": action}
        )

    kinds = [
        ActivityKind.PROOF_UPLOADED,
        ActivityKind.SHARE_LINK_VIEWED,
        ActivityKind.COMMENT_ADDED,
        ActivityKind.COMMENT_ADDED,
        ActivityKind.THREAD_RESOLVED,
        ActivityKind.COMMENT_ADDED,
        ActivityKind.DECISION_CHANGES_REQUESTED,
        ActivityKind.VERSION_UPLOADED,
        ActivityKind.DECISION_APPROVED,
        ActivityKind.DECISION_WITHDRAWN,
        ActivityKind.PROOF_LOCKED,
        ActivityKind.PROOF_UNLOCKED,
    ]
    stored = db_session.scalars(
        sa.select(Activity).where(Activity.proof_id == proof.id).order_by(Activity.id)
    ).all()
    assert [row.kind for row in stored] == kinds
    on_the_proof = [entry for entry in heard if entry.proof_id == proof.id]
    assert [entry.kind for entry in on_the_proof] == kinds
    assert [entry.id for entry in on_the_proof] == [row.id for row in stored]
    actors = [(row.kind, row.actor) for row in stored]
    assert (ActivityKind.THREAD_RESOLVED, "Dora") in actors
    assert (ActivityKind.DECISION_APPROVED, "Vic") in actors
    # The staff login is heard too: subscribers hear account events as well.
    assert ActivityKind.LOGIN_SUCCEEDED in [entry.kind for entry in heard]


def test_a_subscriber_hears_only_its_kinds_and_writes_in_the_same_transaction(
    app, factory, db_session
):
    designer = factory.user()
    proof = factory.proof(designer)
    heard: list[str] = []

    @activity.subscribe(ActivityKind.PROOF_LOCKED)
    @activity.subscribe(ActivityKind.PROOF_LOCKED)  # registering twice is once
    def outbox(session, entry):
        heard.append(entry.kind)
        session.add(Customer(name=f"Told of {entry.kind}", email=f"told{len(heard)}@x.test"))

    told = sa.select(sa.func.count()).select_from(Customer).where(Customer.name.like("Told of%"))
    locks = (
        sa.select(sa.func.count())
        .select_from(Activity)
        .where(Activity.kind == ActivityKind.PROOF_LOCKED)
    )
    try:
        review.lock(db_session, proof=proof, by=designer, locked=True, ip=None)
        assert heard == [ActivityKind.PROOF_LOCKED]
        db_session.rollback()  # the action fails: its event and the subscriber's row go
        assert (db_session.scalar(told), db_session.scalar(locks)) == (0, 0)

        review.lock(db_session, proof=proof, by=designer, locked=True, ip=None)
        review.lock(db_session, proof=proof, by=designer, locked=False, ip=None)
        db_session.commit()  # both commit together
        assert heard == [ActivityKind.PROOF_LOCKED] * 2
        assert (db_session.scalar(told), db_session.scalar(locks)) == (1, 1)
    finally:
        activity.unsubscribe(outbox)
    review.lock(db_session, proof=proof, by=designer, locked=True, ip=None)
    assert len(heard) == 2  # unsubscribed


def test_a_failing_subscriber_fails_the_action(app, client, factory, db_session):
    """What a subscriber raises is the action's error: nothing of it is kept."""
    designer = factory.user()
    proof = factory.proof(designer)
    login(client, designer)
    staff = f"/proofs/{proof.id}"
    token = csrf_token(client, staff)

    @activity.subscribe(ActivityKind.PROOF_LOCKED)
    def broken(session, entry):
        raise RuntimeError("the outbox is full")

    try:
        response = client.post(f"{staff}/lock", data={"csrf_token": token, "action": "lock"})
        assert response.status_code == 500
    finally:
        activity.unsubscribe(broken)
    db_session.expire_all()
    assert db_session.get(Proof, proof.id).locked_at is None
    locks = db_session.scalar(
        sa.select(sa.func.count())
        .select_from(Activity)
        .where(Activity.kind == ActivityKind.PROOF_LOCKED)
    )
    assert locks == 0


# ---- 0009: the CHECK constraint on activities.kind -----------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    yield from postgres_database(f"proofdesk_kinds_{uuid.uuid4().hex[:10]}")


def test_0009_keeps_the_rows_refuses_unknown_kinds_and_steps_back(empty_db):
    cfg = alembic_config(empty_db)
    command.upgrade(cfg, "0008")
    engine = sa.create_engine(empty_db)
    insert = sa.text("INSERT INTO activities (at, kind, actor) VALUES (:at, :kind, 'Ann')")
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    try:
        with engine.begin() as conn:
            for kind in ("login.failed", "decision.approved", "fax.sent"):
                conn.execute(insert, {"at": at, "kind": kind})
        with pytest.raises(RuntimeError, match="kinds Proofdesk does not know: fax.sent"):
            command.upgrade(cfg, "head")
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM activities WHERE kind = 'fax.sent'"))
        command.upgrade(cfg, "head")
        command.check(cfg)
        kinds = sa.text("SELECT kind FROM activities ORDER BY id")
        with engine.connect() as conn:
            assert list(conn.scalars(kinds)) == ["login.failed", "decision.approved"]
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(insert, {"at": at, "kind": "fax.sent"})
        command.downgrade(cfg, "0008")
        with engine.begin() as conn:
            conn.execute(insert, {"at": at, "kind": "fax.sent"})
            assert len(list(conn.scalars(kinds))) == 3
    finally:
        engine.dispose()
