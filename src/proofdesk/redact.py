"""Hide an SMTP password from the text a server sends back: replies are shown to people,
stored and logged, and some servers quote what they were sent."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from urllib.parse import quote, quote_plus, unquote, unquote_plus

HIDDEN = "[password hidden]"
# Runs of text that could be an encoded password (each pattern linear: no backtracking).
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{4,}=*")
_HEX_RUN = re.compile(r"[0-9A-Fa-f]{4,}")
_WORD = re.compile(r"[^\s\"'<>()\[\]{},;]+")


def without_password(text: str, username: str | None, password: str | None) -> str:
    """`text` (a server's reply) without the password in any form a server might quote it in:
    as typed or in another case; in base64 (alone, as AUTH PLAIN and AUTH LOGIN send it;
    padded or not; url-safe), hex or URL-encoded; and any base64, hex or URL-encoded run that
    decodes to text containing it. Replies are shown to people, stored and logged."""
    if not password:
        return text
    needle = password.casefold()

    def hiding(decode: Callable[[str], Iterator[str]]) -> Callable[[re.Match[str]], str]:
        def hide(match: re.Match[str]) -> str:
            return (
                HIDDEN
                if any(needle in decoded for decoded in decode(match.group()))
                else match.group()
            )

        return hide

    text = _BASE64_RUN.sub(hiding(_from_base64), text)
    text = _HEX_RUN.sub(hiding(_from_hex), text)
    text = _WORD.sub(hiding(_from_url), text)
    for form in sorted(_encodings(username or "", password), key=len, reverse=True):
        text = re.sub(re.escape(form), HIDDEN, text, flags=re.IGNORECASE)
    return text


def _encodings(username: str, password: str) -> set[str]:
    """The password as typed, URL-encoded, and as hex and base64 of it alone (AUTH LOGIN) and
    of the AUTH PLAIN string (with and without an authorization identity)."""
    forms = {password, quote(password, safe=""), quote(password), quote_plus(password)}
    for sent in (password, f"\0{username}\0{password}", f"{username}\0{username}\0{password}"):
        raw = sent.encode()
        forms.add(raw.hex())
        for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
            forms |= {encoded, encoded.rstrip("=")}
    return forms


def _from_base64(run: str) -> Iterator[str]:
    """What a base64 run (standard or url-safe, padded or not) decodes to, read from each of
    the four positions an encoded text could start at inside it."""
    run = run.rstrip("=").replace("-", "+").replace("_", "/")
    for offset in range(4):
        chunk = run[offset:]
        chunk = chunk[: len(chunk) - 1] if len(chunk) % 4 == 1 else chunk
        try:
            decoded = base64.b64decode(chunk + "=" * (-len(chunk) % 4))
        except ValueError:
            continue
        yield decoded.decode(errors="replace").casefold()


def _from_hex(run: str) -> Iterator[str]:
    for offset in (0, 1):
        chunk = run[offset:]
        yield bytes.fromhex(chunk[: len(chunk) // 2 * 2]).decode(errors="replace").casefold()


def _from_url(word: str) -> Iterator[str]:
    if "%" in word or "+" in word:
        yield unquote(word).casefold()
        yield unquote_plus(word).casefold()
