"""Uploaded artwork: decide the type by content, refuse bombs and corrupt files, render pages."""

from __future__ import annotations

import hashlib
import io
import threading
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

import pypdfium2 as pdfium
from PIL import Image, ImageOps, UnidentifiedImageError

from proofdesk.errors import ServiceError
from proofdesk.proofs.models import FileKind

PREVIEW_LONG_SIDE = 2400
THUMB_LONG_SIDE = 480
PDF_DPI = 150
# PDFium is not thread-safe: in this process it only counts pages, one thread at a time, and
# pages are rendered in a child process (render_process.py), forked while this lock is held.
PDFIUM_LOCK = threading.Lock()

KINDS = {  # magic bytes → (kind, content type, extension)
    b"\x89PNG\r\n\x1a\n": (FileKind.IMAGE, "image/png", "png"),
    b"\xff\xd8\xff": (FileKind.IMAGE, "image/jpeg", "jpg"),
    b"II*\x00": (FileKind.IMAGE, "image/tiff", "tif"),
    b"MM\x00*": (FileKind.IMAGE, "image/tiff", "tif"),
    b"%PDF-": (FileKind.PDF, "application/pdf", "pdf"),
}
PILLOW_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/tiff": "TIFF",
    "image/webp": "WEBP",
}
ACCEPTED = "PNG, JPEG, WebP, TIFF or PDF"


@dataclass(frozen=True)
class ArtworkFile:
    kind: FileKind
    content_type: str
    extension: str
    size: int
    sha256: str
    page_count: int


@dataclass(frozen=True)
class RenderedPage:
    number: int
    preview: bytes
    thumb: bytes
    width: int
    height: int


def sniff(head: bytes) -> tuple[FileKind, str, str] | None:
    for magic, found in KINDS.items():
        if head.startswith(magic):
            return found
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return (FileKind.IMAGE, "image/webp", "webp")
    return None


def _digest(stream: IO[bytes]) -> tuple[int, str]:
    stream.seek(0)
    sha, size = hashlib.sha256(), 0
    while chunk := stream.read(1024 * 1024):
        sha.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return size, sha.hexdigest()


def inspect(stream: IO[bytes], *, max_bytes: int, max_pixels: int, max_pages: int) -> ArtworkFile:
    """What the upload really is, or a ServiceError a person can act on. Reads, never trusts,
    the name or the browser's content type."""
    size, sha = _digest(stream)
    if size == 0:
        raise ServiceError("The file is empty. Choose the artwork file again.", "file")
    if size > max_bytes:
        raise ServiceError(f"The file is larger than {max_bytes // (1024 * 1024)} MB.", "file")
    found = sniff(stream.read(16))
    stream.seek(0)
    if found is None:
        raise ServiceError(f"This is not a file Proofdesk can show. Upload {ACCEPTED}.", "file")
    kind, content_type, extension = found
    if kind == FileKind.PDF:
        pages = _pdf_page_count(stream, max_pages)
    else:
        _open_image(stream, content_type, max_pixels).close()
        pages = 1
    stream.seek(0)
    return ArtworkFile(
        kind=kind,
        content_type=content_type,
        extension=extension,
        size=size,
        sha256=sha,
        page_count=pages,
    )


def _open_image(stream: IO[bytes], content_type: str, max_pixels: int) -> Image.Image:
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # A copy, because Pillow closes the file it was given once the image is loaded.
            image = Image.open(io.BytesIO(stream.read()), formats=[PILLOW_FORMATS[content_type]])
            if image.width * image.height > max_pixels:
                raise Image.DecompressionBombError("too many pixels")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ServiceError(
            f"The image is too large to show: at most {max_pixels // 1_000_000} megapixels. "
            "Export it at a lower resolution.",
            "file",
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ServiceError(
            "The image is damaged or incomplete and cannot be opened. "
            "Export it again and upload the new file.",
            "file",
        ) from exc
    return image


def _pdf_page_count(stream: IO[bytes], max_pages: int) -> int:
    stream.seek(0)
    try:
        with PDFIUM_LOCK:
            pdf = pdfium.PdfDocument(stream)  # reads what it needs, not the whole file
            try:
                count = len(pdf)
            finally:
                pdf.close()
    except pdfium.PdfiumError as exc:
        message = "The PDF is damaged or password-protected and cannot be opened."
        raise ServiceError(message + " Export it again without a password.", "file") from exc
    if count == 0:
        raise ServiceError("The PDF has no pages.", "file")
    if count > max_pages:
        raise ServiceError(f"The PDF has {count} pages; at most {max_pages} are accepted.", "file")
    return count


def _encode(image: Image.Image, long_side: int) -> tuple[bytes, int, int]:
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    image.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, optimize=True)
    return out.getvalue(), image.width, image.height


def _page_images(image: Image.Image, number: int) -> RenderedPage:
    preview, width, height = _encode(image, PREVIEW_LONG_SIDE)
    thumb, _, _ = _encode(image, THUMB_LONG_SIDE)
    return RenderedPage(number=number, preview=preview, thumb=thumb, width=width, height=height)


def render_image(data: bytes, content_type: str, max_pixels: int) -> RenderedPage:
    with _open_image(io.BytesIO(data), content_type, max_pixels) as image:
        return _page_images(image, 1)


def render_pdf_pages(
    source: bytes | str | IO[bytes], numbers: Iterable[int]
) -> Iterator[RenderedPage]:
    """Render the given 1-based pages of a PDF (bytes, a path or an open file), each scaled
    so its long side fits the preview. Takes no lock and has no time or memory bound: only
    the child process of render_process.render_pdf_pages calls it."""
    if hasattr(source, "seek"):
        source.seek(0)
    pdf = pdfium.PdfDocument(source)
    try:
        for number in numbers:
            page = pdf[number - 1]
            try:
                width, height = page.get_size()
                scale = min(PDF_DPI / 72, PREVIEW_LONG_SIDE / max(width, height, 1))
                image = page.render(scale=scale).to_pil()
            finally:
                page.close()
            yield _page_images(image, number)
    finally:
        pdf.close()
