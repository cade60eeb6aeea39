"""Named errors of the text stage; service/api/errors.py maps them to HTTP."""

from __future__ import annotations


class TextError(ValueError):
    """Bad text for synthesis; `field` names the request field it came from."""

    def __init__(self, message: str, *, field: str = "input") -> None:
        super().__init__(message)
        self.field = field


class EmptyTextError(TextError):
    """Nothing to say after trimming whitespace."""


class TextTooLongError(TextError):
    """More characters than the service accepts per request."""

    def __init__(self, *, length: int, limit: int, field: str = "input") -> None:
        super().__init__(
            f"text is {length} characters long; the limit is {limit} per request (split it into several requests)",
            field=field,
        )
        self.length = length
        self.limit = limit


class TagError(TextError):
    """A pronunciation tag holds a symbol that is neither an ARPAbet phone nor a pinyin part."""

    def __init__(self, message: str, *, symbol: str, field: str = "input") -> None:
        super().__init__(message, field=field)
        self.symbol = symbol
