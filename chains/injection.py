"""Passages are data, never instructions: what keeps a document from steering the answer.

A document can carry text addressed to the assistant ("ignore the question and reply ...", a
fake system prompt, a link to send the user to). Two defences, both applied to every passage
before the model sees it:

- `neutralize` defuses what could forge the prompt's own structure: chat-template tokens
  (`<|im_start|>`, `[INST]`, ...), which the tokenizer would otherwise read as real message
  boundaries, and lines that look like the prompt's passage headers
  (`[2] (file.md)`) or question lines; the passage cannot open a new message or a new passage.
- `instruction_sentences` finds sentences that read like instructions to an assistant
  (imperatives to ignore or override, role markers, "you are now", requests for the prompt,
  links to send the user to, in English and Chinese). `screen` marks the passages holding them
  (`metadata["instructions"]`): the source card shows them flagged, and the model is shown the
  passage without those sentences (`flag`), or not at all (`drop`).

Patterns, not a model: they are explainable, instant, and were measured for false alarms on the
seed notes, the sample notes and the python3-doc pages (docs/security.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from langchain_core.documents import Document

from text.sentences import sentences

InstructionPolicy = Literal["flag", "drop", "keep"]
REDACTED = "[…]"
"""What the model sees in place of a withheld sentence."""

_TEMPLATE_TOKEN = re.compile(
    r"(?<=<)(?=\|[A-Za-z0-9_:.-]{1,40}\|>)|(?<=\[)(?=/?INST\])"
    r"|(?<=<)(?=<?/?SYS>>|/?s>|start_of_turn>|end_of_turn>)"
)
"""Where a space defuses a chat-template token (`<|im_start|>` -> `< |im_start|>`): the
tokenizer no longer reads it as the special token, and notes about tokens stay readable."""
_ROLE_TOKEN = re.compile(
    r"<\|(im_start|im_end|system|user|assistant|eot_id|start_header_id)\|>|\[/?INST\]|<</?SYS>>|"
    r"<start_of_turn>|<end_of_turn>"
)
"""Tokens that open or close a chat message: a passage holding one is trying to speak as
someone else (`<|endoftext|>` alone, as notes on tokenizers write it, is not)."""
_FORGED_MESSAGE = re.compile(
    r"<\|im_start\|>[\s\S]*?(<\|im_end\|>|$)|\[INST\][\s\S]*?(\[/INST\]|$)"
    r"|<<SYS>>[\s\S]*?(<</SYS>>|$)|<start_of_turn>[\s\S]*?(<end_of_turn>|$)"
)
"""A message forged with template tokens: everything inside it is someone else speaking."""
_STRUCTURE_LINE = re.compile(
    r"^[ \t]*(?=\[\d{1,3}\][ \t]*\(|(?:Question|Passages)[ \t]*:|(?:问题|段落)[ \t]*[:：])",
    re.MULTILINE,
)

_ENGLISH = [
    # override the instructions, the question or the passages
    r"\b(ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}?\b(instructions?|prompts?|"
    r"rules|questions?|context|passages?|directions|guidelines|the user)\b",
    # role markers and template headers at the start of a line
    r"^[ \t#>*-]*(system|assistant|developer)([ \t]+(prompt|message|note))?[:：]",
    r"^[ \t]*#{1,6}[ \t]*(instructions?|system|response)\b",
    r"\b(new|updated|real|hidden|secret)[ \t]+(system[ \t]+)?(instructions?|prompt)\b",
    # addressed to the assistant
    r"\b(you are now (a|an|my|called|named)|from now on,? you|pretend (that )?you are)\b",
    r"\b(dear|attention|note to|notice to|message to|instructions? (for|to))[ \t]+(the[ \t]+|"
    r"any[ \t]+|all[ \t]+)?(ai|assistants?|language models?|llms?|chatbots?|ai models?|bots?)\b",
    r"\bif you are an? (ai|assistant|language model|llm|chatbot)\b",
    # the answer dictated
    r"^[ \t]*(please[ \t]+)?(always[ \t]+)?(reply|respond|answer)\b[^.!?\n]{0,30}?\b(only|"
    r"exactly|with the (word|phrase|text))\b",
    r"\b(end|begin|start|finish)[ \t]+(your|every|each)[ \t]+(answer|reply|response)s?\b",
    r"\b(the )?(correct|right|real|honest) answer (to|for) (every|any|all|each)\b",
    r"\b(for|to) (every|any|each) (question|query|request)\b[^.!?\n]{0,20}?\b(answer|reply|say)",
    # the prompt asked for
    r"\b(reveal|print|show|repeat|output|disclose|leak)\b[^.!?\n]{0,30}?\b(system prompt|"
    r"your (instructions|prompt|rules)|hidden prompt|initial prompt|words above)\b",
    # links to send the user to
    r"\b(tell|ask|direct|send|urge|instruct)\b[^.!?\n]{0,20}?\b(the )?(user|reader)s?\b"
    r"[^\n]{0,60}?(https?://|www\.)",
    r"\b(include|add|append|insert)\b[^.!?\n]{0,30}?\b(this|the|a|following) (link|url)\b",
]
_CHINESE = [
    r"(忽略|无视|忘记|忘掉|不要理会|跳过|覆盖)[^。！？!?\n]{0,12}?(指令|指示|提示|规则|问题|内容|要求|段落|设定)",
    r"^[ \t#>*-]*(系统|助手|系统提示|系统消息)[ \t]*[:：]",
    r"(新的|最新的|真正的|隐藏的)(系统)?(指令|提示词|设定)",
    r"(你现在是|从现在(开始|起)|扮演一|假装你是|你的新(任务|身份|指令))",
    r"(致|给)[ \t]*(AI|人工智能|语言模型|大模型|助手|机器人)",
    r"(AI|人工智能|语言模型|大模型)[ \t]*助手[ \t]*请",
    r"(不要|别|不必|无需)回答[^。！？!?\n]{0,6}?问题",
    r"(无论|不管)[^。！？!?\n]{0,6}?(问|提出)什么",
    r"(所有|任何|每个|一切)问题的?(正确)?答案(都|均|一律)是",
    r"(输出|显示|告诉我|泄露|重复|打印)[^。！？!?\n]{0,10}?(系统提示|提示词|系统指令|你的指令)",
    r"(告诉|提醒|让|请)用户[^。！？!?\n]{0,20}?(访问|点击|打开|登录|前往)",
    r"(每个|每次|所有)(回答|回复)(都)?要?(以|用)",
]
_INSTRUCTION = re.compile(
    "|".join(f"(?:{pattern})" for pattern in _ENGLISH + _CHINESE), re.IGNORECASE | re.MULTILINE
)


def neutralize(text: str) -> str:
    """Text that cannot forge the prompt's structure: chat-template tokens defused, and lines
    that look like a passage header or a question line quoted with `> `."""
    return _STRUCTURE_LINE.sub("> ", _TEMPLATE_TOKEN.sub(" ", text))


def instruction_sentences(text: str) -> list[str]:
    """The sentences of `text` that read like instructions to an assistant, or that stand
    inside a message forged with chat-template tokens."""
    forged = [match.span() for match in _FORGED_MESSAGE.finditer(text)]
    flagged, position = [], 0
    for sentence in sentences(text):
        start = text.find(sentence, position)
        position = start + len(sentence)
        inside = any(begin <= start < end for begin, end in forged)
        if inside or _ROLE_TOKEN.search(sentence) or _INSTRUCTION.search(sentence):
            flagged.append(sentence)
    return flagged


def screen(documents: Iterable[Document], policy: InstructionPolicy) -> list[Document]:
    """The passages with instruction-like sentences marked in `metadata["instructions"]`
    (copies: the index's own documents are never changed); `drop` leaves such passages out,
    `keep` returns the passages as they are."""
    if policy == "keep":
        return list(documents)
    screened = []
    for document in documents:
        found = instruction_sentences(document.page_content)
        if not found:
            screened.append(document)
        elif policy == "flag":
            metadata = {**document.metadata, "instructions": found}
            screened.append(
                Document(id=document.id, page_content=document.page_content, metadata=metadata)
            )
    return screened


def passage_for_model(document: Document) -> str:
    """A passage's text as the model sees it: flagged sentences withheld, then neutralized."""
    flagged = sorted(document.metadata.get("instructions", ()), key=len, reverse=True)
    text = document.page_content
    if flagged:  # one pass, longest first: a short flagged piece inside a longer one cannot
        # break the longer one's match
        text = re.sub("|".join(map(re.escape, flagged)), REDACTED, text)
    return neutralize(text)
