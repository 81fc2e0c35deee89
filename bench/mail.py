"""Mail: the worker's send rate to a local SMTP sink against a plain smtplib loop sending the
same message to the same sink (the limit), with 1 and 4 workers; and the time from "Notify
customer now" (the outbox row committed) to the message arriving."""

from __future__ import annotations

import random
import smtplib
import statistics
import time
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any

from flask import Flask

from bench.procs import BIN, Processes, free_port

FROM = "studio@proofs.example.test"


def arrivals(path: Path) -> dict[str, float]:
    if not path.exists():
        return {}
    found = {}
    for line in path.read_text().splitlines():
        stamp, _, message_id = line.partition(" ")
        found[message_id] = float(stamp)
    return found


def wait_for(path: Path, message_ids: list[str], timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    wanted = set(message_ids)
    while True:
        seen = arrivals(path)
        if wanted <= seen.keys():
            return {m: seen[m] for m in message_ids}
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{len(wanted - seen.keys())} of {len(wanted)} messages did "
                f"not arrive within {timeout:.0f} s"
            )
        time.sleep(0.05)


def queue(app: Flask, proof_ids: list[int]) -> tuple[list[str], float]:
    """ "Notify customer now" for these proofs, in one transaction; the Message-IDs and the
    time of the commit."""
    from proofdesk.db import get_session
    from proofdesk.proofs.emails import notify_customer
    from proofdesk.proofs.models import Proof

    with app.app_context():
        session = get_session()
        notes = []
        for proof_id in proof_ids:
            proof = session.get(Proof, proof_id)
            assert proof is not None
            notes.append(
                notify_customer(
                    session,
                    proof=proof,
                    version_number=proof.current_version,
                    custom_message=None,
                    config=app.config,
                )
            )
        session.commit()
        committed = time.time()
        return [n.message_id for n in notes], committed


def sample_message(app: Flask, proof_id: int) -> EmailMessage:
    """The message the worker sends for a proof, built by the app's own code."""
    from proofdesk.db import get_session
    from proofdesk.mail import build_message, message_id_for, render_email
    from proofdesk.notifications.content import content_for
    from proofdesk.notifications.models import CustomerNotification
    from proofdesk.proofs.models import Proof

    with app.app_context():
        session = get_session()
        proof = session.get(Proof, proof_id)
        assert proof is not None
        note = CustomerNotification(
            kind="proof",
            customer=proof.customer,
            proof_id=proof.id,
            version_number=proof.current_version,
            to_address=proof.customer.email,
            subject="",
        )
        template, context = content_for(session, note)
        subject, text, html = render_email(template, **context)
        message = build_message(
            to=proof.customer.email,
            subject=subject,
            text=text,
            html=html,
            from_address=FROM,
            from_name=proof.designer.name,
            reply_to=proof.designer.email,
            message_id=message_id_for(app.config["BASE_URL"]),
        )
        session.rollback()
        return message


def smtplib_loop(
    port: int, message: EmailMessage, count: int, *, reuse: bool, sink: Path
) -> dict[str, float]:
    """MAIL, RCPT, DATA as the worker does them, with a new connection per message (as the
    worker) or one connection for all (the sink's own limit)."""
    ids = []
    started = time.time()
    client = smtplib.SMTP("127.0.0.1", port) if reuse else None
    if client is not None:
        client.ehlo()
    try:
        for n in range(count):
            message_id = f"<loop.{reuse}.{n}.{started}@bench>"
            message.replace_header("Message-ID", message_id)
            data = message.as_bytes(policy=SMTP_POLICY)
            ids.append(message_id)
            if client is None:
                with smtplib.SMTP("127.0.0.1", port) as one:
                    one.ehlo()
                    one.mail(FROM)
                    one.rcpt(message["To"])
                    code, reply = one.data(data)
            else:
                client.mail(FROM)
                client.rcpt(message["To"])
                code, reply = client.data(data)
            if code != 250:
                raise RuntimeError(f"the sink refused the message: {code} {reply!r}")
    finally:
        if client is not None:
            client.quit()
    seen = wait_for(sink, ids, timeout=60)
    seconds = max(seen.values()) - started
    return {"messages": count, "seconds": round(seconds, 2), "rate": round(count / seconds, 1)}


def _start_workers(procs: Processes, env: dict[str, str], count: int, tag: str) -> list[Any]:
    children = [
        procs.start(f"worker-{tag}-{k}", [str(BIN / "proofdesk"), "worker"], env)
        for k in range(count)
    ]
    deadline = time.monotonic() + 60
    while True:
        logs = [(procs.log_dir / f"worker-{tag}-{k}.log").read_text() for k in range(count)]
        if all("worker started" in log for log in logs):
            return children
        if time.monotonic() > deadline or any(c.poll() is not None for c in children):
            raise RuntimeError(f"workers {tag} did not start")
        time.sleep(0.2)


