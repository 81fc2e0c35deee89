"""One rule for transactions: a request's writes are committed once, after its view, by the
unit of work (`proofdesk/unit_of_work.py`); the worker and the CLI commit their own sessions.
The places that may commit are listed here, and the rule is checked on the source."""

from __future__ import annotations

import ast
import datetime as dt
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import abort, flash, redirect
from sqlalchemy.orm import Session

from proofdesk.accounts.models import UserSession
from proofdesk.customers import services as customers
from proofdesk.customers.models import Customer
from proofdesk.db import get_session, keep_on_error, utcnow
from proofdesk.proofs.models import Proof, RenderStatus
from proofdesk.storage import LocalStorage, track_new_file
from tests.conftest import login
from tests.security.test_hostile_uploads import QUICK_PAGE, SLOW_PAGE, raw_pdf

SRC = Path(__file__).resolve().parent.parent / "src"

# Every function that may end a transaction with a commit ("module:function"). Views and
# services never do: they add and flush, and the request's unit of work commits.
COMMITS = {
    # The one commit of every request.
    "proofdesk.unit_of_work:end_unit_of_work",
    # A session of its own, committed on success: the CLI.
    "proofdesk.db:session_scope",
    # The worker: a claim is a transaction of its own, then each job done is committed.
    "proofdesk.queue:claim",
    "proofdesk.notifications.tasks:_send_batch",  # the emails to customers, and to staff
    "proofdesk.customer_login.tasks:answer_reset_requests",
    "proofdesk.worker:render_one",
    # Rate-limit counters, on a connection of their own: a count stands when the request's
    # own transaction is rolled back.
    "proofdesk.ratelimit:DatabaseStorage.incr",
    "proofdesk.ratelimit:DatabaseStorage.reset",
    "proofdesk.ratelimit:DatabaseStorage.clear",
}


def commit_places(tree: ast.AST, module: str) -> dict[str, list[int]]:
    """Where a module commits: calls of `.commit()`, and `with ….begin():` blocks (which
    commit when they end), by enclosing function ("module:Class.function"), with the lines."""
    found: dict[str, list[int]] = {}

    def visit(node: ast.AST, names: list[str]) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = [*names, node.name]
        place = f"{module}:{'.'.join(names) or '<module>'}"
        if isinstance(node, ast.Attribute) and node.attr == "commit":
            found.setdefault(place, []).append(node.lineno)
        if isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                call = item.context_expr
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "begin"
                ):
                    found.setdefault(place, []).append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, names)

    visit(tree, [])
    return found


def test_the_check_sees_commits_and_committing_blocks():
    source = (
        "def view(session):\n"
        "    session.commit()\n"
        "class Store:\n"
        "    def count(self, engine):\n"
        "        with engine.begin() as conn:\n"
        "            pass\n"
        "    def nested(self, session):\n"
        "        with session.begin_nested():\n"
        "            pass\n"
        "done = session.commit\n"
    )
    assert commit_places(ast.parse(source), "m") == {
        "m:view": [2],
        "m:Store.count": [5],
        "m:<module>": [10],
    }


def test_only_the_listed_places_commit():
    found: dict[str, list[str]] = {}
    for path in sorted((SRC / "proofdesk").rglob("*.py")):
        module = ".".join(path.relative_to(SRC).with_suffix("").parts)
        for place, lines in commit_places(ast.parse(path.read_text()), module).items():
            found[place] = [f"{path.relative_to(SRC)}:{line}" for line in lines]
    unexpected = {place: where for place, where in found.items() if place not in COMMITS}
    assert unexpected == {}, (
        "these commit, but views and services leave the commit to the request's unit of work "
        "(proofdesk/unit_of_work.py; db.keep_on_error to keep writes on an error answer)"
    )
    assert sorted(COMMITS - found.keys()) == [], "listed in COMMITS but no longer committing"


# ---- the request's unit of work -------------------------------------------------------------

EMAIL = "written@client.test"


@pytest.fixture
def views(app):
    """Views that write a customer and then answer in each way (added before any request)."""

    def write() -> Customer:
        return customers.create_customer(
            get_session(), name="Written", email=EMAIL, company=None, created_by_id=None
        )

    @app.get("/test/raises")
    def raises() -> str:
        write()
        raise RuntimeError("after writing")

    @app.get("/test/refuses")
    def refuses() -> tuple[str, int]:
        write()
        return "Refused", 409

    @app.get("/test/aborts")
    def aborts() -> str:
        write()
        abort(404)

    @app.get("/test/keeps")
    def keeps() -> tuple[str, int]:
        write()
        keep_on_error(get_session())
        return "Not found, and what it wrote is kept", 404

    @app.get("/test/saves")
    def saves() -> object:
        write()
        flash("Saved the customer.", "success")
        return redirect("/login")

    @app.get("/test/commit-fails")
    def commit_fails() -> object:
        write()
        # The same address again: refused by the unique constraint when the commit flushes.
        get_session().add(Customer(name="Twin", email=EMAIL))
        flash("Saved the customer.", "success")
        return redirect("/login")

    @app.get("/test/notes")
    def notes() -> object:
        flash("A note from before.", "info")
        return redirect("/login")

    return app


