"""Sending a version's files and pages to the browser, the same way for staff and links."""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import quote

from flask import Response, abort, current_app, jsonify
from sqlalchemy.orm import Session

from proofdesk.db import get_session, keep_on_error
from proofdesk.proofs.models import Proof, ProofPage, ProofVersion, RenderStatus
from proofdesk.proofs.render_process import RenderLimits
from proofdesk.proofs.services import render_page_now, version_of
from proofdesk.storage import get_storage

IMMUTABLE = "private, max-age=31536000, immutable"


def version_or_404(session: Session, proof: Proof, number: int) -> ProofVersion:
    version = version_of(session, proof, number)
    if version is None:
        abort(404)
    return version


def page_or_render(version: ProofVersion, number: int) -> ProofPage | None:
    """A rendered page; one the worker has not reached yet is rendered now, so a reviewer
    scrolling through a long PDF never waits for the whole file."""
    page = version.page(number)
    if page is None and version.render_status != RenderStatus.FAILED:
        session = get_session()
        page = render_page_now(
            session,
            storage=get_storage(),
            version=version,
            number=number,
            bounds=RenderLimits.from_config(current_app.config),
        )
        if page is None:  # the answer is a 404, and the version stays marked failed
            keep_on_error(session)
    return page


def send_page(version: ProofVersion, number: int, *, thumb: bool) -> Response:
    storage = get_storage()
    page = page_or_render(version, number)
    if page is None:
        abort(404)
    key = page.thumb_key if thumb else page.image_key
    return Response(
        storage.stream(key), mimetype="image/jpeg", headers={"Cache-Control": IMMUTABLE}
    )


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback and the exact UTF-8 name."""
    fallback = (
        "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
        or "artwork"
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


# The extensions a download may keep for each type decided from the content; the first is
# the one given to a name without a matching one.
EXTENSIONS = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg", ".jpe"),
    "image/webp": (".webp",),
    "image/tiff": (".tif", ".tiff"),
    "application/pdf": (".pdf",),
}


def download_name(original: str, content_type: str) -> str:
    """The uploaded name with the extension of the file's real type: a PNG uploaded as
    `invoice.html` is saved as `invoice.png`, so that opening the download never runs it as
    a page (or a program)."""
    extensions = EXTENSIONS.get(content_type, (".bin",))
    path = PurePosixPath(original)
    if path.suffix.lower() in extensions:
        return original
    stem = (path.stem if path.suffix else original).rstrip(". ")
    return (stem or "artwork") + extensions[0]


def send_original(version: ProofVersion) -> Response:
    storage = get_storage()
    name = download_name(version.original_filename, version.content_type)
    return Response(
        storage.stream(version.file_key),
        mimetype=version.content_type,
        headers={
            "Content-Disposition": content_disposition(name),
            "Content-Length": str(version.size_bytes),
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": IMMUTABLE,
        },
    )


def render_status(version: ProofVersion) -> Response:
    return jsonify(
        pages_rendered=version.pages_rendered,
        page_count=version.page_count,
        status=version.render_status,
        rendered=sorted(p.number for p in version.pages),
    )
