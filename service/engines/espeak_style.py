"""Natural-language instructions mapped to what espeak can do (voice, rate, pitch, volume); the rest is reported.

CosyVoice3 follows instructions such as "请用广东话表达" or "read it gently". espeak cannot act, but it has
Cantonese and Hakka voices and prosody knobs; this module applies those and returns, word for word, what it could
not honor, so the API can tell the client instead of dropping it silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Multipliers are stylistic choices (not measurements): audible but moderate changes.
_DIALECTS: tuple[tuple[str, str], ...] = (
    (r"粤语|粵語|广东话|廣東話|广府话|cantonese", "yue"),
    (r"客家话|客家話|客家|hakka", "hak"),
    (r"普通话|國語|国语|mandarin", "cmn"),
)
_STYLES: tuple[tuple[str, dict[str, float]], ...] = (
    (r"温柔|溫柔|轻柔|柔和|gentl[ey]|gently|tender", {"rate": 0.9, "volume": 0.8, "range": 0.6}),
    (r"快速|快一点|快一點|快点|快點|语速快|說快|说快|(?<![欢歡愉])快(?![乐樂])|fast(er)?|quick(ly)?", {"rate": 1.3}),
    (r"慢速|慢一点|慢一點|慢点|慢點|缓慢|慢|slow(er|ly)?", {"rate": 0.75}),
    (r"大声|大聲|响亮|響亮|loud(er|ly)?", {"volume": 1.6}),
    (r"小声|小聲|轻声|輕聲|soft(er|ly)?|quiet(ly)?|whisper(ing)?", {"volume": 0.6}),
    (r"高音|high[- ]pitched|higher", {"pitch": 1.4}),
    (r"低沉|低音|deep(er)?|low[- ]pitched|lower", {"pitch": 0.6}),
)
# Words that only frame an instruction ("please say it in ..."); what remains after removing them was not honored.
_FILLER = re.compile(
    r"you are a helpful assistant\.?|<\|endofprompt\|>|\b(please|speak|say|read|talk|it|this|that|in|a|an|the|with|"
    r"voice|tone|way|manner|style|and|more|very|bit|little|to|of|use|using|dialect|accent|like|sound|make|as|"
    r"rate|speed|volume|pitch|pace|bit)\b|请|請|用|说|說|讲|講|表达|表達|地|的|一点|一點|一些|些|语气|語氣|声音|聲音|"
    r"朗读|朗讀|读|讀|来|來|话|話|语速|語速|点|點|[\s,.!?;:，。！？；：、'\"“”]",
    re.IGNORECASE,
)


@dataclass
class Style:
    """Voice override and prosody multipliers taken from an instruction, and the words espeak ignored."""

    voice: str | None = None
    factors: dict[str, float] = field(default_factory=dict)
    honored: list[str] = field(default_factory=list)
    unhonored: str = ""


def parse_instruction(instruction: str | None) -> Style:
    style = Style()
    if not instruction:
        return style
    rest = instruction
    for pattern, voice in _DIALECTS:
        match = re.search(pattern, rest, re.IGNORECASE)
        if match:
            style.voice = style.voice or voice
            style.honored.append(match.group(0))
            rest = re.sub(pattern, " ", rest, flags=re.IGNORECASE)
    for pattern, effect in _STYLES:
        match = re.search(pattern, rest, re.IGNORECASE)
        if match:
            for knob, factor in effect.items():
                style.factors[knob] = style.factors.get(knob, 1.0) * factor
            style.honored.append(match.group(0))
            rest = re.sub(pattern, " ", rest, flags=re.IGNORECASE)
    style.unhonored = " ".join(_FILLER.sub(" ", rest).split())
    return style
