"""The one error type shift rules raise; the API maps `code` to an HTTP status."""

from __future__ import annotations

# code -> HTTP status, used by server/routes/shifts.py; the CLI exits 1 on any.
STATUS = {"invalid": 400, "forbidden": 403, "not_found": 404, "conflict": 409}


class ShiftError(Exception):
    """A refused shift operation; `message` is written for the person who asked."""

    def __init__(self, message: str, code: str = "conflict", field: str = "") -> None:
        super().__init__(message)
        if code not in STATUS:
            raise ValueError(f"unknown shift error code {code!r}")
        self.code = code
        self.field = field

    @property
    def status(self) -> int:
        return STATUS[self.code]
