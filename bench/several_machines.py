"""The several-machines check: two app servers and three workers on one PostgreSQL, moto's S3
server and Redis. A proof uploaded through one app server is reviewed through the other, a
session and the login throttle span both, and every notification is sent exactly once.

`run_several_machines()` raises CheckFailed (an AssertionError) saying what went wrong, or
PartMissing when PostgreSQL, Redis or moto is not there, and returns the timings it took."""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bench.cluster import (
    POSTGRES_ADMIN_URL,
    CheckFailed,
    Cluster,
    PartMissing,
    cluster,
    expect,
    object_keys,
    stop,
    wait_for_progress,
)
from bench.web_checks import (
    HTTP_LIMIT,
    PASSWORD,
    log_in,
    review_elsewhere,
    session_ends_everywhere,
    share_link_on_both,
    three_page_pdf,
    throttle_spans_servers,
    upload_proof,
)

__all__ = ["CheckFailed", "PartMissing", "run_several_machines"]


@dataclass(frozen=True)
class People:
    designer_email: str
    customer_id: int
    throttled_email: str


def run_several_machines(
    proofs: int = 1,
    notifications: int = 1000,
    *,
    workdir: Path | None = None,
    postgres_admin_url: str = POSTGRES_ADMIN_URL,
    redis_url: str | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Run the whole check; the figures it measured on the way. `progress` is told each
    step as it ends, with the seconds since the start. Without `redis_url`, the check starts
    a redis-server of its own (the machine's Redis is not written to)."""
    expect(proofs >= 1 and notifications >= 1, "need at least one proof and one notification")
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="proofdesk-machines-") as folder:
            return run_several_machines(
                proofs,
                notifications,
                workdir=Path(folder),
                postgres_admin_url=postgres_admin_url,
                redis_url=redis_url,
                progress=progress,
            )
    results: dict[str, Any] = {
        "app_servers": 2,
        "workers": 3,
        "proofs": proofs,
        "notifications": notifications,
        "steps": {},
    }
    began = time.monotonic()

    def done(step: str) -> None:
        results["steps"][step] = round(time.monotonic() - began, 2)
        progress(f"{results['steps'][step]:7.1f} s  {step}")

    with cluster(workdir, postgres_admin_url=postgres_admin_url, redis_url=redis_url) as (
        machines,
        sink,
        s3,
    ):
        done("started 2 app servers and 3 workers")
        engine = sa.create_engine(machines.settings["DATABASE_URL"])
        db = sessionmaker(engine, expire_on_commit=False)
        try:
            try:
                _check(machines, sink, s3, db, proofs, notifications, results, done)
            except CheckFailed as exc:
                raise CheckFailed(f"{exc}\n{machines.logs()}") from None
        finally:
            engine.dispose()
    return results


def _check(
    machines: Cluster,
    sink: Any,
    s3: Any,
    db: sessionmaker[Session],
    proofs: int,
    notifications: int,
    results: dict[str, Any],
    done: Callable[[str], None],
) -> None:
    one, two = (server.url or "" for server in machines.app_servers)
    people = seed(db)
    on_one = log_in(one, people.designer_email)
    started = time.monotonic()
    artwork = three_page_pdf()
    uploads = [
        upload_proof(
            on_one, one, people.customer_id, artwork, title=f"Shop sign {n}", notify=n == 1
        )
        for n in range(1, proofs + 1)
    ]
    results["upload_seconds"] = [seconds for _, seconds in uploads]
    queue_notifications(db, proof_id=uploads[0][0], count=notifications - 1)
    done(f"uploaded {proofs} proof(s) through app server 1, queued the notifications")

    on_two = requests.Session()
    on_two.cookies.update(on_one.cookies)  # the same browser, now sent to the other server
    expect(
        "Log in" in requests.get(f"{two}/proofs", timeout=HTTP_LIMIT).text,
        "app server 2 showed My Proofs without a session",
    )
    reviews = [review_elsewhere(on_two, two, proof_id, artwork) for proof_id, _ in uploads]
    results["review_page_seconds"] = [r["page_seconds"] for r in reviews]
    results["page_3_seconds"] = [r["page_3_seconds"] for r in reviews]
    results["page_3_rendered_by"] = [r["page_3_rendered_by"] for r in reviews]
    done("reviewed through app server 2")
    share_link_on_both(on_two, one, two, uploads[0][0])
    done("share link and comments on both")
    session_ends_everywhere(on_two, one, two, db)
    done("session across both, logout on 2 ends it on 1")
    throttle_spans_servers(
        one, two, people.throttled_email, db, machines.settings["RATELIMIT_STORAGE_URI"]
    )
    done("login throttle across both")
    wait_for_renders(machines, db, proofs)
    done("every page rendered")
    results.update(all_sent(machines, sink, db, notifications, started))
    done(f"{notifications} notifications each sent once")
    check_bucket(s3, machines.settings["S3_BUCKET"], db, proofs)
    for machine in machines.app_servers:
        expect(
            not (machine.folder / "uploads").exists(),
            f"{machine.name} wrote uploads to its own disk",
        )
    codes = stop(machines.machines)
    expect(codes == [0] * len(codes), f"processes exited with {codes} after SIGTERM")
    for machine in machines.machines:
        expect("Traceback" not in machine.output(), f"{machine.name} logged an error")


# ---- the people and the outbox, written as an operator's script would ------------------------


def seed(db: sessionmaker[Session]) -> People:
    from proofdesk.accounts.services import create_user
    from proofdesk.customers.services import create_customer

    with db() as session:
        create_user(
            session,
            email="designer@studio.test",
            name="Dana Designer",
            role="designer",
            password=PASSWORD,
        )
        create_user(
            session,
            email="target@studio.test",
            name="Theo Target",
            role="designer",
            password=PASSWORD,
        )
        customer = create_customer(
            session,
            name="Corner Bakery",
            email="orders@bakery.test",
            company="Corner Bakery",
            created_by_id=None,
        )
        session.commit()
        return People("designer@studio.test", customer.id, "target@studio.test")


def queue_notifications(db: sessionmaker[Session], *, proof_id: int, count: int) -> None:
    """More "proof ready" emails for the uploaded proof, queued in one transaction."""
    from proofdesk.notifications import services
    from proofdesk.proofs.models import Proof

    with db() as session:
        proof = session.get(Proof, proof_id)
        assert proof is not None
        for n in range(count):
            services.queue(
                session,
                kind="proof",
                customer=proof.customer,
                subject=f"Proof {n}",
                base_url="https://proofs.example.test",
                proof_id=proof.id,
                version_number=1,
                designer_id=proof.designer_id,
            )
        session.commit()


# ---- what the workers did --------------------------------------------------------------------


def all_sent(
    machines: Cluster, sink: Any, db: sessionmaker[Session], total: int, started: float
) -> dict[str, Any]:
    """Every notification sent once: as many distinct Message-IDs as rows, one attempt each."""
    from proofdesk.notifications.models import CustomerNotification as Note

    def counts() -> Counter[str]:
        with db() as session:
            return Counter(
                dict(
                    session.execute(  # type: ignore[arg-type]
                        sa.select(Note.status, sa.func.count()).group_by(Note.status)
                    ).all()
                )
            )

    wait_for_progress(
        counts,
        lambda seen: seen["sent"] >= total,
        "notifications being sent",
        check=machines.check_running,
    )
    seconds = time.monotonic() - started
    stop(machines.workers)  # anything sent twice would be sent by now
    expect(
        [w.process.returncode for w in machines.workers] == [0] * len(machines.workers),
        "a worker did not stop cleanly on SIGTERM",
    )
    with db() as session:
        notes = list(session.scalars(sa.select(Note)))
    # A row is "sent" after the server's 250: every message is in by now.
    received = [message["Message-ID"] for message in sink.inbox.wait_for(total, timeout=60)]
    twice = [mid for mid, n in Counter(received).items() if n > 1]
    expect(not twice, f"{len(twice)} emails arrived more than once, e.g. {twice[:3]}")
    expect(
        len(notes) == total and len(received) == total,
        f"{len(notes)} rows, {len(received)} emails; expected {total} of each",
    )
    expect(
        sorted(received) == sorted(n.message_id for n in notes),
        "the emails' Message-IDs differ from the rows'",
    )
    expect(
        {(n.status, n.attempts, n.mailer) for n in notes} == {("sent", 1, "default")},
        f"rows not all sent by the default mailer at the first attempt: "
        f"{Counter((n.status, n.attempts, n.mailer) for n in notes)}",
    )
    sent_at = sorted(n.sent_at for n in notes if n.sent_at)
    sending = max((sent_at[-1] - sent_at[0]).total_seconds(), 1e-3)
    return {
        "emails_received": len(received),
        "distinct_message_ids": len(set(received)),
        "notifications_all_sent_seconds": seconds,
        "notifications_per_second": total / sending,
    }


def wait_for_renders(machines: Cluster, db: sessionmaker[Session], proofs: int) -> None:
    """The workers finish every version: pages nobody asked for yet are rendered, and a
    version whose pages a reviewer's requests rendered first is marked done."""
    from proofdesk.proofs.models import ProofVersion

    def states() -> list[tuple[int, str, int]]:
        with db() as session:
            return [
                (v.id, v.render_status, v.pages_rendered)
                for v in session.scalars(sa.select(ProofVersion).order_by(ProofVersion.id))
            ]

    wait_for_progress(
        states,
        lambda seen: (
            len(seen) == proofs and {(status, pages) for _, status, pages in seen} == {("done", 3)}
        ),
        "pages being rendered",
        check=machines.check_running,
    )


def check_bucket(s3: Any, bucket: str, db: sessionmaker[Session], proofs: int) -> None:
    """The bucket holds exactly the originals and pages the rows name: nothing lost, no
    leftovers from two processes rendering the same page."""
    from proofdesk.proofs.models import ProofPage, ProofVersion

    with db() as session:
        named = list(session.scalars(sa.select(ProofVersion.file_key)))
        for page in session.scalars(sa.select(ProofPage)):
            named += [page.image_key, page.thumb_key]
    expect(len(named) == proofs * 7, f"{len(named)} files named in the database")
    stored = object_keys(s3, bucket)
    expect(
        stored == sorted(f"studio/{key}" for key in named),
        f"bucket and database differ: {sorted(set(stored) ^ {f'studio/{k}' for k in named})}",
    )


if __name__ == "__main__":  # python -m bench.several_machines [NOTIFICATIONS [PROOFS]]
    import json
    import logging
    import sys

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    figures = run_several_machines(
        notifications=int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
        proofs=int(sys.argv[2]) if len(sys.argv) > 2 else 1,
        progress=print,
    )
    print(json.dumps(figures, indent=2))
