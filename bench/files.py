"""Files: a 50 MB image and a 200-page PDF uploaded through the app. Time to the upload's
answer, to the first page preview, and to every page rendered (against a plain pypdfium2 loop
over the same pages); peak memory of the web worker and of the render worker."""

from __future__ import annotations

import io
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import requests
from fpdf import FPDF
from PIL import Image

from bench.procs import BIN, Processes, children_of, gunicorn, memory_mb
from bench.rows import PASSWORD, designer_email
from bench.studio import BENCH_CUSTOMER_ID, BENCH_DESIGNER_ID
from proofdesk.proofs.files import PDF_DPI, PREVIEW_LONG_SIDE, render_pdf_pages

PDF_PAGES = 200


def make_image(path: Path) -> None:
    """About 50 MB of PNG: 4096 × 4096 pixels of noise, which does not compress."""
    side = 4096
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
        path, "PNG", compress_level=1
    )


def make_pdf(path: Path) -> None:
    """200 pages of text, shapes and a photo, like a catalogue."""
    photo = io.BytesIO()
    Image.frombytes("RGB", (900, 600), os.urandom(900 * 600 * 3)).resize((900, 600)).save(
        photo, "JPEG", quality=85
    )
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    for number in range(1, PDF_PAGES + 1):
        pdf.add_page()
        pdf.set_font("helvetica", "B", 22)
        pdf.cell(text=f"Catalogue 2027, page {number}")
        pdf.image(photo, x=15, y=30, w=180)
        pdf.set_font("helvetica", size=10)
        pdf.set_xy(15, 160)
        pdf.multi_cell(180, 5, text=("Hand-made oak furniture for kitchens and studios. " * 30))
        pdf.set_fill_color(40 + number % 200, 90, 160)
        pdf.rect(15, 270, 180, 12, style="F")
    pdf.output(str(path))


class Designer:
    """A browser logged in as the benchmarked designer."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.post(
            base + "/login",
            data={
                "email": designer_email(BENCH_DESIGNER_ID),
                "password": PASSWORD,
                "csrf_token": self._csrf("/login"),
            },
            allow_redirects=False,
            timeout=30,
        )

    def _csrf(self, path: str) -> str:
        page = self.http.get(self.base + path, timeout=60).text
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def upload(self, path: Path, content_type: str) -> tuple[int, float, float]:
        """Upload as a new proof; the proof id, when the upload started, when it answered."""
        token = self._csrf("/proofs/new")
        with path.open("rb") as fh:
            started = time.monotonic()
            answer = self.http.post(
                self.base + "/proofs/new",
                data={
                    "csrf_token": token,
                    "customer_id": str(BENCH_CUSTOMER_ID),
                    "title": f"Bench upload {path.name}",
                },
                files={"file": (path.name, fh, content_type)},
                allow_redirects=False,
                timeout=600,
            )
        answered = time.monotonic()
        match = re.search(r"/proofs/(\d+)$", answer.headers.get("Location", ""))
        if answer.status_code != 302 or not match:
            raise RuntimeError(f"upload of {path.name} answered {answer.status_code}")
        return int(match.group(1)), started, answered

    def first_page(self, proof_id: int) -> None:
        answer = self.http.get(f"{self.base}/proofs/{proof_id}/v/1/pages/1", timeout=120)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/jpeg"

    def wait_rendered(self, proof_id: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.http.get(f"{self.base}/proofs/{proof_id}/v/1/status", timeout=30).json()
            if state["status"] in {"done", "failed"}:
                if state["status"] == "failed":
                    raise RuntimeError(f"rendering proof {proof_id} failed")
                return
            time.sleep(0.1)
        raise RuntimeError(f"proof {proof_id} was not rendered within {timeout:.0f} s")


def _web_worker(master: int) -> int:
    workers = children_of(master)
    assert len(workers) == 1, workers
    return workers[0]


class PeakSampler:
    """The highest peak RSS seen among a process's children (renders may run in a forked
    child that lives for a batch of pages), sampled every 50 ms until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            for child in children_of(self.pid):
                try:
                    self.peak_mb = max(self.peak_mb, memory_mb(child)["peak_mb"])
                except OSError:
                    pass  # ended between listing and reading

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def upload_one(
    procs: Processes, env: dict[str, str], path: Path, content_type: str, *, render: bool
) -> dict[str, Any]:
    """A fresh one-worker gunicorn (so its peak memory is this upload's), and for a PDF a
    fresh worker process that renders the remaining pages."""
    server, base = gunicorn(procs, f"files-web-{path.stem}", env, workers=1)
    worker = (
        procs.start(
            f"files-worker-{path.stem}",
            [str(BIN / "proofdesk"), "worker"],
            {**env, "LOG_LEVEL": "INFO"},
        )
        if render
        else None
    )
    try:
        designer = Designer(base)
        web = _web_worker(server.pid)
        before = memory_mb(web)
        web_children = PeakSampler(web)
        render_children = PeakSampler(worker.pid) if worker is not None else None
        proof_id, started, answered = designer.upload(path, content_type)
        designer.first_page(proof_id)
        first = time.monotonic()
        result: dict[str, Any] = {
            "bytes": path.stat().st_size,
            "answer_s": round(answered - started, 3),
            "first_preview_s": round(first - started, 3),
            "web_worker_mb_before": before,
            "web_worker_mb_after": memory_mb(web),
            "web_render_child_peak_mb": web_children.stop(),
        }
        if worker is not None and render_children is not None:
            designer.wait_rendered(proof_id, timeout=600)
            result["all_pages_s"] = round(time.monotonic() - started, 2)
            result["render_worker_mb"] = memory_mb(worker.pid)
            result["render_child_peak_mb"] = render_children.stop()
        return result
    finally:
        if worker is not None:
            procs.stop(worker)
        procs.stop(server)


def plain_loop(path: Path) -> dict[str, float]:
    """pypdfium2 alone over the same pages at the same scale (the limit), and the app's render
    function in-process (render plus two JPEG encodes), without queue, storage or database."""
    started = time.monotonic()
    pdf = pdfium.PdfDocument(str(path))
    for index in range(len(pdf)):
        page = pdf[index]
        width, height = page.get_size()
        scale = min(PDF_DPI / 72, PREVIEW_LONG_SIDE / max(width, height, 1))
        page.render(scale=scale).to_pil()
        page.close()
    pdf.close()
    plain = time.monotonic() - started
    started = time.monotonic()
    for first in range(1, PDF_PAGES + 1, 20):
        list(render_pdf_pages(str(path), range(first, min(first + 20, PDF_PAGES + 1))))
    return {
        "pypdfium2_s": round(plain, 2),
        "app_render_function_s": round(time.monotonic() - started, 2),
    }


def run(procs: Processes, env: dict[str, str], folder: Path) -> dict[str, Any]:
    image, pdf = folder / "poster.png", folder / "catalogue.pdf"
    make_image(image)
    make_pdf(pdf)
    results: dict[str, Any] = {
        "image": upload_one(procs, env, image, "image/png", render=False),
        "pdf": {"pages": PDF_PAGES, **upload_one(procs, env, pdf, "application/pdf", render=True)},
    }
    results["pdf"].update(plain_loop(pdf))
    return results
