"""The one storage interface: a local folder by default, an S3-compatible bucket as option."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from proofdesk.config import settings

CHUNK = 256 * 1024
log = logging.getLogger(__name__)


class Storage(Protocol):
    """Files by key ("versions/<id>/original.pdf"). A missing key raises FileNotFoundError
    and a key that could leave the store ("../x", "/x", "a//b") raises ValueError, alike in
    every backend."""

    def save(self, key: str, source: IO[bytes], content_type: str) -> None: ...
    def stream(self, key: str) -> Iterator[bytes]: ...
    def read(self, key: str) -> bytes: ...
    def size(self, key: str) -> int: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def local_path(self, key: str) -> Path: ...


def check_key(key: str) -> str:
    """Keys are relative paths of plain names, so they mean one place in every backend."""
    # An empty name also catches "", "/x", "a//b" and "a/".
    if "\\" in key or "\0" in key or any(name in {"", ".", ".."} for name in key.split("/")):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class Chunks:
    """The chunks of an open download, closed once read to the end or when close() is called
    (as WSGI servers do), even if never read: a generator's close() would not run its cleanup."""

    def __init__(self, chunks: Iterator[bytes], close: Callable[[], None]) -> None:
        self._chunks = chunks
        self._close = close

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._close()


class LocalStorage:
    def __init__(self, root: str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError("storage key escapes the upload folder")
        return path

    def save(self, key: str, source: IO[bytes], content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename, so no half-written file is ever visible.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def stream(self, key: str) -> Iterator[bytes]:
        path = self._path(key)
        if not path.is_file():  # now, not halfway through a response
            raise FileNotFoundError(f"no such file in storage: {key}")
        return self._chunks(path)

    @staticmethod
    def _chunks(path: Path) -> Iterator[bytes]:
        # Opened on first read, so a response nobody reads holds no file open.
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path:
        """A file on this machine with the object's bytes (here: the stored file itself)."""
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"no such file in storage: {key}")
        return path


class S3Storage:
    def __init__(
        self, *, bucket: str, prefix: str = "", client: Any, cache_dir: str | None = None
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client
        self.cache_dir = Path(cache_dir or Path(tempfile.gettempdir()) / "proofdesk-cache")

    def local_path(self, key: str) -> Path:
        """A local copy of the object, downloaded once (stored objects never change), so a
        long PDF can be rendered page by page without reading it all into memory."""
        import hashlib

        path = self.cache_dir / hashlib.sha256(self._key(key).encode()).hexdigest()
        if path.is_file():
            return path
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.cache_dir, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in self.stream(key):
                    out.write(chunk)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def save(self, key: str, source: IO[bytes], content_type: str) -> None:
        # upload_fileobj closes the stream it is given; the caller may still need it.
        self.client.upload_fileobj(
            _KeptOpen(source), self.bucket, self._key(key), ExtraArgs={"ContentType": content_type}
        )

    def _get(self, key: str) -> Any:
        with _missing_as_file_not_found(key):
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]

    def stream(self, key: str) -> Iterator[bytes]:
        body = self._get(key)
        return Chunks(body.iter_chunks(CHUNK), body.close)

    def read(self, key: str) -> bytes:
        body = self._get(key)
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data

    def size(self, key: str) -> int:
        with _missing_as_file_not_found(key):
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        return int(head["ContentLength"])

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


class _KeptOpen:
    """A stream whose close() does nothing; everything else goes to the real stream."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def close(self) -> None:
        pass


@contextmanager
def _missing_as_file_not_found(key: str) -> Iterator[None]:
    """S3's "no such key" (a bare 404 on HEAD, NoSuchKey on GET) as FileNotFoundError."""
    from botocore.exceptions import ClientError

    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            raise FileNotFoundError(f"no such file in storage: {key}") from exc
        raise


def make_storage(config: Mapping[str, Any]) -> Storage:
    if config["STORAGE"] == "s3":
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=config["S3_ENDPOINT_URL"],
            region_name=config["S3_REGION"],
            aws_access_key_id=config["S3_ACCESS_KEY_ID"],
            aws_secret_access_key=config["S3_SECRET_ACCESS_KEY"],
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
        )
        return S3Storage(
            bucket=config["S3_BUCKET"],
            prefix=config["S3_PREFIX"],
            client=client,
            cache_dir=str(Path(config["INSTANCE_PATH"]) / "cache"),
        )
    return LocalStorage(config["UPLOAD_FOLDER"])


def register_storage(app: Flask) -> None:
    """The app's storage, and the clean-up of files on its database sessions (so, after
    `register_db`)."""
    app.extensions["storage"] = make_storage(settings(app))
    clean_up_files_of(app.extensions["db_sessionmaker"])


def get_storage() -> Storage:
    storage: Storage = current_app.extensions["storage"]
    return storage


# Files written during a database transaction are removed again unless it commits, so a
# failed upload leaves neither a row pointing at a missing file nor a stray file. "Unless it
# commits" is more than a rollback: a request that fails with an unexpected error only closes
# its session, which ends the transaction without an after_rollback event.
def track_new_file(session: Any, storage: Storage, key: str) -> None:
    if not session.in_transaction():  # a transaction to end, even if no query ran yet
        session.begin()
    session.info.setdefault("new_files", []).append((storage, key))


def _forget_new_files(session: Any) -> None:
    session.info.pop("new_files", None)


def _delete_new_files(session: Any) -> None:
    for storage, key in session.info.pop("new_files", []):
        try:
            storage.delete(key)
        except Exception:  # noqa: BLE001 - best effort; the row is gone either way
            log.warning("could not remove %s after a failed transaction", key, exc_info=True)


def _after_rollback(session: Any) -> None:
    # Rolling back a savepoint undoes only part of the work, and the rest may still commit
    # rows that point at these files; the end of the outer transaction decides.
    if not session.in_nested_transaction():
        _delete_new_files(session)


def _after_transaction_end(session: Any, transaction: Any) -> None:
    if transaction.parent is None:  # not a flush or a savepoint; after_commit already ran
        _delete_new_files(session)


def clean_up_files_of(sessions: sessionmaker[Session]) -> None:
    """Delete the tracked files of the sessions a sessionmaker makes (the app's own, for
    requests, the worker and the CLI alike) when their transaction ends without a commit."""
    event.listen(sessions, "after_commit", _forget_new_files)
    event.listen(sessions, "after_rollback", _after_rollback)
    event.listen(sessions, "after_transaction_end", _after_transaction_end)
