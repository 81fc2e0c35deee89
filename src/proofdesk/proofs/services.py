"""Proofs and versions: upload, new version, My Proofs listing, and preview rendering."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from proofdesk import activity, queue
from proofdesk.accounts.models import User
from proofdesk.activity import ActivityKind
from proofdesk.customers.models import Customer
from proofdesk.db import LIKE_ESCAPE, contains_pattern, utcnow
from proofdesk.errors import ServiceError
from proofdesk.proofs import files, reminders, render_process
from proofdesk.proofs.emails import notify_customer
from proofdesk.proofs.models import (
    STATUSES,
    FileKind,
    Proof,
    ProofPage,
    ProofStatus,
    ProofVersion,
    RenderStatus,
)
from proofdesk.storage import Storage, track_new_file

PAGE_SIZE = 25
RENDER_LEASE = dt.timedelta(minutes=5)
RENDER_BATCH = 5


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    max_pages: int
    render: render_process.RenderLimits

    @classmethod
    def from_config(cls, config: dict[str, int]) -> Limits:
        return cls(
            max_bytes=config["MAX_UPLOAD_MB"] * 1024 * 1024,
            max_pixels=config["MAX_IMAGE_MEGAPIXELS"] * 1_000_000,
            max_pages=config["MAX_PDF_PAGES"],
            render=render_process.RenderLimits.from_config(config),
        )


@dataclass(frozen=True)
class Upload:
    stream: IO[bytes]
    filename: str


def _clean_filename(name: str) -> str:
    """The name as the person knows it, safe to show and to put in a header."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in "\r\n\0")
    return name.strip()[:200] or "artwork"


def _store_page(
    session: Session, storage: Storage, version: ProofVersion, prefix: str, page: files.RenderedPage
) -> ProofPage:
    image_key = f"{prefix}/page-{page.number}.jpg"
    thumb_key = f"{prefix}/thumb-{page.number}.jpg"
    for key, data in ((image_key, page.preview), (thumb_key, page.thumb)):
        track_new_file(session, storage, key)
        storage.save(key, io.BytesIO(data), "image/jpeg")
    row = _page_row(version, page, image_key, thumb_key)
    session.add(row)
    return row


def _page_row(
    version: ProofVersion, page: files.RenderedPage, image_key: str, thumb_key: str
) -> ProofPage:
    return ProofPage(
        version_id=version.id,
        number=page.number,
        image_key=image_key,
        thumb_key=thumb_key,
        width=page.width,
        height=page.height,
    )


def _stored_pages(version: ProofVersion) -> sa.Select[ProofPage]:
    """The query for a version's pages as the database has them now (another process may
    have rendered some since `version.pages` was loaded)."""
    return sa.select(ProofPage).where(ProofPage.version_id == version.id)


def _add_version_row(
    session: Session,
    *,
    storage: Storage,
    proof: Proof,
    number: int,
    upload: Upload,
    limits: Limits,
    uploaded_by: User,
) -> ProofVersion:
    artwork = files.inspect(
        upload.stream,
        max_bytes=limits.max_bytes,
        max_pixels=limits.max_pixels,
        max_pages=limits.max_pages,
    )
    prefix = f"versions/{uuid.uuid4().hex}"
    file_key = f"{prefix}/original.{artwork.extension}"
    track_new_file(session, storage, file_key)
    storage.save(file_key, upload.stream, artwork.content_type)
    version = ProofVersion(
        proof=proof,
        number=number,
        file_key=file_key,
        original_filename=_clean_filename(upload.filename),
        content_type=artwork.content_type,
        kind=artwork.kind,
        size_bytes=artwork.size,
        sha256=artwork.sha256,
        page_count=artwork.page_count,
        uploaded_by_id=uploaded_by.id,
    )
    session.add(version)
    session.flush()
    # Page 1 now, so the proof has a preview at once; the worker renders the rest.
    if artwork.kind == FileKind.IMAGE:
        upload.stream.seek(0)
        first = files.render_image(upload.stream.read(), artwork.content_type, limits.max_pixels)
    else:
        first = _first_pdf_page(upload.stream, limits.render)
    _store_page(session, storage, version, prefix, first)
    version.pages_rendered = 1
    version.render_status = RenderStatus.DONE if artwork.page_count == 1 else RenderStatus.PENDING
    return version


