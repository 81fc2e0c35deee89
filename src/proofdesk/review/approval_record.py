"""The approval record as a one-page PDF: thumbnail, version, file hash, decision, who, when,
from where, the terms ticked and the threads still open."""

from __future__ import annotations

import io

from fpdf import FPDF
from sqlalchemy.orm import Session

from proofdesk.proofs.models import Proof
from proofdesk.review.models import Decision
from proofdesk.review.threads import threads_for
from proofdesk.storage import Storage

MARGIN = 18


def _latin(text: str) -> str:
    """The core PDF fonts know Latin-1 only; anything else is shown as '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")


def approval_record_pdf(
    session: Session, *, storage: Storage, proof: Proof, decision: Decision
) -> bytes:
    version = decision.version
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(MARGIN, MARGIN)
    pdf.add_page()
    pdf.set_title(_latin(f"Approval record: {proof.title}"))
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, "Approval record", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12)
    pdf.multi_cell(
        0, 6, _latin(f"{proof.title}, for {proof.customer.name}"), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(3)
    first_page = version.page(1)
    top = pdf.get_y()
    if first_page is not None:
        thumb = io.BytesIO(storage.read(first_page.thumb_key))
        pdf.image(thumb, x=MARGIN, y=top, w=60)
    rows = [
        ("Decision", decision.label + (" (withdrawn)" if decision.withdrawn_at else "")),
        ("Version", f"{version.number} of {proof.current_version}: {version.original_filename}"),
        ("File SHA-256", decision.file_sha256 or version.sha256),
        (
            "Decided by",
            decision.reviewer_name
            + (" (customer account)" if decision.customer_id else " (share link, typed name)"),
        ),
        ("When (UTC)", decision.created_at.strftime("%Y-%m-%d %H:%M:%S")),
        ("From IP", decision.ip or "unknown"),
        ("Browser", decision.user_agent or "unknown"),
    ]
    if decision.terms:
        rows.append(("Terms accepted", decision.terms))
    if decision.withdrawn_at:
        rows.append(
            (
                "Withdrawn",
                f"{decision.withdrawn_at:%Y-%m-%d %H:%M} UTC: {decision.withdrawn_reason or ''}",
            )
        )
    if proof.locked_at:
        rows.append(("Locked", f"{proof.locked_at:%Y-%m-%d %H:%M} UTC, for production"))
    x = MARGIN + 66
    pdf.set_xy(x, top)
    for label, value in rows:
        pdf.set_x(x)
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(0, 5, _latin(label), new_x="LMARGIN", new_y="NEXT")
        pdf.set_x(x)
        pdf.set_font("Courier" if label == "File SHA-256" else "Helvetica", "", 9)
        pdf.multi_cell(0, 5, _latin(value), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    pdf.set_y(max(pdf.get_y(), top + 90) + 4)
    open_threads = [t for t in threads_for(session, proof=proof, version=version) if not t.resolved]
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 7, f"Open comments ({len(open_threads)})", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    if not open_threads:
        pdf.cell(0, 5, "None: every comment thread was resolved.", new_x="LMARGIN", new_y="NEXT")
    for thread in open_threads:
        if pdf.get_y() > 270:
            pdf.cell(0, 5, "... more in Proofdesk.", new_x="LMARGIN", new_y="NEXT")
            break
        where = f"#{thread.number}, page {thread.root.page_number}: " if thread.number else ""
        origin = f" (from version {thread.carried_from})" if thread.carried_from else ""
        text = f"{where}{thread.root.author_name}{origin}: {thread.root.body}"
        pdf.multi_cell(0, 5, _latin(text[:600]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(-20)
    pdf.set_font("Helvetica", "I", 8)
    pdf.cell(
        0,
        5,
        "Made by Proofdesk. The SHA-256 identifies the exact file that was decided on.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())
