"""PDF pages rendered in a child process with a time and a memory bound, so that a hostile
PDF can neither hang nor exhaust the web process or the worker that asked for them."""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import IO, Any

import pypdfium2 as pdfium

from proofdesk.proofs import files

MB = 1024 * 1024
# fork, not forkserver or spawn: the child starts in about 15 ms with PDFium and Pillow
# already loaded (Python 3.11's forkserver re-imports the main module for every child, about
# a second). Forking a threaded server is safe here because the child touches no lock but
# PDFium's, and the parent forks while holding PDFIUM_LOCK, so no thread is inside PDFium.
_FORK = multiprocessing.get_context("fork")


@dataclass(frozen=True)
class RenderLimits:
    """How long one page may take (seconds) and how much memory a render may add (MB)."""

    timeout: float
    memory_mb: int

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RenderLimits:
        return cls(
            timeout=float(config["RENDER_TIMEOUT_SECONDS"]),
            memory_mb=int(config["RENDER_MEMORY_MB"]),
        )


class RenderError(Exception):
    """The pages could not be rendered; `reason` is damaged, memory, crashed or timeout."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def render_pdf_pages(
    source: bytes | str | IO[bytes], numbers: Iterable[int], *, bounds: RenderLimits
) -> list[files.RenderedPage]:
    """Render the given 1-based pages in a child process. Each page must arrive within
    `bounds.timeout` seconds, or the child is killed and RenderError("timeout") raised."""
    numbers = list(numbers)
    if not numbers:
        return []
    receive, send = _FORK.Pipe(duplex=False)
    child = _FORK.Process(
        target=_child,
        args=(send, source, numbers, bounds.memory_mb),
        daemon=True,
        name="proofdesk-render",
    )
    with files.PDFIUM_LOCK:
        child.start()
    send.close()
    pages: list[files.RenderedPage] = []
    try:
        for number in numbers:
            if not receive.poll(bounds.timeout):
                raise RenderError("timeout", f"page {number} took longer than {bounds.timeout:g} s")
            try:
                kind, payload = receive.recv()
            except EOFError:
                child.join(1)
                raise RenderError(
                    "crashed", f"the renderer stopped on page {number} (exit code {child.exitcode})"
                ) from None
            if kind != "page":
                raise RenderError(kind, payload)
            pages.append(payload)
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
        if hasattr(source, "seek"):
            source.seek(0)  # the child moved the shared offset
    return pages


def _child(
    conn: Connection, source: bytes | str | IO[bytes], numbers: list[int], memory_mb: int
) -> None:
    """Runs in the forked child: cap its address space, render, send each page back."""
    try:
        _limit_memory(memory_mb)
        for page in files.render_pdf_pages(source, numbers):
            conn.send(("page", page))
    except MemoryError:
        conn.send(("memory", f"more than {memory_mb} MB needed"))
    except pdfium.PdfiumError as exc:
        conn.send(("damaged", str(exc)))
    except Exception as exc:  # noqa: BLE001 - anything else is reported, not raised
        conn.send(("damaged", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _limit_memory(memory_mb: int) -> None:
    """Allow the child `memory_mb` of address space on top of what it inherited."""
    inherited = 0
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    inherited = int(line.split()[1]) * 1024
    except OSError:
        pass
    limit = inherited + memory_mb * MB
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
