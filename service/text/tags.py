"""Inline pronunciation tags: ARPAbet phones (`[M][AY0][N][UW1][T]`) and pinyin with tone (`[j][ǐ]`).

CosyVoice3 reads these tags natively, so its text passes through unchanged; espeak gets the same sounds as its own
phoneme input (ARPAbet) or as tone-numbered pinyin, which its Mandarin dictionary reads (`ji3` gives the same
phonemes as 几; checked with espeak_TextToPhonemes). CosyVoice3's non-verbal tags (`[breath]`, `<strong>`) are
recognized too, so they are not mistaken for bad pinyin.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from service.text.errors import TagError

# The 39 CMU Pronouncing Dictionary phones (vowels take a stress digit 0-2); source: CMUdict README, cmudict.phones.
ARPABET_VOWELS = frozenset(["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"])
ARPABET_CONSONANTS = frozenset(
    [
        "B",
        "CH",
        "D",
        "DH",
        "F",
        "G",
        "HH",
        "JH",
        "K",
        "L",
        "M",
        "N",
        "NG",
        "P",
        "R",
        "S",
        "SH",
        "T",
        "TH",
        "V",
        "W",
        "Y",
        "Z",
        "ZH",
    ]
)

# ARPAbet -> espeak-ng English phoneme mnemonics (espeak-ng docs/phonemes, en phoneme table).
_ARPABET_TO_ESPEAK = {
    "AA": "A:", "AE": "a", "AH": "V", "AO": "O:", "AW": "aU", "AY": "aI", "EH": "E", "ER": "3:", "EY": "eI",
    "IH": "I", "IY": "i:", "OW": "oU", "OY": "OI", "UH": "U", "UW": "u:",
    "B": "b", "CH": "tS", "D": "d", "DH": "D", "F": "f", "G": "g", "HH": "h", "JH": "dZ", "K": "k", "L": "l",
    "M": "m", "N": "n", "NG": "N", "P": "p", "R": "r", "S": "s", "SH": "S", "T": "t", "TH": "T", "V": "v",
    "W": "w", "Y": "j", "Z": "z", "ZH": "Z",
}  # fmt: skip

# Standard Mandarin pinyin initials and finals (GB/T 16159 spelling; ü also written v).
PINYIN_INITIALS = frozenset(
    [
        "b",
        "p",
        "m",
        "f",
        "d",
        "t",
        "n",
        "l",
        "g",
        "k",
        "h",
        "j",
        "q",
        "x",
        "zh",
        "ch",
        "sh",
        "r",
        "z",
        "c",
        "s",
        "y",
        "w",
    ]
)
PINYIN_FINALS = frozenset(
    [
        "a",
        "o",
        "e",
        "i",
        "u",
        "ü",
        "v",
        "ai",
        "ei",
        "ao",
        "ou",
        "an",
        "en",
        "ang",
        "eng",
        "ong",
        "er",
        "ia",
        "ie",
        "iao",
        "iu",
        "iou",
        "ian",
        "in",
        "iang",
        "ing",
        "iong",
        "ua",
        "uo",
        "uai",
        "ui",
        "uei",
        "uan",
        "un",
        "uen",
        "uang",
        "ueng",
        "üe",
        "ve",
        "ue",
        "üan",
        "van",
        "uan",
        "ün",
        "vn",
        "n",
        "ng",
        "m",
    ]
)
_TONE_MARKS = {
    "ā": ("a", 1), "á": ("a", 2), "ǎ": ("a", 3), "à": ("a", 4), "ē": ("e", 1), "é": ("e", 2), "ě": ("e", 3),
    "è": ("e", 4), "ī": ("i", 1), "í": ("i", 2), "ǐ": ("i", 3), "ì": ("i", 4), "ō": ("o", 1), "ó": ("o", 2),
    "ǒ": ("o", 3), "ò": ("o", 4), "ū": ("u", 1), "ú": ("u", 2), "ǔ": ("u", 3), "ù": ("u", 4), "ǖ": ("ü", 1),
    "ǘ": ("ü", 2), "ǚ": ("ü", 3), "ǜ": ("ü", 4), "ń": ("n", 2), "ň": ("n", 3), "ǹ": ("n", 4), "ḿ": ("m", 2),
}  # fmt: skip

# CosyVoice3's non-verbal / emphasis tokens (its tokenizer's special tokens).
CONTROL_TAGS = frozenset(
    [
        "[breath]",
        "[noise]",
        "[laughter]",
        "[cough]",
        "[clucking]",
        "[accent]",
        "[quick_breath]",
        "[hissing]",
        "[sigh]",
        "[vocalized-noise]",
        "[lipsmack]",
        "[mn]",
        "<strong>",
        "</strong>",
        "<laughter>",
        "</laughter>",
    ]
)

_TOKEN = re.compile(r"\[[^\[\]\s]{1,16}\]|</?(?:strong|laughter)>")


@dataclass(frozen=True)
class Segment:
    """A run of the text: plain words, an ARPAbet word, a pinyin syllable run, or a CosyVoice3 control tag."""

    kind: Literal["plain", "arpabet", "pinyin", "control"]
    text: str  # as written in the request
    symbols: tuple[str, ...] = ()  # ARPAbet phones or tone-numbered pinyin syllables (e.g. "ji3")


def _pinyin_part(symbol: str) -> tuple[str, int | None]:
    """('j', None) for an initial, ('i', 3) for a final with tone; raises TagError for anything else."""
    normalized = unicodedata.normalize("NFC", symbol)
    if normalized in PINYIN_INITIALS:
        return normalized, None
    tone: int | None = None
    base = ""
    for char in normalized:
        if char in _TONE_MARKS:
            letter, tone = _TONE_MARKS[char]
            base += letter
        else:
            base += char
    if tone is None and base[-1:].isdigit() and base[-1] in "12345":
        base, tone = base[:-1], int(base[-1])
    syllable_initial = next((i for i in sorted(PINYIN_INITIALS, key=len, reverse=True) if base.startswith(i)), "")
    final = base[len(syllable_initial) :] if base not in PINYIN_FINALS else base
    if final not in PINYIN_FINALS:
        raise TagError(
            f"unknown pronunciation symbol '[{symbol}]': not an ARPAbet phone (e.g. [AY0]) "
            "nor a pinyin initial/final with tone (e.g. [j][ǐ] or [ji3])",
            symbol=symbol,
        )
    if tone is None:
        raise TagError(f"pinyin '[{symbol}]' has no tone; write it as '[{base}3]' or with a tone mark", symbol=symbol)
    return base.replace("ü", "v"), tone


def _arpabet(symbol: str) -> bool:
    match = re.fullmatch(r"([A-Z]{1,2})([0-2]?)", symbol)
    if not match:
        return False
    phone, stress = match.groups()
    if phone in ARPABET_VOWELS:
        return True
    if phone in ARPABET_CONSONANTS and not stress:
        return True
    raise TagError(f"unknown ARPAbet phone '[{symbol}]' (stress digits 0-2 go on vowels only)", symbol=symbol)


# Any bracketed token (the model's vocabulary decides which exist) and the model's own control markers (<|...|>).
_VOCAB_TOKEN = re.compile(r"\[[^\[\]\s]{1,24}\]|</?[a-z_]{1,24}>")
_CONTROL_MARKER = re.compile(r"<\|[^|<>]{0,40}\|>")


def parse_vocabulary_tags(text: str, vocabulary: frozenset[str]) -> list[Segment]:
    """Split text into plain runs and tags, accepting exactly the tags in `vocabulary` (a model tokenizer's special
    tokens, e.g. CosyVoice3's CMU phones `[AY0]`, pinyin parts `[j]` `[ǐ]` and non-verbal tags `[breath]`)."""
    marker = _CONTROL_MARKER.search(text)
    if marker:
        raise TagError(
            f"'{marker.group(0)}' is a model control marker, not text; remove it (instructions go in 'instruct')",
            symbol=marker.group(0),
        )
    segments: list[Segment] = []
    position = 0
    for match in _VOCAB_TOKEN.finditer(text):
        token = unicodedata.normalize("NFC", match.group(0))
        if token not in vocabulary:
            raise TagError(_unknown_tag_message(token, vocabulary), symbol=token)
        if match.start() > position:
            segments.append(Segment("plain", text[position : match.start()]))
        segments.append(Segment("control", token))
        position = match.end()
    if position < len(text):
        segments.append(Segment("plain", text[position:]))
    return segments


def _unknown_tag_message(token: str, vocabulary: frozenset[str]) -> str:
    close = difflib.get_close_matches(token, sorted(vocabulary), n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return (
        f"unknown pronunciation tag '{token}'{hint}: this model knows CMU phones with stress ([M][AY1][N][AH0][T]), "
        "pinyin as an initial and a toned final in separate brackets ([j][ǐ], [m][a]) and non-verbal tags "
        "([breath], [laughter], <strong>...</strong>)"
    )


def parse_tags(text: str) -> list[Segment]:
    """Split text into plain runs and validated tag groups; adjacent tags of one kind form one group."""
    segments: list[Segment] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() > position:
            segments.append(Segment("plain", text[position : match.start()]))
        position = match.end()
        token = match.group(0)
        if token in CONTROL_TAGS:
            segments.append(Segment("control", token))
            continue
        symbol = token[1:-1]
        kind: Literal["arpabet", "pinyin"] = "arpabet" if symbol.isupper() and _arpabet(symbol) else "pinyin"
        last = segments[-1] if segments else None
        if last is not None and last.kind == kind and text[match.start() - 1] == "]":
            segments[-1] = Segment(kind, last.text + token, (*last.symbols, symbol))
        else:
            segments.append(Segment(kind, token, (symbol,)))
    if position < len(text):
        segments.append(Segment("plain", text[position:]))
    for segment in segments:
        if segment.kind == "pinyin":
            _pinyin_syllables(segment.symbols)  # validates
    return segments


def _pinyin_syllables(symbols: tuple[str, ...]) -> list[str]:
    """Join initials with the following final: ('j', 'ǐ') -> ['ji3']."""
    syllables: list[str] = []
    pending_initial = ""
    for symbol in symbols:
        part, tone = _pinyin_part(symbol)
        if tone is None:
            if pending_initial:
                raise TagError(f"pinyin initial '[{pending_initial}]' is not followed by a final", symbol=symbol)
            pending_initial = part
            continue
        syllables.append(f"{pending_initial}{part}{tone}")
        pending_initial = ""
    if pending_initial:
        raise TagError(f"pinyin initial '[{pending_initial}]' is not followed by a final", symbol=pending_initial)
    return syllables


def arpabet_to_espeak(phones: tuple[str, ...]) -> str:
    """espeak phoneme input for one ARPAbet word: [M][AY1][N] -> "[[m'aIn]]" (stress mark before the vowel)."""
    out = []
    for phone in phones:
        base, stress = phone.rstrip("012"), phone[len(phone.rstrip("012")) :]
        mark = {"1": "'", "2": ","}.get(stress, "")
        mnemonic = "@" if (base == "AH" and stress == "0") else _ARPABET_TO_ESPEAK[base]
        out.append(mark + mnemonic)
    return "[[" + "".join(out) + "]]"


def pinyin_to_espeak(symbols: tuple[str, ...]) -> str:
    """Tone-numbered syllables espeak's Mandarin voice reads: ('j', 'ǐ') -> 'ji3'."""
    return " ".join(_pinyin_syllables(symbols))
