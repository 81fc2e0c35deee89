"""Errors a service raises for a person to read."""


class ServiceError(Exception):
    """Bad input: `message` is shown next to `field` (or at the top of the form)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
