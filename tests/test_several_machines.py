"""Several machines (issue 7, item 5), the short version of the check `make bench` runs with
1,000 notifications: two app servers (gunicorn) and three `proofdesk worker` processes, each in
a folder of its own, on one PostgreSQL database (made for the test), moto's S3 server and a
redis-server the check starts itself (the machine's Redis is not touched), checked over HTTP.

What run_several_machines checks, and fails with a message about:
- a 3-page PDF uploaded through app server 1 is reviewed through app server 2: the review
  page, each page image (page 3 rendered by a worker or on demand, from the bucket) and the
  original; its share link opens it on both servers, and a comment through one shows on the other;
- the session started on app server 1 works on app server 2 as one server-side row, and
  logging out on 2 ends it on 1;
- 10 failed logins spread over both servers lock the account on both (429), counted in Redis;
- every notification is sent exactly once by the three workers: as many distinct Message-IDs
  as rows, each row sent at the first attempt;
- the bucket holds exactly the files the rows name, no app server wrote to its own disk, every
  process stops cleanly on SIGTERM and none logged a traceback."""

from __future__ import annotations

import pytest
from bench.several_machines import PartMissing, run_several_machines

from tests.conftest import POSTGRES_ADMIN_URL, skip_or_fail

NOTIFICATIONS = 200


@pytest.mark.postgres
def test_two_app_servers_and_three_workers_share_one_database_bucket_and_redis(tmp_path):
    try:
        results = run_several_machines(
            proofs=1,
            notifications=NOTIFICATIONS,
            workdir=tmp_path,
            postgres_admin_url=POSTGRES_ADMIN_URL,
            progress=print,
        )
    except PartMissing as missing:
        skip_or_fail(missing.part, missing.reason)
    assert results["emails_received"] == results["distinct_message_ids"] == NOTIFICATIONS
    assert results["page_3_rendered_by"][0] in {"worker", "on demand"}
    assert len(results["steps"]) == 8  # every step ran
