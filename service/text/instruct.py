"""What users write as an instruction, mapped onto the instructions CosyVoice3 was trained on.

CosyVoice3 follows a fixed list of instructions (upstream `cosyvoice/utils/common.py` `instruct_list`, the commit
instances install): 17 dialects, loud, soft, slow, fast, happy, sad, angry and two role plays. Free text such as
"用四川话说这句话" or "speak slowly" is not in that list, so it is mapped here to exactly one trained instruction;
anything that maps to none, or to more than one, is refused (HTTP 422 naming `instruct`) with the accepted forms.
The upstream test suite checks that every target below is in upstream's list, word for word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.text.errors import TextError

SYSTEM_PREFIX = "You are a helpful assistant."
END_OF_PROMPT = "<|endofprompt|>"


@dataclass(frozen=True)
class Instruction:
    key: str
    trained: str  # the sentence between upstream's system prefix and <|endofprompt|>
    pattern: str  # what users write, Chinese and English (case-insensitive)
    example: str


def _dialect(key: str, zh: str, pattern: str) -> Instruction:
    return Instruction(key, f"请用{zh}表达。", pattern, f"用{zh}说 / speak {key.replace('_', ' ')}")


INSTRUCTIONS: tuple[Instruction, ...] = (
    _dialect("cantonese", "广东话", r"广东话|廣東話|粤语|粵語|广府话|cantonese"),
    _dialect("northeastern", "东北话", r"东北话|東北話|northeast(ern)?( chinese| mandarin| dialect)?"),
    _dialect("gansu", "甘肃话", r"甘肃话|甘肅話|gansu"),
    _dialect("guizhou", "贵州话", r"贵州话|貴州話|guizhou"),
    _dialect("henan", "河南话", r"河南话|河南話|henan"),
    _dialect("hubei", "湖北话", r"湖北话|湖北話|hubei"),
    _dialect("hunan", "湖南话", r"湖南话|湖南話|hunan"),
    _dialect("jiangxi", "江西话", r"江西话|江西話|jiangxi"),
    _dialect("minnan", "闽南话", r"闽南话|閩南話|闽南语|閩南語|台语|台語|minnan|min nan|hokkien|taiwanese"),
    _dialect("ningxia", "宁夏话", r"宁夏话|寧夏話|ningxia"),
    _dialect("shanxi", "山西话", r"山西话|山西話|\bshanxi\b"),
    _dialect("shaanxi", "陕西话", r"陕西话|陝西話|shaanxi"),
    _dialect("shandong", "山东话", r"山东话|山東話|shandong"),
    _dialect("shanghainese", "上海话", r"上海话|上海話|沪语|滬語|shanghai(nese)?"),
    _dialect("sichuanese", "四川话", r"四川话|四川話|川话|sichuan(ese)?|szechuan(ese)?"),
    _dialect("tianjin", "天津话", r"天津话|天津話|tianjin"),
    _dialect("yunnan", "云南话", r"云南话|雲南話|yunnan"),
    Instruction(
        "loud",
        "Please say a sentence as loudly as possible.",
        r"大声|大聲|响亮|響亮|\bloud(er|ly)?\b|\bshout",
        "大声 / loudly",
    ),
    Instruction(
        "soft",
        "Please say a sentence in a very soft voice.",
        r"小声|小聲|轻声|輕聲|\bsoft(er|ly)?\b|\bquiet(er|ly)?\b|\bwhisper",
        "小声 / softly",
    ),
    Instruction("slow", "请用尽可能慢地语速说一句话。", r"慢|\bslow(er|ly)?\b", "慢一点 / slowly"),
    Instruction(
        "fast",
        "请用尽可能快地语速说一句话。",
        r"(?<![欢歡愉])快(?![乐樂活])|\bfast(er)?\b|\bquick(er|ly)?\b",
        "快一点 / fast",
    ),
    Instruction(
        "happy",
        "请非常开心地说一句话。",
        r"开心|開心|高兴|高興|快乐|快樂|愉快|\bhapp(y|ily)\b|\bcheerful(ly)?\b|\bjoyful(ly)?\b",
        "开心 / happily",
    ),
    Instruction("sad", "请非常伤心地说一句话。", r"伤心|傷心|难过|難過|悲伤|悲傷|\bsad(ly)?\b", "伤心 / sadly"),
    Instruction(
        "angry", "请非常生气地说一句话。", r"生气|生氣|愤怒|憤怒|\bangr(y|ily)\b|\bfurious(ly)?\b", "生气 / angrily"
    ),
    Instruction("peppa", "我想体验一下小猪佩奇风格，可以吗？", r"小猪佩奇|小豬佩奇|\bpeppa\b", "小猪佩奇 / Peppa Pig"),
    Instruction("robot", "你可以尝试用机器人的方式解答吗？", r"机器人|機器人|\brobot(ic)?\b", "机器人 / robot"),
)


class InstructError(TextError):
    """An instruction that maps to none, or more than one, of the trained instructions."""


def accepted_forms() -> str:
    return "; ".join(i.example for i in INSTRUCTIONS)


def _strip_frame(text: str) -> str:
    text = text.replace(END_OF_PROMPT, "").strip()
    if text.startswith(SYSTEM_PREFIX):
        text = text[len(SYSTEM_PREFIX) :].strip()
    return text


def map_instruction(text: str, *, field: str = "instruct") -> Instruction:
    """The one trained instruction `text` asks for; raises InstructError (naming `field`) otherwise."""
    core = _strip_frame(text)
    for instruction in INSTRUCTIONS:
        if core == instruction.trained:
            return instruction
    matched = [i for i in INSTRUCTIONS if re.search(i.pattern, core, re.IGNORECASE)]
    if len(matched) == 1:
        return matched[0]
    if not matched:
        raise InstructError(
            f"instruction '{core[:80]}' matches none of the instructions CosyVoice3 was trained on; "
            f"ask for one of: {accepted_forms()}",
            field=field,
        )
    raise InstructError(
        f"instruction '{core[:80]}' asks for {len(matched)} things at once "
        f"({', '.join(i.key for i in matched)}); CosyVoice3 follows one trained instruction per request",
        field=field,
    )
