"""Hostile files through the real upload form, as a designer. Each gets a clear refusal (400
with the message next to the file field, or 413 with a readable page) that leaves no row and
no stray file, or a safe result: the file's own type, served so no browser runs it."""

from __future__ import annotations

import html
import io
import multiprocessing
import re
import resource
import struct
import time
import zipfile
import zlib

import pytest
import sqlalchemy as sa

from proofdesk.proofs import render_process
from proofdesk.proofs.models import Proof, ProofVersion
from proofdesk.worker import run_once
from tests.conftest import login, pdf_bytes, png_bytes
from tests.proofs.test_views import count, stored_files, upload

MB = 1024 * 1024

# ---- building hostile files -----------------------------------------------------------------

QUICK_PAGE = b"0 g 0 0 10 10 re f"
# 400,000 segments stroked with a 0.01 pt dash: tens of millions of dashes, a 7 KB file that
# keeps PDFium busy for half a minute or more.
SLOW_PAGE = b"0.01 w [0.01 0.01] 0 d 0 0 m " + b"600 780 l 0 0 l " * 200_000 + b"S"


def raw_pdf(
    *contents: bytes,
    mediabox: bytes = b"0 0 612 792",
    catalog: bytes = b"",
    page: bytes = b"",
    objects: tuple[bytes, ...] = (),
) -> bytes:
    """A PDF written by hand, a page for each content stream: catalog 1, pages 2, then the
    pages, their content streams and `objects` (a one-page file's first object is 5), with a
    correct cross-reference table."""
    count = len(contents)
    kids = b" ".join(b"%d 0 R" % (3 + n) for n in range(count))
    body = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog + b">>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
    ]
    body += [
        b"<< /Type /Page /Parent 2 0 R /MediaBox ["
        + mediabox
        + b"] /Contents %d 0 R " % (3 + count + n)
        + page
        + b">>"
        for n in range(count)
    ]
    for content in contents:
        stream = zlib.compress(content, 9)
        body.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
            + stream
            + b"\nendstream"
        )
    body += objects
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(body, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(body) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(body) + 1, xref)
    )
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header claims 10 gigapixels, with a tiny compressed IDAT."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096, 9))
        + png_chunk(b"IEND", b"")
    )


def png_then_zip() -> bytes:
    """A real PNG with a ZIP archive (holding an HTML page) appended: a PNG/ZIP polyglot."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.html", "<script>alert(document.cookie)</script>")
    return png_bytes(40, 30) + archive.getvalue()


def png_then_html() -> bytes:
    return png_bytes(40, 30) + b"<html><body><script>alert(document.cookie)</script>"


def pdf_with_javascript() -> bytes:
    action = b"<< /Type /Action /S /JavaScript /JS (app.alert\\(document.cookie\\)) >>"
    return raw_pdf(
        b"0 0 1 rg 100 100 200 200 re f",
        objects=(action,),
        catalog=b"/OpenAction 5 0 R /Names << /JavaScript << /Names [(x) 5 0 R] >> >> ",
    )


def gif_pdf_polyglot() -> bytes:
    """Starts as a GIF (its header and a 1x1 image), and carries a whole PDF after it."""
    gif = (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00"
        b"\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )
    return gif + raw_pdf(QUICK_PAGE)


def pdf_then_gif() -> bytes:
    """A real PDF that also carries a GIF after %%EOF: shown as the PDF it is."""
    return raw_pdf(QUICK_PAGE) + b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"


def slow_pdf() -> bytes:
    return raw_pdf(SLOW_PAGE)


def huge_page_pdf() -> bytes:
    """The largest page PDF allows (200 inches square), magnified a thousand times."""
    return raw_pdf(
        b"1 0 0 rg 0 0 14400 14400 re f", mediabox=b"0 0 14400 14400", page=b"/UserUnit 1000 "
    )


def nested_groups_pdf(levels: int = 40) -> bytes:
    """A 16-inch page (a 2400-pixel preview) holding transparency groups nested `levels`
    deep, each half transparent: PDFium keeps a page-sized bitmap for every level."""
    size = 1152
    objects = [b"<< /Type /ExtGState /ca 0.5 >>"]  # object 5
    for level in range(levels):  # objects 6, 7, …: group n draws group n + 1
        inner = 6 + level + 1
        last = level == levels - 1
        content = b"/Half gs 0 0 1 rg 0 0 %d %d re f" % (size, size) + (b"" if last else b" /G Do")
        xobject = b"" if last else b"/XObject << /G %d 0 R >> " % inner
        objects.append(
            b"<< /Type /XObject /Subtype /Form /BBox [0 0 %d %d] " % (size, size)
            + b"/Group << /S /Transparency >> /Resources << /ExtGState << /Half 5 0 R >> "
            + xobject
            + b">> /Length %d >>\nstream\n" % len(content)
            + content
            + b"\nendstream"
        )
    return raw_pdf(
        b"/G Do",
        mediabox=b"0 0 %d %d" % (size, size),
        objects=tuple(objects),
        page=b"/Resources << /XObject << /G 6 0 R >> >> ",
    )


# ---- what a refusal and a safe result look like ---------------------------------------------


def field_error(page: str, field: str) -> str:
    """The error shown inside the field's own box on the form."""
    match = re.search(
        r'<div class="field has-error">((?:(?!<div class="field).)*?)</div>',
        page[page.index(f'id="{field}"') - 400 :],
        re.S,
    )
    assert match and f'id="{field}"' in match.group(1), "no error next to the field"
    errors = re.findall(r'<p class="error" role="alert">(.*?)</p>', match.group(1), re.S)
    return html.unescape(" ".join(errors))


