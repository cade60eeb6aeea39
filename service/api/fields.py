"""String types for request fields: text must be encodable as UTF-8.

JSON may carry a lone surrogate (`"\\ud800"`); Python decodes it into a str that UTF-8 cannot encode, so it would
fail later in the engine, the file system or the error body itself. Refused at the edge, naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError


def utf8_text(value: str) -> str:
    """The value unchanged, or an `invalid_unicode` error naming the first lone surrogate by code point (the
    character itself cannot be sent back)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PydanticCustomError(
            "invalid_unicode",
            "contains a lone surrogate U+{code_point} at position {position}; send valid Unicode",
            {"code_point": f"{ord(value[exc.start]):04X}", "position": exc.start},
        ) from exc
    return value


Utf8Str = Annotated[str, AfterValidator(utf8_text)]
"""A str field that refuses lone surrogates (422 naming the field)."""


# Documented in the OpenAPI schema (so clients and fuzzers know it), checked by service.text with a clearer message
# than a pattern error: text to say needs at least one letter or digit (punctuation alone says nothing).
def speakable_schema(schema: dict[str, Any]) -> None:
    schema.update({"pattern": "[^\\W_]", "minLength": 1})
