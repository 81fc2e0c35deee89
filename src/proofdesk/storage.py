"""The one storage interface: a local folder by default, an S3-compatible bucket as option."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

from flask import Flask, current_app

CHUNK = 256 * 1024


class Storage(Protocol):
    def save(self, key: str, source: IO[bytes], content_type: str) -> None: ...
    def stream(self, key: str) -> Iterator[bytes]: ...
    def read(self, key: str) -> bytes: ...
    def size(self, key: str) -> int: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...


class LocalStorage:
    def __init__(self, root: str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
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
        with self._path(key).open("rb") as fh:
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


class S3Storage:
    def __init__(self, *, bucket: str, prefix: str = "", client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client

    def _key(self, key: str) -> str:
        return self.prefix + key

    def save(self, key: str, source: IO[bytes], content_type: str) -> None:
        self.client.upload_fileobj(
            source, self.bucket, self._key(key), ExtraArgs={"ContentType": content_type}
        )

    def stream(self, key: str) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def read(self, key: str) -> bytes:
        data: bytes = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        return data

    def size(self, key: str) -> int:
        head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        return int(head["ContentLength"])

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


def make_storage(config: dict[str, Any]) -> Storage:
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
        return S3Storage(bucket=config["S3_BUCKET"], prefix=config["S3_PREFIX"], client=client)
    return LocalStorage(config["UPLOAD_FOLDER"])


def register_storage(app: Flask) -> None:
    app.extensions["storage"] = make_storage(app.config)


def get_storage() -> Storage:
    storage: Storage = current_app.extensions["storage"]
    return storage


# Files written during a database transaction are removed again if it rolls back, so a
# failed upload leaves neither a row pointing at a missing file nor a stray file.
def track_new_file(session: Any, storage: Storage, key: str) -> None:
    session.info.setdefault("new_files", []).append((storage, key))


def _forget_new_files(session: Any) -> None:
    session.info.pop("new_files", None)


def _delete_new_files(session: Any) -> None:
    for storage, key in session.info.pop("new_files", []):
        try:
            storage.delete(key)
        except Exception:  # noqa: BLE001 - best effort; the row is gone either way
            import logging

            logging.getLogger(__name__).warning("could not remove %s after a rollback", key)


def _register_session_events() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    event.listen(Session, "after_commit", _forget_new_files)
    event.listen(Session, "after_rollback", _delete_new_files)


_register_session_events()