def _first_pdf_page(stream: IO[bytes], bounds: render_process.RenderLimits) -> files.RenderedPage:
    """Page 1 at upload, or a ServiceError that says why the PDF cannot be shown."""
    try:
        return render_process.render_pdf_pages(stream, [1], bounds=bounds)[0]
    except render_process.RenderError as exc:
        if exc.reason == "timeout":
            message = (
                f"The PDF takes too long to render (page 1 needs more than "
                f"{bounds.timeout:g} seconds). Simplify it, for example flatten "
                "transparency or rasterise very detailed vector art, and upload it again."
            )
        elif exc.reason == "memory":
            message = (
                "The PDF needs too much memory to render. Export it again with smaller "
                "images or at a lower resolution."
            )
        else:  # damaged, or the renderer died (PDFium ends the process when out of memory)
            message = (
                "The PDF is damaged or too complex, and its first page cannot be "
                "rendered. Export it again and upload the new file."
            )
        raise ServiceError(message, "file") from exc


def create_proof(
    session: Session,
    *,
    storage: Storage,
    designer: User,
    customer_id: int,
    title: str,
    message: str | None,
    due_date: dt.date | None,
    upload: Upload,
    limits: Limits,
    ip: str | None,
    require_terms: bool = False,
    notify_config: dict[str, Any] | None = None,
    reminder_days: str | None = None,
) -> Proof:
    """A new proof with its version 1 and share link; with `notify_config` ("Notify customer
    now" ticked: the settings its email is made from) the customer's email is queued too."""
    title = " ".join(title.split())  # one line: it becomes an email subject
    if not title:
        raise ServiceError("Enter a title.", "title")
    # A posted id may be any number; one past the id column's range would be a database error.
    customer = session.get(Customer, customer_id) if 0 < customer_id < 2**31 else None
    if customer is None:
        raise ServiceError("Choose a customer.", "customer_id")
    now = utcnow()
    proof = Proof(
        designer_id=designer.id,
        customer_id=customer.id,
        title=title[:200],
        message=(message or "").strip() or None,
        due_date=due_date,
        status=ProofStatus.AWAITING_REVIEW,
        current_version=1,
        created_at=now,
        last_activity_at=now,
        require_terms=require_terms,
        reminder_days=reminders.clean_days(reminder_days),
    )
    session.add(proof)
    _add_version_row(
        session,
        storage=storage,
        proof=proof,
        number=1,
        upload=upload,
        limits=limits,
        uploaded_by=designer,
    )
    from proofdesk.review.services import issue_share_link

    issue_share_link(session, proof=proof, by=designer, ip=ip, record_activity=False)
    activity.record(
        session,
        kind=ActivityKind.PROOF_UPLOADED,
        actor=designer.name,
        ip=ip,
        proof_id=proof.id,
        user_id=designer.id,
        detail=f"v1: {_clean_filename(upload.filename)}",
    )
    _notify_if_asked(session, proof, 1, message, notify_config)
    return proof


def add_version(
    session: Session,
    *,
    storage: Storage,
    proof: Proof,
    upload: Upload,
    limits: Limits,
    uploaded_by: User,
    ip: str | None,
    message: str | None = None,
    notify_config: dict[str, Any] | None = None,
) -> ProofVersion:
    """The proof's next version; with `notify_config`, the customer's email is queued too (as
    for `create_proof`)."""
    # Lock the proof row so two uploads at once get numbers n+1 and n+2.
    session.execute(sa.select(Proof.id).where(Proof.id == proof.id).with_for_update())
    session.refresh(proof)
    number = proof.current_version + 1
    version = _add_version_row(
        session,
        storage=storage,
        proof=proof,
        number=number,
        upload=upload,
        limits=limits,
        uploaded_by=uploaded_by,
    )
    proof.current_version = number
    proof.status = ProofStatus.AWAITING_REVIEW
    proof.last_activity_at = utcnow()
    if message and message.strip():
        proof.message = message.strip()
    activity.record(
        session,
        kind=ActivityKind.VERSION_UPLOADED,
        actor=uploaded_by.name,
        ip=ip,
        proof_id=proof.id,
        user_id=uploaded_by.id,
        detail=f"v{number}: {version.original_filename}",
    )
    _notify_if_asked(session, proof, number, message, notify_config)
    return version


