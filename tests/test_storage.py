"""The storage interface: a local folder and an S3 bucket (moto's real S3 server) behave alike,
and a failed upload leaves no file behind in either."""

from __future__ import annotations

import gc
import io
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from proofdesk.proofs import files, render_process
from proofdesk.proofs.models import Proof, ProofVersion
from proofdesk.storage import CHUNK, LocalStorage, S3Storage, Storage, track_new_file
from tests.conftest import Factory, csrf_token, login, pdf_bytes, png_bytes, skip_or_fail

MB = 1024 * 1024
ESCAPING_KEYS = ["../x", "a/../../x", "/etc/passwd", "", "a//b", "./x", "a\\..\\x"]


# ---- moto's S3 server ------------------------------------------------------------------------


def _moto_server_class() -> type:
    from moto.server import ThreadedMotoServer

    class MotoServer(ThreadedMotoServer):  # type: ignore[misc]
        """ThreadedMotoServer waits forever for a server that failed to bind; report it."""

        failure: BaseException | None = None

        def _server_entry(self) -> None:
            try:
                super()._server_entry()
            except BaseException as exc:  # noqa: BLE001 - handed to the test session
                self.failure = exc
                self._server_ready_event.set()

    return MotoServer


def s3_client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "path"}),
    )


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free port of 127.0.0.1, stopped (thread joined) at session end."""
    try:
        server = _moto_server_class()(ip_address="127.0.0.1", port=0, verbose=False)
    except ImportError as exc:
        skip_or_fail("s3", f"moto[server] is not installed ({exc})")
    server.start()
    if server.failure is not None:
        skip_or_fail("s3", f"moto's S3 server did not start ({server.failure!r})")
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        server._server.server_close()  # stop() leaves the listening socket open
        assert not server._thread.is_alive(), "moto's server thread is still running"


@pytest.fixture(scope="session")
def s3(s3_endpoint: str) -> Iterator[Any]:
    client = s3_client(s3_endpoint)
    yield client
    client.close()


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    """A fresh, empty bucket for one test, emptied and removed afterwards."""
    name = f"proofdesk-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    for key in object_keys(s3, name):
        s3.delete_object(Bucket=name, Key=key)
    for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    s3.delete_bucket(Bucket=name)


def object_keys(s3: Any, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def pending_multipart_uploads(s3: Any, bucket: str) -> list[str]:
    return [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


# ---- the same behaviour from both backends ---------------------------------------------------


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(str(tmp_path / "uploads"))
    return S3Storage(bucket=request.getfixturevalue("bucket"), client=request.getfixturevalue("s3"))


def stored_files(storage: Storage, request: pytest.FixtureRequest) -> list[str]:
    """Everything the backend holds, temporary files and unfinished uploads included."""
    if isinstance(storage, LocalStorage):
        return sorted(
            str(p.relative_to(storage.root)) for p in storage.root.rglob("*") if p.is_file()
        )
    s3, bucket = request.getfixturevalue("s3"), request.getfixturevalue("bucket")
    return object_keys(s3, bucket) + pending_multipart_uploads(s3, bucket)


class BrokenUpload(io.BytesIO):
    """An upload whose connection drops after `fail_after` bytes have been read."""

    def __init__(self, data: bytes, fail_after: int) -> None:
        super().__init__(data)
        self.fail_after = fail_after

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() + (size if size and size > 0 else len(self.getvalue())) > self.fail_after:
            raise ConnectionResetError("client went away mid-upload")
        return super().read(size)


def test_saved_file_reads_back_the_same_every_way(storage):
    data = os.urandom(300_000)
    storage.save("versions/abc/original.png", io.BytesIO(data), "image/png")
    assert storage.exists("versions/abc/original.png")
    assert storage.read("versions/abc/original.png") == data
    assert storage.size("versions/abc/original.png") == len(data)
    assert b"".join(storage.stream("versions/abc/original.png")) == data


def test_a_multi_megabyte_file_streams_in_bounded_chunks(storage):
    data = os.urandom(5 * MB + 123)
    storage.save("versions/big/original.pdf", io.BytesIO(data), "application/pdf")
    chunks = list(storage.stream("versions/big/original.pdf"))
    assert b"".join(chunks) == data
    assert len(chunks) >= 5 * MB // CHUNK
    assert max(len(c) for c in chunks) <= CHUNK


def test_a_stream_closed_early_or_never_read_holds_nothing_open(storage):
    # A WSGI server closes what it was given; a response may also never be read at all.
    storage.save("v/page-1.jpg", io.BytesIO(os.urandom(3 * CHUNK)), "image/jpeg")
    storage.stream("v/page-1.jpg").close()
    partly = storage.stream("v/page-1.jpg")
    assert len(next(partly)) == CHUNK
    partly.close()
    storage.stream("v/page-1.jpg")  # dropped unread
    gc.collect()  # a file left open would now raise a ResourceWarning (filterwarnings=error)
    storage.delete("v/page-1.jpg")
    assert storage.exists("v/page-1.jpg") is False


def test_save_leaves_the_callers_stream_open(storage):
    # The upload service reads the same stream again after saving, to render page 1.
    source = io.BytesIO(b"artwork bytes")
    storage.save("versions/a/original.png", source, "image/png")
    assert not source.closed
    source.seek(0)
    assert source.read() == b"artwork bytes"


def test_saving_again_replaces_the_file(storage):
    storage.save("k/page-1.jpg", io.BytesIO(b"old version"), "image/jpeg")
    storage.save("k/page-1.jpg", io.BytesIO(b"new"), "image/jpeg")
    assert storage.read("k/page-1.jpg") == b"new"
    assert storage.size("k/page-1.jpg") == 3


def test_a_missing_key_does_not_exist_and_says_so_the_same_way(storage):
    assert storage.exists("versions/nothing/original.png") is False
    for read in (storage.read, storage.size, storage.stream):
        with pytest.raises(FileNotFoundError):
            read("versions/nothing/original.png")
    storage.delete("versions/nothing/original.png")  # deleting what is gone is no error


def test_delete_removes_the_file(storage, request):
    storage.save("v/original.png", io.BytesIO(b"x"), "image/png")
    storage.save("v/page-1.jpg", io.BytesIO(b"y"), "image/jpeg")
    storage.delete("v/original.png")
    assert storage.exists("v/original.png") is False
    assert storage.exists("v/page-1.jpg") is True
    assert stored_files(storage, request) == ["v/page-1.jpg"]


@pytest.mark.parametrize("key", ESCAPING_KEYS)
def test_keys_that_could_escape_are_refused(storage, request, key):
    with pytest.raises(ValueError):
        storage.save(key, io.BytesIO(b"sneaky"), "image/png")
    for use in (storage.read, storage.size, storage.exists, storage.delete, storage.stream):
        with pytest.raises(ValueError):
            use(key)
    assert stored_files(storage, request) == []


# Below boto's 8 MB multipart threshold one PUT fails; above it, the connection drops after a
# multipart upload has begun (and the first 8 MB part was read), so it must be aborted.
@pytest.mark.parametrize("size", [2 * MB, 12 * MB])
def test_an_interrupted_save_leaves_nothing(storage, request, size):
    storage.save("v/page-1.jpg", io.BytesIO(b"kept"), "image/jpeg")
    source = BrokenUpload(os.urandom(size), fail_after=size - MB)
    with pytest.raises(ConnectionResetError):
        storage.save("v/original.pdf", source, "application/pdf")
    assert storage.exists("v/original.pdf") is False
    assert stored_files(storage, request) == ["v/page-1.jpg"]


# ---- local folder ----------------------------------------------------------------------------


def test_local_files_land_in_the_folder_and_no_temporary_file_remains(tmp_path):
    storage = LocalStorage(str(tmp_path / "uploads"))
    storage.save("versions/abc/original.png", io.BytesIO(b"png"), "image/png")
    assert (tmp_path / "uploads/versions/abc/original.png").read_bytes() == b"png"
    assert [p.name for p in (tmp_path / "uploads/versions/abc").iterdir()] == ["original.png"]


def test_local_symlink_out_of_the_folder_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    storage = LocalStorage(str(tmp_path / "uploads"))
    (tmp_path / "uploads/link").symlink_to(outside)
    with pytest.raises(ValueError):
        storage.save("link/x.png", io.BytesIO(b"sneaky"), "image/png")
    assert list(outside.iterdir()) == []


# ---- S3 bucket -------------------------------------------------------------------------------


def test_s3_keys_live_under_the_prefix(s3, bucket):
    studio = S3Storage(bucket=bucket, prefix="/studio-a/", client=s3)
    bare = S3Storage(bucket=bucket, client=s3)
    studio.save("versions/abc/original.png", io.BytesIO(b"png"), "image/png")
    assert object_keys(s3, bucket) == ["studio-a/versions/abc/original.png"]
    assert studio.exists("versions/abc/original.png")
    assert bare.exists("versions/abc/original.png") is False
    assert bare.read("studio-a/versions/abc/original.png") == b"png"
    studio.delete("versions/abc/original.png")
    assert object_keys(s3, bucket) == []


def test_s3_objects_keep_their_content_type(s3, bucket):
    storage = S3Storage(bucket=bucket, client=s3)
    storage.save("v/page-1.jpg", io.BytesIO(b"\xff\xd8\xff"), "image/jpeg")
    assert s3.head_object(Bucket=bucket, Key="v/page-1.jpg")["ContentType"] == "image/jpeg"


# ---- files written during a database transaction --------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> LocalStorage:
    return LocalStorage(str(tmp_path / "tracked"))


def save_tracked(session: Any, storage: Storage, key: str) -> None:
    track_new_file(session, storage, key)
    storage.save(key, io.BytesIO(b"page"), "image/jpeg")


def test_files_of_a_committed_transaction_are_kept(db_session, folder):
    db_session.execute(sa.select(1))
    save_tracked(db_session, folder, "v/page-1.jpg")
    db_session.commit()
    db_session.rollback()  # a later rollback must not reach back into committed work
    db_session.close()
    assert folder.exists("v/page-1.jpg")


def test_files_of_a_rolled_back_transaction_are_deleted(db_session, folder):
    db_session.execute(sa.select(1))
    save_tracked(db_session, folder, "v/page-1.jpg")
    db_session.rollback()
    assert not folder.exists("v/page-1.jpg")


def test_files_are_deleted_when_the_session_closes_without_committing(db_session, folder):
    # What a request that fails with an unexpected error does: its session is only closed.
    save_tracked(db_session, folder, "v/page-1.jpg")  # before any query: still tracked
    db_session.close()
    assert not folder.exists("v/page-1.jpg")


def test_rolling_back_a_savepoint_keeps_files_the_outer_transaction_commits(db_session, folder):
    db_session.execute(sa.select(1))
    save_tracked(db_session, folder, "v/original.pdf")
    savepoint = db_session.begin_nested()
    save_tracked(db_session, folder, "v/page-2.jpg")
    savepoint.rollback()
    assert folder.exists("v/original.pdf")
    db_session.commit()
    assert folder.exists("v/original.pdf")


def test_a_file_that_cannot_be_deleted_after_a_rollback_is_logged(
    db_session, folder, caplog, monkeypatch
):
    save_tracked(db_session, folder, "v/page-1.jpg")

    def refuse(key: str) -> None:
        raise PermissionError(key)

    monkeypatch.setattr(folder, "delete", refuse)
    db_session.rollback()
    assert "could not remove v/page-1.jpg after a failed transaction" in caplog.text


# ---- a proof uploaded through the web form into a bucket -------------------------------------


@pytest.fixture
def s3_app(make_app: Callable[..., Flask], s3_endpoint: str, bucket: str) -> Flask:
    return make_app(
        STORAGE="s3",
        S3_BUCKET=bucket,
        S3_ENDPOINT_URL=s3_endpoint,
        S3_ACCESS_KEY_ID="test",
        S3_SECRET_ACCESS_KEY="test",
        S3_PREFIX="studio-a",
    )


@pytest.fixture
def s3_factory(s3_app: Flask) -> Iterator[Factory]:
    session = s3_app.extensions["db_sessionmaker"]()
    yield Factory(s3_app, session)
    session.close()


def upload_proof(
    app: Flask,
    factory: Factory,
    data: bytes,
    filename: str,
    before_post: Callable[[], None] = lambda: None,
) -> Any:
    designer, customer = factory.user(), factory.customer()
    client = app.test_client()
    login(client, designer)
    token = csrf_token(client, "/proofs/new")
    before_post()
    response = client.post(
        "/proofs/new",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "customer_id": str(customer.id),
            "title": "Shop sign",
            "file": (io.BytesIO(data), filename),
        },
    )
    return client, response


def proof_count(factory: Factory) -> tuple[int, int]:
    factory.session.rollback()  # see what other sessions committed
    return (
        factory.session.scalar(sa.select(sa.func.count()).select_from(Proof)),
        factory.session.scalar(sa.select(sa.func.count()).select_from(ProofVersion)),
    )


def test_an_uploaded_proof_is_stored_in_and_served_from_the_bucket(s3_app, s3_factory, s3, bucket):
    data = pdf_bytes(pages=3)
    client, response = upload_proof(s3_app, s3_factory, data, "Shop sign – final.pdf")
    assert response.status_code == 302, response.get_data(as_text=True)
    proof_id = int(re.fullmatch(r"/proofs/(\d+)", response.headers["Location"]).group(1))

    keys = object_keys(s3, bucket)
    prefix = re.fullmatch(r"(studio-a/versions/[0-9a-f]{32})/original\.pdf", keys[0]).group(1)
    # Page 1 is rendered during the upload; the worker renders pages 2 and 3 later.
    assert keys == [f"{prefix}/original.pdf", f"{prefix}/page-1.jpg", f"{prefix}/thumb-1.jpg"]
    original = s3.get_object(Bucket=bucket, Key=f"{prefix}/original.pdf")
    assert original["Body"].read() == data
    assert original["ContentType"] == "application/pdf"

    page = client.get(f"/proofs/{proof_id}/v/1/pages/1")
    assert page.status_code == 200
    assert page.mimetype == "image/jpeg"
    stored_page = s3.get_object(Bucket=bucket, Key=f"{prefix}/page-1.jpg")["Body"].read()
    assert page.get_data() == stored_page and stored_page.startswith(b"\xff\xd8\xff")

    download = client.get(f"/proofs/{proof_id}/v/1/file")
    assert download.status_code == 200
    assert download.get_data() == data
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert (
        "filename*=UTF-8''Shop%20sign%20%E2%80%93%20final.pdf"
        in download.headers["Content-Disposition"]
    )


def test_a_page_missing_from_the_bucket_is_an_error_page_not_a_broken_image(
    s3_app, s3_factory, s3, bucket
):
    client, response = upload_proof(s3_app, s3_factory, png_bytes(), "sign.png")
    proof_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page_key = next(k for k in object_keys(s3, bucket) if k.endswith("/page-1.jpg"))
    s3.delete_object(Bucket=bucket, Key=page_key)
    page = client.get(f"/proofs/{proof_id}/v/1/pages/1")
    assert page.status_code in (404, 500)
    assert page.mimetype == "text/html"


def test_a_corrupt_pdf_is_refused_and_leaves_the_bucket_empty(s3_app, s3_factory, s3, bucket):
    corrupt = b"%PDF-1.7\n" + os.urandom(4000)
    _, response = upload_proof(s3_app, s3_factory, corrupt, "broken.pdf")
    assert response.status_code == 400
    assert "The PDF is damaged" in response.get_data(as_text=True)
    assert object_keys(s3, bucket) == []
    assert proof_count(s3_factory) == (0, 0)


def record_saves(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the app saves, so a test knows a failure came after them."""
    saved: list[str] = []
    save = storage.save

    def recording_save(key: str, source: Any, content_type: str) -> None:
        saved.append(key.rsplit("/", 1)[-1])
        save(key, source, content_type)

    monkeypatch.setattr(storage, "save", recording_save)
    return saved