def assert_refused(app, db_session, response, message: str) -> None:
    assert response.status_code == 400, response.status_code
    assert message in field_error(response.get_data(as_text=True), "file")
    assert count(db_session, Proof) == 0 and count(db_session, ProofVersion) == 0
    assert stored_files(app) == []


@pytest.fixture
def designer_client(client, factory):
    designer, customer = factory.user(), factory.customer()
    login(client, designer)
    client.customer_id = customer.id
    return client


REFUSED = {
    "html-named-pdf": (
        b"<!doctype html><script>alert(1)</script>",
        "menu.pdf",
        "This is not a file Proofdesk can show",
    ),
    "png-magic-then-html": (
        b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>",
        "art.png",
        "The image is damaged or incomplete",
    ),
    "gif-pdf-polyglot": (gif_pdf_polyglot(), "art.pdf", "This is not a file Proofdesk can show"),
    "png-bomb-10-gigapixels": (png_bomb(), "bomb.png", "The image is too large to show"),
    "truncated-pdf": (pdf_bytes(2)[:700], "cut.pdf", "The PDF is damaged"),
    "corrupt-pdf": (b"%PDF-1.7\n" + bytes(range(256)) * 40, "noise.pdf", "The PDF is damaged"),
    "pdf-header-only": (b"%PDF-1.4\n%%EOF\n", "empty.pdf", "The PDF is damaged"),
    "empty-file": (b"", "nothing.png", "The file is empty"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_hostile_file_is_refused_next_to_the_field(app, designer_client, db_session, name):
    data, filename, message = REFUSED[name]
    response = upload(designer_client, designer_client.customer_id, data, filename)
    assert_refused(app, db_session, response, message)


def test_bomb_over_a_low_megapixel_setting_is_refused(make_app, factory, db_session):
    app = make_app(MAX_IMAGE_MEGAPIXELS="2")
    client = app.test_client()
    login(client, factory.user())
    response = upload(client, factory.customer().id, png_bytes(2000, 1500), "big.png")
    assert_refused(app, db_session, response, "at most 2 megapixels")


def test_oversized_file_gets_413_and_a_readable_page(make_app, factory, db_session):
    app = make_app(MAX_UPLOAD_MB="1")
    client = app.test_client()
    login(client, factory.user())
    response = upload(
        client, factory.customer().id, b"%PDF-1.7\n" + b"0" * (2 * 1024 * 1024), "huge.pdf"
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "<h1>File too large</h1>" in page and "larger than 1 MB" in page
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert count(db_session, Proof) == 0 and stored_files(app) == []


def test_slow_pdf_is_stopped_by_the_render_timeout(make_app, factory, db_session):
    app = make_app(RENDER_TIMEOUT_SECONDS="1")
    client = app.test_client()
    login(client, factory.user())
    started = time.monotonic()
    response = upload(client, factory.customer().id, slow_pdf(), "detailed.pdf")
    assert time.monotonic() - started < 15  # killed after 1 s, not rendered to the end
    assert_refused(app, db_session, response, "The PDF takes too long to render")


def test_pdf_needing_more_memory_than_allowed_is_bounded(make_app, factory, db_session):
    app = make_app(RENDER_MEMORY_MB="200")
    client = app.test_client()
    login(client, factory.user())
    response = upload(client, factory.customer().id, nested_groups_pdf(), "layers.pdf")
    if response.status_code == 400:  # PDFium gave up on an allocation, or died
        message = field_error(response.get_data(as_text=True), "file")
        assert "too much memory" in message or "too complex" in message, message
        assert count(db_session, Proof) == 0 and stored_files(app) == []
    else:  # PDFium left out what it could not allocate
        assert response.status_code == 302


def _render_and_measure(data: bytes, memory_mb: int, conn) -> None:
    """In a fresh process (so its children's peak memory starts at zero): render with the
    render process and report the outcome, the memory it started with and its child's peak."""
    with open("/proc/self/status") as status:
        start = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    try:
        render_process.render_pdf_pages(
            data, [1], bounds=render_process.RenderLimits(60, memory_mb)
        )
        outcome = "rendered"
    except render_process.RenderError as exc:
        outcome = exc.reason
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    conn.send((outcome, start * 1024, peak * 1024))


def test_render_memory_stays_under_the_bound():
    """40 nested transparency groups on a 16-inch page: PDFium alone would take about 1.8 GB.
    In the render process the child never holds more than it inherited plus RENDER_MEMORY_MB."""
    fork = multiprocessing.get_context("fork")
    receive, send = fork.Pipe(duplex=False)
    helper = fork.Process(target=_render_and_measure, args=(nested_groups_pdf(), 200, send))
    helper.start()
    assert receive.poll(120), "the render process did not answer"
    outcome, start, peak = receive.recv()
    helper.join()
    assert outcome in {"rendered", "memory", "crashed", "damaged"}
    assert peak < start + 200 * MB, f"peak {peak // MB} MB, started at {start // MB} MB"


# ---- files that are what they say, carrying something else: a safe result -------------------


def _original(client, proof_id: int):
    response = client.get(f"/proofs/{proof_id}/v/1/file")
    assert response.status_code == 200
    return response


@pytest.mark.parametrize(
    "name,data,content_type",
    [
        ("png-zip-polyglot", png_then_zip(), "image/png"),
        ("png-html-polyglot", png_then_html(), "image/png"),
        ("pdf-with-javascript", pdf_with_javascript(), "application/pdf"),
        ("pdf-then-gif", pdf_then_gif(), "application/pdf"),
        ("huge-page-pdf", huge_page_pdf(), "application/pdf"),
    ],
)
def test_polyglot_is_kept_as_its_own_type_and_served_inert(
    app, designer_client, db_session, name, data, content_type
):
    response = upload(designer_client, designer_client.customer_id, data, f"{name}.html")
    assert response.status_code == 302
    version = db_session.scalar(sa.select(ProofVersion))
    assert (version.content_type, version.pages_rendered) == (content_type, 1)
    assert not version.file_key.endswith(".html")  # stored under a generated name
    original = _original(designer_client, version.proof_id)
    assert original.data == data
    assert original.headers["Content-Type"] == content_type
    assert original.headers["X-Content-Type-Options"] == "nosniff"
    assert original.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert original.headers["Content-Disposition"].startswith("attachment;")
    preview = designer_client.get(f"/proofs/{version.proof_id}/v/1/pages/1")
    assert preview.status_code == 200 and preview.mimetype == "image/jpeg"
    assert preview.data.startswith(b"\xff\xd8\xff")  # a JPEG the server made, not the upload


@pytest.mark.parametrize(
    "filename",
    [
        "../../../../etc/passwd.png",
        "..\\..\\windows\\win.ini.png",
        "a\x00b.png",
        "evil\r\nX-Injected: 1.png",
        "\r\n\r\n<script>alert(1)</script>.png",
        "/.png",
        "..",
        "\u202egnp.exe",
        "😀" * 300 + ".png",
        "con.png",
        ".htaccess",
    ],
)
def test_hostile_file_names_are_stored_safely(app, designer_client, db_session, filename):
    response = upload(designer_client, designer_client.customer_id, png_bytes(40, 30), filename)
    if response.status_code == 400:
        # A line break in the name breaks the multipart encoding (a browser sends it as
        # %0D%0A): the file arrives as a text field (with NULs: a bad request) or not at all.
        page = response.get_data(as_text=True)
        assert "<h1>Bad request</h1>" in page or "Choose the artwork file." in field_error(
            page, "file"
        )
        assert count(db_session, ProofVersion) == 0 and stored_files(app) == []
        return
    assert response.status_code == 302
    version = db_session.scalar(sa.select(ProofVersion))
    name = version.original_filename
    assert name and len(name) <= 200
    assert not any(ch in name for ch in "/\\\r\n\x00")
    # Only generated names on disk, all inside the upload folder.
    for path in stored_files(app):
        assert path.resolve().is_relative_to(app.config["UPLOAD_FOLDER"])
        assert re.fullmatch(r"(original\.png|(page|thumb)-\d+\.jpg)", path.name), path.name
    disposition = _original(designer_client, version.proof_id).headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.isascii()


def test_worker_marks_a_slow_page_failed_and_goes_on(make_app, factory, db_session):
    """Page 1 renders at upload; a later page that takes too long is stopped by the timeout
    in the worker, the version is marked failed with a reason, and the worker keeps going."""
    app = make_app(RENDER_TIMEOUT_SECONDS="2")
    designer = factory.user()
    proof = factory.proof(designer, data=raw_pdf(QUICK_PAGE, SLOW_PAGE), filename="two.pdf")
    started = time.monotonic()
    assert run_once(app) >= 1
    assert time.monotonic() - started < 20
    db_session.expire_all()
    version = db_session.get(Proof, proof.id).versions[0]
    assert (version.render_status, version.pages_rendered) == ("failed", 1)
    assert version.render_error == "Page 2 takes too long to render."
    client = app.test_client()
    login(client, designer)
    assert client.get(f"/proofs/{proof.id}/v/1/pages/2").status_code == 404
    assert client.get(f"/proofs/{proof.id}/v/1/pages/1").status_code == 200