def _notify_if_asked(
    session: Session,
    proof: Proof,
    version_number: int,
    message: str | None,
    config: dict[str, Any] | None,
) -> None:
    """ "Notify customer now": the email goes to the outbox in the upload's transaction, with
    the upload's message."""
    if config is None:
        return
    notify_customer(
        session,
        proof=proof,
        version_number=version_number,
        custom_message=message,
        config=config,
    )


FULL_LIST = 1000  # up to this many customers, the upload form lists them all


def customer_choices(
    session: Session, *, designer: User, selected: int | None
) -> list[tuple[int, str]]:
    """The upload form's customers: every customer for a small studio; for a big one, this
    designer's recent customers (and the one chosen). Any existing customer is accepted by
    `create_proof`, which checks."""
    label = sa.func.coalesce(Customer.name + " (" + Customer.company + ")", Customer.name)
    count = session.scalar(sa.select(sa.func.count()).select_from(Customer)) or 0
    if count <= FULL_LIST:
        rows = session.execute(sa.select(Customer.id, label).order_by(Customer.name)).all()
    else:
        recent = (
            sa.select(Proof.customer_id)
            .where(Proof.designer_id == designer.id)
            .order_by(Proof.last_activity_at.desc())
            .limit(500)
            .subquery()
        )
        wanted = sa.or_(
            Customer.id.in_(sa.select(recent.c.customer_id)), Customer.id == (selected or 0)
        )
        rows = session.execute(
            sa.select(Customer.id, label).where(wanted).order_by(Customer.name)
        ).all()
    return [(row[0], row[1]) for row in rows]