def written(session: Session) -> int:
    session.rollback()
    return session.scalar(
        sa.select(sa.func.count()).select_from(Customer).where(Customer.email == EMAIL)
    )


def test_a_view_that_raises_after_writing_leaves_nothing(views, client, db_session):
    response = client.get("/test/raises")
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)
    assert written(db_session) == 0


@pytest.mark.parametrize("path", ["/test/refuses", "/test/aborts"])
def test_an_error_answer_rolls_back_what_the_view_wrote(views, client, db_session, path):
    assert client.get(path).status_code in {404, 409}
    assert written(db_session) == 0


def test_keep_on_error_commits_in_spite_of_the_error_answer(views, client, db_session):
    response = client.get("/test/keeps")
    assert response.status_code == 404
    assert written(db_session) == 1


def test_a_redirect_is_committed_before_the_browser_follows_it(views, client, db_session):
    response = client.get("/test/saves")
    assert response.status_code == 302
    assert written(db_session) == 1
    assert "Saved the customer." in client.get("/login").get_data(as_text=True)


def test_a_failed_commit_gives_the_error_page_without_the_success_message(
    views, client, db_session
):
    client.get("/test/notes")  # a message of an earlier request, not read yet
    response = client.get("/test/commit-fails")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in page
    for leak in ("Traceback", "IntegrityError", "UNIQUE", "unique", "INSERT "):
        assert leak not in page
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert written(db_session) == 0
    next_page = client.get("/login").get_data(as_text=True)
    assert "Saved the customer." not in page + next_page
    assert "A note from before." in page  # only the failed request's own messages are dropped


def test_the_error_page_for_a_failed_commit_keeps_a_share_links_privacy_headers(
    app, client, factory, monkeypatch
):
    from proofdesk.activity import Activity
    from proofdesk.review import screen
    from tests.review.test_share_link import share_path

    designer = factory.user()
    proof = factory.proof(designer)
    login(client, designer)
    path = share_path(client, proof)
    page_for_real = screen.page

    def page_then_a_refused_row(*args, **kwargs):  # type: ignore[no-untyped-def]
        made = page_for_real(*args, **kwargs)
        get_session().add(Activity(kind="no such kind", actor="x"))  # refused at the commit
        return made

    monkeypatch.setattr(screen, "page", page_then_a_refused_row)
    response = app.test_client().get(path)
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"


def test_a_page_that_cannot_be_rendered_answers_404_and_stays_marked_failed(
    make_app, factory, db_session
):
    """The reviewer's request renders a page the worker has not reached; it takes too long,
    the answer is a 404, and the version's failure is kept (no reviewer waits for it again)."""
    app = make_app(RENDER_TIMEOUT_SECONDS="2")
    designer = factory.user()
    proof = factory.proof(designer, data=raw_pdf(QUICK_PAGE, SLOW_PAGE), filename="two.pdf")
    client = app.test_client()
    login(client, designer)
    assert client.get(f"/proofs/{proof.id}/v/1/pages/2").status_code == 404
    db_session.expire_all()
    version = db_session.get(Proof, proof.id).versions[0]
    assert version.render_status == RenderStatus.FAILED
    assert version.render_error == "Page 2 takes too long to render."


def test_the_login_session_is_touched_and_ended_with_the_requests_changes(
    app, client, factory, db_session
):
    user = factory.user()
    login(client, user)
    row = db_session.scalar(sa.select(UserSession).where(UserSession.user_id == user.id))
    row.last_seen_at = utcnow() - dt.timedelta(minutes=5)
    db_session.commit()
    assert client.get("/proofs").status_code == 200
    db_session.expire_all()
    assert utcnow() - row.last_seen_at < dt.timedelta(minutes=1)  # touched, and committed
    row.last_seen_at = utcnow() - dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    db_session.commit()
    assert client.get("/proofs").status_code == 302  # idle too long: back to the login
    assert db_session.scalar(sa.select(UserSession).where(UserSession.user_id == user.id)) is None


# ---- the file clean-up of the app's sessions --------------------------------------------------


def test_files_are_cleaned_up_on_the_apps_sessions_and_no_others(app, tmp_path):
    storage = LocalStorage(str(tmp_path / "files"))
    for key, session in (
        ("the-apps.jpg", app.extensions["db_sessionmaker"]()),
        ("another.jpg", Session(app.extensions["db_engine"])),
    ):
        session.execute(sa.select(1))
        track_new_file(session, storage, key)
        storage.save(key, io.BytesIO(b"page"), "image/jpeg")
        session.rollback()
        session.close()
    assert not storage.exists("the-apps.jpg")  # written in a transaction that did not commit
    assert storage.exists("another.jpg")  # a session of someone else's: left alone
