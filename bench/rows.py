"""The rows of each table, as COPY text lines, from a studio plan (see studio.py). Every NOT
NULL column is filled; files and page previews point at a few shared stored files."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterator

from bench.studio import (
    ADMIN_ID,
    BENCH_CUSTOMER_ID,
    BENCH_DESIGNER_ID,
    ProofPlan,
    Size,
)
from proofdesk.activity import ActivityKind
from proofdesk.review.services import SHARE_PURPOSE
from proofdesk.tokens import derive_token, hash_token

N = "\\N"
FIRST = (
    "Anna",
    "Ben",
    "Chloe",
    "David",
    "Emma",
    "Felix",
    "Grace",
    "Hugo",
    "Iris",
    "Jonas",
    "Kira",
    "Liam",
    "Mia",
    "Noah",
    "Olivia",
    "Paul",
    "Rosa",
    "Sam",
    "Tara",
    "Yusuf",
)
LAST = (
    "Bauer",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jansen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Rossi",
    "Silva",
    "Tanaka",
)
THINGS = (
    "Business cards",
    "Shop sign",
    "Menu",
    "Flyer A5",
    "Poster A2",
    "Brochure",
    "Van wrap",
    "Label",
    "Banner",
    "Catalogue",
    "Invitation",
    "Window decal",
)
SAYINGS = (
    "Can the logo be a little larger?",
    "Please use the darker blue from our guide.",
    "Typo in the second line: 'recieve'.",
    "Looks great, just the phone number is old.",
    "Could we try a white background?",
    "Move the address to the bottom right.",
    "The photo is too dark on this page.",
    "Done, see the new version.",
    "Agreed, fixed in the next version.",
    "Please check the bleed on the right edge.",
)
KINDS = (
    ActivityKind.COMMENT_ADDED,
    ActivityKind.SHARE_LINK_VIEWED,
    ActivityKind.VERSION_UPLOADED,
    ActivityKind.SHARE_LINK_VIEWED,
    ActivityKind.COMMENT_ADDED,
    ActivityKind.DECISION_APPROVED,
    ActivityKind.THREAD_RESOLVED,
)
PASSWORD = "bench-password-1"


def ts(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) + "+00"


def person(k: int) -> str:
    return f"{FIRST[k % len(FIRST)]} {LAST[(k // len(FIRST)) % len(LAST)]}"


def customer_email(cid: int) -> str:
    return f"customer{cid}@client{cid % 997}.example.test"


def designer_email(uid: int) -> str:
    return (
        "admin@studio.example.test" if uid == ADMIN_ID else f"designer{uid - 1}@studio.example.test"
    )


def version_sha(vid: int) -> str:
    return hashlib.sha256(f"version-{vid}".encode()).hexdigest()


def users(size: Size, password_hash: str, now: float) -> Iterator[str]:
    for uid in range(1, size.designers + 2):
        role, name = ("admin", "Ada Admin") if uid == ADMIN_ID else ("designer", person(uid))
        yield "\t".join(
            (
                str(uid),
                designer_email(uid),
                name,
                role,
                "t",
                password_hash,
                ts(now - 4 * 365 * 86400),
                "starttls",
            )
        )


def customers(size: Size, now: float) -> Iterator[str]:
    for cid in range(1, size.customers + 1):
        company = (
            f"{LAST[cid % len(LAST)]} {('GmbH', 'Ltd', 'Studio', 'Bakery')[cid % 4]}"
            if cid % 10 < 7
            else N
        )
        yield "\t".join(
            (
                str(cid),
                person(cid * 7),
                customer_email(cid),
                company,
                str(BENCH_DESIGNER_ID + cid % size.designers),
                ts(now - 3 * 365 * 86400 + cid),
            )
        )


def proofs(p: ProofPlan) -> Iterator[str]:
    for i, designer in enumerate(p.designer):
        versions = len(p.versions_of(i))
        message = f"Here is the {THINGS[i % len(THINGS)].lower()}." if i % 3 == 0 else N
        due = time.strftime("%Y-%m-%d", time.gmtime(p.created[i] + 7 * 86400)) if i % 5 < 3 else N
        yield "\t".join(
            (
                str(i + 1),
                str(designer),
                str(p.customer[i]),
                f"{THINGS[i % len(THINGS)]} #{i + 1}",
                message,
                due,
                p.status[i],
                str(versions),
                ts(p.created[i]),
                ts(p.last_activity[i]),
                "f",
                N,
                N,
            )
        )


def versions(p: ProofPlan, rng: random.Random) -> Iterator[str]:
    first = {i: p.first_version_id[i] for i in range(len(p.first_version_id))}
    for index, proof in enumerate(p.version_proof):
        vid = index + 1
        number = vid - first[proof] + 1
        pdf = p.version_kind[index] == "pdf"
        pages = p.version_pages[index]
        yield "\t".join(
            (
                str(vid),
                str(proof + 1),
                str(number),
                "bench/shared/original.pdf" if pdf else "bench/shared/original.png",
                f"artwork-v{number}.{'pdf' if pdf else 'png'}",
                "application/pdf" if pdf else "image/png",
                p.version_kind[index],
                str(rng.randrange(200_000, 40_000_000)),
                version_sha(vid),
                str(pages),
                str(pages),
                "done",
                N,
                N,
                str(p.designer[proof]),
                ts(p.version_created[index]),
            )
        )


def pages(p: ProofPlan) -> Iterator[str]:
    page_id = 0
    for index, count in enumerate(p.version_pages):
        for number in range(1, count + 1):
            page_id += 1
            yield "\t".join(
                (
                    str(page_id),
                    str(index + 1),
                    str(number),
                    f"bench/shared/page-{number}.jpg",
                    f"bench/shared/thumb-{number}.jpg",
                    "1700",
                    "2400",
                )
            )


def share_links(p: ProofPlan, secret_key: str, nonces: dict[int, str]) -> Iterator[str]:
    for i, designer in enumerate(p.designer):
        nonce = f"bench{i + 1:08d}{hashlib.sha256(str(i).encode()).hexdigest()[:24]}"
        nonces[i] = nonce
        token_hash = hash_token(derive_token(secret_key, SHARE_PURPOSE, nonce))
        yield "\t".join(
            (str(i + 1), str(i + 1), token_hash, nonce, ts(p.created[i]), str(designer), N)
        )


def comments(p: ProofPlan, rng: random.Random) -> Iterator[str]:
    cid = 0
    measured = {p.review_proof, p.share_proof}
    main_rng = rng
    for i, count in enumerate(p.comments):
        # The measured proofs get the same threads at every size.
        rng = random.Random(i % 20 + 99) if i in measured else main_rng
        vids = list(p.versions_of(i))
        roots: list[tuple[int, int]] = []  # (comment id, version id)
        customer_name = person(p.customer[i] * 7)
        for m in range(count):
            cid += 1
            staff = m % 3 == 2
            author = person(p.designer[i]) if staff else customer_name
            when = ts(min(p.created[i] + 600 * (m + 1), p.last_activity[i]))
            body = SAYINGS[(i + m) % len(SAYINGS)]
            if roots and rng.random() < 0.4:
                parent, vid = rng.choice(roots)
                yield "\t".join(
                    (
                        str(cid),
                        str(i + 1),
                        str(vid),
                        author,
                        str(p.designer[i]) if staff else N,
                        N,
                        body,
                        when,
                        str(parent),
                        N,
                        N,
                        N,
                        N,
                        N,
                        N,
                        N,
                    )
                )
                continue
            vid = rng.choice(vids)
            pinned = rng.random() < 0.4
            resolved = vid != vids[-1] and rng.random() < 0.5
            yield "\t".join(
                (
                    str(cid),
                    str(i + 1),
                    str(vid),
                    author,
                    str(p.designer[i]) if staff else N,
                    N,
                    body,
                    when,
                    N,
                    "1" if pinned else N,
                    f"{rng.random():.3f}" if pinned else N,
                    f"{rng.random():.3f}" if pinned else N,
                    N,
                    N,
                    when if resolved else N,
                    author if resolved else N,
                )
            )
            roots.append((cid, vid))


def decisions(p: ProofPlan, review_proof: int) -> Iterator[str]:
    did = 0
    for i, status in enumerate(p.status):
        vids = list(p.versions_of(i))
        if i == review_proof:  # changes asked on v3, so v4 is awaiting review
            status, vid = "changes_requested", vids[-2]
        elif status == "awaiting_review":
            continue
        else:
            vid = vids[-1]
        did += 1
        customer = p.customer[i]
        yield "\t".join(
            (
                str(did),
                str(i + 1),
                str(vid),
                status,
                person(customer * 7),
                str(customer) if customer == BENCH_CUSTOMER_ID else N,
                N,
                "203.0.113.7",
                "Mozilla/5.0 (bench)",
                ts(p.last_activity[i]),
                version_sha(vid),
                N,
                N,
                N,
            )
        )


def activities(p: ProofPlan) -> Iterator[str]:
    aid = 0
    for i, count in enumerate(p.activities):
        designer = p.designer[i]
        for m in range(count):
            aid += 1
            kind = ActivityKind.PROOF_UPLOADED if m == 0 else KINDS[(i + m) % len(KINDS)]
            staff = kind in {ActivityKind.PROOF_UPLOADED, ActivityKind.VERSION_UPLOADED}
            actor = person(designer) if staff else person(p.customer[i] * 7)
            at = ts(min(p.created[i] + 900 * m, p.last_activity[i]))
            yield "\t".join(
                (
                    str(aid),
                    at,
                    kind,
                    str(i + 1),
                    str(designer) if staff else N,
                    actor,
                    "v1: artwork-v1.pdf" if m == 0 else N,
                    "203.0.113.7",
                )
            )


def notifications(p: ProofPlan) -> Iterator[str]:
    nid = 0
    for i, count in enumerate(p.notifications):
        versions = len(p.versions_of(i))
        customer = p.customer[i]
        for m in range(count):
            nid += 1
            failed = nid % 20 == 0
            at = ts(min(p.created[i] + 60 + 86400 * m, p.last_activity[i]))
            number = min(m + 1, versions)
            yield "\t".join(
                (
                    str(nid),
                    "proof",
                    str(customer),
                    str(i + 1),
                    str(number),
                    str(p.designer[i]),
                    N,
                    N,
                    N,
                    customer_email(customer),
                    f"Proof ready for review: {THINGS[i % len(THINGS)]} #{i + 1}"
                    f" (version {number})",
                    N,
                    "failed" if failed else "sent",
                    "6" if failed else "1",
                    at,
                    N,
                    "Temporary failure: 451 4.3.0 mailbox busy" if failed else N,
                    "451 4.3.0 mailbox busy" if failed else "250 2.0.0 Ok: queued",
                    f"<bench.{nid}@proofdesk.example.test>",
                    "default",
                    at,
                    at,
                    N if failed else at,
                )
            )
