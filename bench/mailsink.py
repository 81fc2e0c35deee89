"""A local SMTP sink for the mail bench (aiosmtpd, plain SMTP on 127.0.0.1): it accepts every
message and appends "<arrival time> <Message-ID>" to a file. Run as
`python -m bench.mailsink PORT FILE` until SIGTERM."""

from __future__ import annotations

import logging
import re
import signal
import sys
import threading
import time
from typing import Any

from aiosmtpd.controller import Controller

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)


class Sink:
    def __init__(self, path: str) -> None:
        self.out = open(path, "a", buffering=1)  # noqa: SIM115 - open for the process's life
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        arrived = time.time()
        match = MESSAGE_ID.search(envelope.original_content or b"")
        with self.lock:
            self.out.write(f"{arrived:.6f} {match.group(1).decode() if match else '-'}\n")
        return "250 2.0.0 Ok: queued"


def main() -> None:
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    port, path = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(path), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("listening", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
