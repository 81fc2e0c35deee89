"""Where the review screen's links point: staff pages or a share link."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import url_for


@dataclass(frozen=True)
class ReviewUrls:
    prefix: str  # "proofs" for staff, "review" for a share link, "portal" for a customer
    args: dict[str, Any] = field(default_factory=dict)

    def _url(self, name: str, **kwargs: Any) -> str:
        return url_for(f"{self.prefix}.{name}", **self.args, **kwargs)

    def version(self, number: int) -> str:
        return self._url("version", number=number)

    def page(self, number: int, page: int) -> str:
        return self._url("page_image", number=number, page=page)

    def thumb(self, number: int, page: int) -> str:
        return self._url("page_thumb", number=number, page=page)

    def original(self, number: int) -> str:
        return self._url("original", number=number)

    def status(self, number: int) -> str:
        return self._url("render_status", number=number)

    def comment(self) -> str:
        return self._url("comment")

    def decision(self) -> str:
        return self._url("decision")

    def show(self) -> str:
        return self._url("show")

    def resolve(self, comment_id: int) -> str:
        return self._url("resolve", comment_id=comment_id)

    def withdraw(self) -> str:
        return self._url("withdraw")

    def compare(self, a: int, b: int) -> str:
        return self._url("compare", a=a, b=b)

    def diff(self, a: int, b: int, page: int) -> str:
        return self._url("diff", a=a, b=b, page=page)
