"""Which SMTP hosts Proofdesk may connect to: public addresses only, unless allowed."""

from __future__ import annotations

import ipaddress

from proofdesk.mail import SendError, resolve


def check_host(host: str, port: int, *, allow_private: bool) -> tuple[str, ...]:
    """The addresses of `host` a mailer may connect to. Loopback, link-local, private and
    metadata addresses are refused (SSRF) unless the operator allows them with
    SMTP_ALLOW_PRIVATE_HOSTS (tests and on-premises relays). The name is resolved once here
    and the mailer connects to these addresses only, so that a name answering differently
    the next time (DNS rebinding) cannot lead it elsewhere."""
    addresses = resolve(host, port)
    if allow_private:
        return addresses
    for text in addresses:
        address = ipaddress.ip_address(text)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise SendError(
                "connect",
                f"{host} resolves to {address}, a private or local "
                "address; the operator has not allowed those "
                "(SMTP_ALLOW_PRIVATE_HOSTS)",
                permanent=True,
            )
    return addresses