def test_a_crash_after_the_files_are_saved_leaves_no_object_in_the_bucket(
    s3_app, s3_factory, s3, bucket, monkeypatch
):
    # Rendering page 1 fails unexpectedly after the original is saved and its row flushed.
    # The request ends in the error page, which closes the session without rolling it back.
    def crash(data: bytes, numbers: range, **bounds: object) -> list[files.RenderedPage]:
        raise files.pdfium.PdfiumError("Failed to load page.")

    saved = record_saves(s3_app.extensions["storage"], monkeypatch)
    _, response = upload_proof(
        s3_app,
        s3_factory,
        pdf_bytes(pages=2),
        "sign.pdf",
        before_post=lambda: monkeypatch.setattr(render_process, "render_pdf_pages", crash),
    )
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)
    assert saved == ["original.pdf"]
    assert object_keys(s3, bucket) == []
    assert proof_count(s3_factory) == (0, 0)


def test_a_database_error_at_commit_leaves_no_object_in_the_bucket(
    s3_app, s3_factory, s3, bucket, monkeypatch
):
    designer, customer = s3_factory.user(), s3_factory.customer()
    saved = record_saves(s3_app.extensions["storage"], monkeypatch)

    # The real database refuses the last row written with the proof, after every file is in
    # the bucket. (Through the web form this ends in a bare 500: the error page itself trips
    # over the failed session, which is web.py's to fix; the files are gone either way.)
    def break_insert(conn, cursor, statement, parameters, context, executemany):
        return statement.replace("INSERT INTO activities", "INSERT INTO no_such_table"), parameters

    sa.event.listen(
        s3_app.extensions["db_engine"], "before_cursor_execute", break_insert, retval=True
    )
    with pytest.raises(sa.exc.DBAPIError, match="no_such_table"):
        s3_factory.proof(designer, customer, data=pdf_bytes(pages=2), filename="sign.pdf")
    sa.event.remove(s3_app.extensions["db_engine"], "before_cursor_execute", break_insert)
    assert saved == ["original.pdf", "page-1.jpg", "thumb-1.jpg"]
    assert object_keys(s3, bucket) == []
    assert proof_count(s3_factory) == (0, 0)
