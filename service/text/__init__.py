"""Text handling before synthesis: length limits, pronunciation tags, number/date normalization."""

from service.text.errors import EmptyTextError, TagError, TextError, TextTooLongError
from service.text.prepare import PreparedText, prepare_text

__all__ = ["EmptyTextError", "PreparedText", "TagError", "TextError", "TextTooLongError", "prepare_text"]
