"""The studio the bench seeds: its size, and each proof's shape, decided once so that every
table's rows agree (a comment points at a version its proof has, and so on).

The small studio is the large one with 1/100 of the history: the same 200 designers, 1/100 of
the customers, proofs, comments, activities and notifications. So a customer has about 10
proofs and a proof the same versions and comments at both sizes, and the pages measured show
the same rows: only the size of the tables differs."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

BENCH_DESIGNER_SHARE = 20  # the benchmarked designer, the busiest, owns every 20th proof
BENCH_CUSTOMER_PROOFS = 12
BENCH_PROOF_VERSIONS = 4
BENCH_PROOF_PAGES = 3
BENCH_PROOF_COMMENTS = 10
BENCH_PROOF_ACTIVITIES = 8
BENCH_PROOF_NOTIFICATIONS = 2
YEARS = 3


@dataclass(frozen=True)
class Size:
    name: str
    designers: int
    customers: int
    proofs: int
    comments: int
    activities: int
    notifications: int


SMALL = Size(
    "2k",
    designers=200,
    customers=200,
    proofs=2_000,
    comments=10_000,
    activities=10_000,
    notifications=2_000,
)
LARGE = Size(
    "200k",
    designers=200,
    customers=20_000,
    proofs=200_000,
    comments=1_000_000,
    activities=1_000_000,
    notifications=200_000,
)

ADMIN_ID, BENCH_DESIGNER_ID, BENCH_CUSTOMER_ID = 1, 2, 1
VERSION_WEIGHTS = ((1, 40), (2, 30), (3, 20), (4, 10))
STATUS_WEIGHTS = (("awaiting_review", 30), ("changes_requested", 20), ("approved", 50))


@dataclass
class ProofPlan:
    """Column arrays for every proof (index i is proof id i + 1) and its versions."""

    designer: list[int] = field(default_factory=list)
    customer: list[int] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    created: list[float] = field(default_factory=list)  # epoch seconds
    last_activity: list[float] = field(default_factory=list)
    first_version_id: list[int] = field(default_factory=list)
    # per version, in id order: its proof index, number, page count, kind, created
    version_proof: list[int] = field(default_factory=list)
    version_pages: list[int] = field(default_factory=list)
    version_kind: list[str] = field(default_factory=list)
    version_created: list[float] = field(default_factory=list)
    comments: list[int] = field(default_factory=list)  # how many per proof
    activities: list[int] = field(default_factory=list)
    notifications: list[int] = field(default_factory=list)
    review_proof: int = 0  # indexes of the proofs whose pages are measured
    share_proof: int = 0
    bench_customer_proofs: list[int] = field(default_factory=list)

    def versions_of(self, i: int) -> range:
        end = (
            self.first_version_id[i + 1]
            if i + 1 < len(self.first_version_id)
            else len(self.version_proof) + 1
        )
        return range(self.first_version_id[i], end)


def _weighted(rng: random.Random, weights: tuple[tuple[object, int], ...]) -> object:
    return rng.choices([w[0] for w in weights], [w[1] for w in weights])[0]


def _spread(rng: random.Random, total: int, n: int) -> list[int]:
    counts = [0] * n
    for _ in range(total):
        counts[rng.randrange(n)] += 1
    return counts


def plan(size: Size, now: dt.datetime, seed: int = 7) -> ProofPlan:
    rng = random.Random(seed)
    n = size.proofs
    p = ProofPlan()
    start = now.timestamp() - YEARS * 365 * 86400
    span = (now.timestamp() - 86400) - start
    bench_rows = list(range(0, n, BENCH_DESIGNER_SHARE))
    p.review_proof, p.share_proof = bench_rows[-1], bench_rows[-2]
    step = len(bench_rows) // BENCH_CUSTOMER_PROOFS
    p.bench_customer_proofs = [bench_rows[k * step] for k in range(BENCH_CUSTOMER_PROOFS)]
    mine = set(p.bench_customer_proofs)
    special = {p.review_proof, p.share_proof}
    p.comments = _spread(rng, size.comments, n)
    p.activities = _spread(rng, size.activities, n)
    p.notifications = _spread(rng, size.notifications, n)
    version_id = 1
    for i in range(n):
        p.designer.append(
            BENCH_DESIGNER_ID
            if i % BENCH_DESIGNER_SHARE == 0
            else rng.randrange(BENCH_DESIGNER_ID + 1, size.designers + 2)
        )
        p.customer.append(
            BENCH_CUSTOMER_ID
            if i in mine
            else rng.randrange(BENCH_CUSTOMER_ID + 1, size.customers + 1)
        )
        created = start + span * i / n + rng.uniform(0, 3600)
        p.created.append(created)
        count = BENCH_PROOF_VERSIONS if i in special else int(_weighted(rng, VERSION_WEIGHTS))
        p.first_version_id.append(version_id)
        when = created
        for number in range(1, count + 1):
            if number > 1:
                when += rng.uniform(3600, 3 * 86400)
            if i in special:
                kind, pages = "pdf", BENCH_PROOF_PAGES
            elif rng.random() < 0.7:
                kind, pages = "pdf", rng.choices((1, 2, 3), (60, 25, 15))[0]
            else:
                kind, pages = "image", 1
            p.version_proof.append(i)
            p.version_pages.append(pages)
            p.version_kind.append(kind)
            p.version_created.append(when)
            version_id += 1
        p.last_activity.append(min(when + rng.uniform(600, 5 * 86400), now.timestamp() - 60))
        p.status.append("awaiting_review" if i in special else str(_weighted(rng, STATUS_WEIGHTS)))
        if i in special:
            p.comments[i] = BENCH_PROOF_COMMENTS
            p.activities[i] = BENCH_PROOF_ACTIVITIES
            p.notifications[i] = BENCH_PROOF_NOTIFICATIONS
    return p