def list_proofs(
    session: Session,
    *,
    viewer: User,
    status: str | None = None,
    customer_id: int | None = None,
    q: str = "",
    overdue: bool = False,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> tuple[list[Proof], bool]:
    """One page of My Proofs (everyone's for an admin), newest activity first; one query."""
    stmt = (
        sa.select(Proof)
        .options(joinedload(Proof.customer), joinedload(Proof.designer))
        .order_by(Proof.last_activity_at.desc(), Proof.id.desc())
    )
    if not viewer.is_admin:
        stmt = stmt.where(Proof.designer_id == viewer.id)
    if status in STATUSES:
        stmt = stmt.where(Proof.status == status)
    if customer_id:
        stmt = stmt.where(Proof.customer_id == customer_id)
    if overdue:
        stmt = stmt.where(reminders.overdue_clause())
    if q.strip():
        pattern = contains_pattern(q.strip().lower())
        stmt = stmt.where(sa.func.lower(Proof.title).like(pattern, escape=LIKE_ESCAPE))
    rows = list(session.scalars(stmt.offset((page - 1) * page_size).limit(page_size + 1)))
    return rows[:page_size], len(rows) > page_size


def version_of(session: Session, proof: Proof, number: int) -> ProofVersion | None:
    return session.scalar(
        sa.select(ProofVersion)
        .options(joinedload(ProofVersion.pages))
        .where(ProofVersion.proof_id == proof.id, ProofVersion.number == number)
    )


def claim_render_job(session: Session) -> ProofVersion | None:
    """Atomically take one version whose pages still need rendering (lease-based)."""
    claimed = queue.claim(
        session,
        ProofVersion,
        where=_render_due,
        order_by=(ProofVersion.id,),
        limit=1,
        values=lambda now: {
            "render_status": RenderStatus.RENDERING,
            "render_claimed_until": now + RENDER_LEASE,
        },
    )
    return session.get(ProofVersion, claimed[0]) if claimed else None


def _render_due(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        ProofVersion.render_status == RenderStatus.PENDING,
        sa.and_(
            ProofVersion.render_status == RenderStatus.RENDERING,
            ProofVersion.render_claimed_until < now,
        ),
    )


def _store_rendered(
    session: Session, storage: Storage, version: ProofVersion, page: files.RenderedPage
) -> ProofPage:
    """Store a page rendered after the upload. The worker and a reviewer's request may render
    the same page at once: each writes its own files, one row wins, the loser's files go."""
    prefix = version.file_key.rsplit("/", 1)[0]
    suffix = uuid.uuid4().hex[:8]
    image_key = f"{prefix}/page-{page.number}-{suffix}.jpg"
    thumb_key = f"{prefix}/thumb-{page.number}-{suffix}.jpg"
    storage.save(image_key, io.BytesIO(page.preview), "image/jpeg")
    storage.save(thumb_key, io.BytesIO(page.thumb), "image/jpeg")
    try:
        with session.begin_nested():
            row = _page_row(version, page, image_key, thumb_key)
            session.add(row)
        return row
    except sa.exc.IntegrityError:
        storage.delete(image_key)
        storage.delete(thumb_key)
        existing = session.scalar(_stored_pages(version).where(ProofPage.number == page.number))
        assert existing is not None
        return existing


def _rendered_numbers(session: Session, version: ProofVersion) -> set[int]:
    return set(session.scalars(_stored_pages(version).with_only_columns(ProofPage.number)))


def _missing_pages(session: Session, version: ProofVersion) -> list[int]:
    have = _rendered_numbers(session, version)
    return [n for n in range(1, version.page_count + 1) if n not in have]


def _count_pages(session: Session, version: ProofVersion) -> int:
    return len(_rendered_numbers(session, version))


def render_next_pages(
    session: Session,
    *,
    storage: Storage,
    version: ProofVersion,
    bounds: render_process.RenderLimits,
    batch: int = RENDER_BATCH,
) -> None:
    """Render the next few missing pages and give the version back to the queue if pages
    remain, so that one long PDF does not hold up other work. A page that fails undoes the
    batch and marks the version failed (RenderFailed); the worker commits either way."""
    todo = _missing_pages(session, version)[:batch]
    try:
        source = str(storage.local_path(version.file_key))
        for page in render_process.render_pdf_pages(source, todo, bounds=bounds):
            _store_rendered(session, storage, version, page)
    except Exception as exc:  # noqa: BLE001 - a bad page must not stop the worker
        session.rollback()
        _mark_failed(session, version, exc, todo[0] if todo else None)
        raise RenderFailed(str(exc)) from exc
    version.pages_rendered = _count_pages(session, version)
    version.render_status = (
        RenderStatus.DONE if version.pages_rendered >= version.page_count else RenderStatus.PENDING
    )
    version.render_claimed_until = None


def _mark_failed(
    session: Session, version: ProofVersion, exc: Exception, number: int | None
) -> None:
    page = f"Page {number}" if number else "A page"
    timeout = isinstance(exc, render_process.RenderError) and exc.reason == "timeout"
    version.render_status = RenderStatus.FAILED
    version.render_error = (
        f"{page} takes too long to render." if timeout else f"{page} could not be rendered."
    )
    version.render_claimed_until = None


def render_page_now(
    session: Session,
    *,
    storage: Storage,
    version: ProofVersion,
    number: int,
    bounds: render_process.RenderLimits,
) -> ProofPage | None:
    """Render one page at once for a reviewer who scrolled to it before the worker did.
    Another process may render it at the same moment; then its row is used. A page that
    cannot be rendered marks the version failed (no reviewer waits for it again): None."""
    if version.kind != FileKind.PDF or not 1 <= number <= version.page_count:
        return None
    try:
        page = render_process.render_pdf_pages(
            str(storage.local_path(version.file_key)), [number], bounds=bounds
        )[0]
    except render_process.RenderError as exc:
        _mark_failed(session, version, exc, number)
        return None
    row = _store_rendered(session, storage, version, page)
    session.flush()
    version.pages_rendered = _count_pages(session, version)
    return row


class RenderFailed(Exception):
    pass
