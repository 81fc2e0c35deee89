"""Which SMTP hosts Proofdesk may connect to: public addresses only, unless allowed."""

from __future__ import annotations

import ipaddress
import socket

from proofdesk.mail import SendError


def check_host(host: str, port: int, *, allow_private: bool) -> None:
    """Refuse loopback, link-local, private and metadata addresses (SSRF) unless the operator
    allows them with SMTP_ALLOW_PRIVATE_HOSTS (tests and on-premises relays)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise SendError("connect", f"cannot resolve {host}", permanent=False) from exc
    if allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise SendError("connect", f"{host} resolves to {address}, a private or local "
                                       "address; the operator has not allowed those "
                                       "(SMTP_ALLOW_PRIVATE_HOSTS)", permanent=True)