def worker_rate(
    procs: Processes,
    env: dict[str, str],
    app: Flask,
    *,
    workers: int,
    proof_ids: list[int],
    sink: Path,
) -> dict[str, float]:
    children = _start_workers(procs, env, workers, f"rate{workers}")
    try:
        ids, committed = queue(app, proof_ids)
        seen = wait_for(sink, ids, timeout=300)
    finally:
        for child in children:
            procs.stop(child)
    first, last = min(seen.values()), max(seen.values())
    return {
        "workers": workers,
        "messages": len(ids),
        "seconds": round(last - committed, 2),
        "rate": round(len(ids) / (last - committed), 1),
        "steady_rate": round((len(ids) - 1) / max(last - first, 1e-6), 1),
    }


def notify_latency(
    procs: Processes, env: dict[str, str], app: Flask, *, proof_ids: list[int], sink: Path
) -> dict[str, float]:
    """One worker waiting as in production; one notification at a time, at random gaps."""
    children = _start_workers(procs, env, 1, "latency")
    rng = random.Random(5)
    queued: dict[str, float] = {}
    try:
        for proof_id in proof_ids:
            ids, committed = queue(app, [proof_id])
            queued[ids[0]] = committed
            time.sleep(rng.uniform(0.1, 0.4))
        seen = wait_for(sink, list(queued), timeout=120)
    finally:
        for child in children:
            procs.stop(child)
    waits = sorted(seen[m] - queued[m] for m in queued)
    return {
        "messages": len(waits),
        "p50_s": round(statistics.median(waits), 3),
        "p95_s": round(waits[int(0.95 * (len(waits) - 1))], 3),
        "max_s": round(waits[-1], 3),
    }


def queries_per_message(app: Flask, proof_ids: list[int], port: int) -> float:
    """SQL statements the worker's send task runs per message, counted in-process."""
    from sqlalchemy import event

    from proofdesk.notifications.tasks import send_due

    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_SECURITY="none", SMTP_FROM=FROM)
    seen: list[str] = []

    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    queue(app, proof_ids)
    engine = app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", _count)
    try:
        with app.app_context():
            while send_due(app):
                pass
    finally:
        event.remove(engine, "before_cursor_execute", _count)
    return round(len(seen) / len(proof_ids), 1)


def run(
    procs: Processes, env: dict[str, str], app: Flask, *, messages: int, first_proof: int
) -> dict[str, Any]:
    port = free_port()
    sink = procs.log_dir / "sink.txt"
    sink_process = procs.start(
        "mailsink", [str(BIN / "python"), "-m", "bench.mailsink", str(port), str(sink)], env
    )
    try:
        deadline = time.monotonic() + 30
        while "listening" not in (procs.log_dir / "mailsink.log").read_text():
            if time.monotonic() > deadline or sink_process.poll() is not None:
                raise RuntimeError("the SMTP sink did not start")
            time.sleep(0.1)
        worker_env = {
            **env,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(port),
            "SMTP_SECURITY": "none",
            "SMTP_FROM": FROM,
            "LOG_LEVEL": "INFO",
        }
        message = sample_message(app, first_proof)
        results: dict[str, Any] = {"message_bytes": len(message.as_bytes(policy=SMTP_POLICY))}
        results["smtplib_new_connection"] = smtplib_loop(
            port, message, messages, reuse=False, sink=sink
        )
        results["smtplib_one_connection"] = smtplib_loop(
            port, message, messages, reuse=True, sink=sink
        )
        proofs = iter(range(first_proof, first_proof + 10 * messages))
        for count in (1, 4):
            batch = [next(proofs) for _ in range(messages)]
            results[f"worker_{count}"] = worker_rate(
                procs, worker_env, app, workers=count, proof_ids=batch, sink=sink
            )
            print(
                f"  {count} worker(s): {results[f'worker_{count}']['rate']:.0f} messages/s",
                flush=True,
            )
        limit = results["smtplib_new_connection"]["rate"]
        for count in (1, 4):
            results[f"worker_{count}"]["share_of_smtplib"] = round(
                results[f"worker_{count}"]["rate"] / limit, 3
            )
        results["queries_per_message"] = queries_per_message(
            app, [next(proofs) for _ in range(20)], port
        )
        results["notify_latency"] = notify_latency(
            procs, worker_env, app, proof_ids=[next(proofs) for _ in range(40)], sink=sink
        )
    finally:
        procs.stop(sink_process)
    return results
