"""Named chat templates: what `chat_template: llama3` (Axolotl) or `template: qwen3` (LLaMA-Factory) means.

A recipe names its chat template, gives Jinja source, or leaves it to the tokenizer. Names are resolved
here to Jinja that the renderer runs, so a run is rendered as the framework renders it even when the
model is not on disk (the stand-in tokenizer has no template of the model's family). The templates are
written by the project from each family's documented prompt format — the layout of roles, turn
markers and the end-of-turn string the model learns to emit — not copied from the frameworks. They
cover plain chat (system, user, assistant); tools and images are out of scope.

`tokenizer_default` (Axolotl, and TRL's behaviour) means the tokenizer's own template;
`tokenizer_default_fallback_<name>` the tokenizer's own, else `<name>`. Both are resolved by the
renderer, which has the tokenizer. This module imports nothing from the project: recipe readers use it
to refuse an unknown name at the line that gives it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

TOKENIZER_DEFAULT = "tokenizer_default"
FALLBACK_PREFIX = "tokenizer_default_fallback_"
_NAME = re.compile(r"^[A-Za-z0-9][\w.\-]*$")

# ChatML, used when neither the recipe nor the tokenizer provides a template. (Kept byte for byte: the
# tiny models' tokenizer stores it.)
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# A plain-text layout without special role tokens ("### User:" / "### Assistant:"); answers end with EOS.
PLAIN_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] + '\n\n' }}"
    "{% else %}{{ '### ' + (message['role'] | capitalize) + ':\n' + message['content'] }}"
    "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}{{ '\n\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '### Assistant:\n' }}{% endif %}"
)


@dataclass(frozen=True)
class NamedTemplate:
    name: str  # canonical name
    family: str  # in words, for reports
    jinja: str
    end_of_turn: str  # the string that closes an assistant turn ("" when it is the tokenizer's EOS)


def _lit(text: str) -> str:
    """A Jinja string literal."""
    return json.dumps(text, ensure_ascii=False)


def _expr(fmt: str) -> str:
    """A Jinja expression for `fmt`, whose {role} {content} {bos} {eos} {sys} stand for the message's role
    and content, the tokenizer's BOS / EOS and the system prompt."""
    names = {"role": "role", "content": "message['content']", "bos": "bos_token", "eos": "eos_token",
             "sys": "ns.sys"}
    parts = re.split(r"(\{role\}|\{content\}|\{bos\}|\{eos\}|\{sys\})", fmt)
    pieces = [names[p[1:-1]] if p.startswith("{") and p[1:-1] in names else _lit(p) for p in parts if p]
    return " + ".join(pieces) or "''"


def _template(
    *,
    user: str,
    assistant: str,
    system: str | None,
    generation: str,
    start: str = "",
    roles: dict[str, str] | None = None,
    merge_system: str | None = None,
    default_system: str | None = None,
) -> str:
    """Jinja for a turn-based format.

    `system`: the format of a system turn, or None when the family has none; then `merge_system` (with
    {sys} and {content}) is how the system prompt joins the first user turn. `roles` renames roles in
    {role} (Gemma calls the assistant "model"). `start` opens the conversation (e.g. "{bos}").
    """
    roles = roles or {}
    role = "message['role']"
    for old, new in roles.items():
        role = f"({_lit(new)} if message['role'] == {_lit(old)} else {role})"
    head = "{%- set ns = namespace(sys=" + (_lit(default_system) if default_system is not None else "none") + ") -%}"
    head += (
        "{%- if messages and messages[0]['role'] == 'system' -%}{%- set ns.sys = messages[0]['content'] -%}"
        "{%- set loop_messages = messages[1:] -%}{%- else -%}{%- set loop_messages = messages -%}{%- endif -%}"
    )
    body = "{{- " + _expr(start) + " -}}" if start else ""
    if system is not None:
        body += "{%- if ns.sys is not none -%}{%- set role = 'system' -%}{%- set message = {'content': ns.sys} -%}"
        body += "{{- " + _expr(system) + " -}}{%- endif -%}"
    body += "{%- for message in loop_messages -%}{%- set role = " + role + " -%}"
    if system is None and merge_system is not None:
        body += (
            "{%- if loop.first and ns.sys is not none and message['role'] == 'user' -%}"
            "{%- set message = {'role': 'user', 'content': (" + _expr(merge_system) + ")} -%}{%- endif -%}"
        )
    body += "{%- if message['role'] == 'assistant' -%}{{- " + _expr(assistant) + " -}}"
    body += "{%- else -%}{{- " + _expr(user) + " -}}{%- endif -%}{%- endfor -%}"
    body += "{%- if add_generation_prompt -%}{{- " + _expr(generation) + " -}}{%- endif -%}"
    return head + body


def _role_tagged(turn: str, generation: str, *, start: str = "", roles: dict[str, str] | None = None,
                 default_system: str | None = None) -> str:
    """Every role in one format (`turn` with {role} and {content})."""
    return _template(user=turn, assistant=turn, system=turn, generation=generation, start=start, roles=roles,
                     default_system=default_system)


_QWEN_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
_CHATML_TURN = "<|im_start|>{role}\n{content}<|im_end|>\n"
_LLAMA3_TURN = "<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>"


def _qwen3() -> str:
    # Qwen3 renders the answer after the last user turn with a thinking block; with no reasoning given it is
    # empty. Earlier answers are rendered bare (Qwen3 drops the reasoning of earlier turns).
    last_user = "{%- set ns2 = namespace(last=-1) -%}{%- for m in messages -%}{%- if m['role'] == 'user' -%}" \
                "{%- set ns2.last = loop.index0 -%}{%- endif -%}{%- endfor -%}"
    return last_user + (
        "{%- for message in messages -%}{%- if message['role'] == 'assistant' and loop.index0 > ns2.last -%}"
        "{{- '<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n' + message['content'] + '<|im_end|>\\n' -}}"
        "{%- else -%}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
        "{%- endif -%}{%- endfor -%}{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
    )


def _mistral(inst_open: str, inst_close: str, answer: str) -> str:
    return _template(user=inst_open + "{content}" + inst_close, assistant=answer, system=None,
                     merge_system="{sys}\n\n{content}", generation="", start="{bos}")


_DEFINITIONS: dict[str, tuple[str, str, str]] = {
    # name: (family in words, jinja, end of turn)
    "chatml": ("ChatML", CHATML_TEMPLATE, "<|im_end|>"),
    "plain": ("plain text (### User: / ### Assistant:)", PLAIN_TEMPLATE, ""),
    "chatml_bos": ("ChatML after the BOS token (Falcon-H1)", _role_tagged(_CHATML_TURN, "<|im_start|>assistant\n",
                                                                          start="{bos}"), "<|im_end|>"),
    "qwen2": ("Qwen2 (ChatML, default system prompt)",
              _role_tagged(_CHATML_TURN, "<|im_start|>assistant\n", default_system="You are a helpful assistant."),
              "<|im_end|>"),
    "qwen2_5": ("Qwen2.5 (ChatML, Qwen's default system prompt)",
                _role_tagged(_CHATML_TURN, "<|im_start|>assistant\n", default_system=_QWEN_SYSTEM), "<|im_end|>"),
    "qwen3": ("Qwen3 (ChatML, an empty thinking block before the last answer)", _qwen3(), "<|im_end|>"),
    "llama2": ("Llama 2 ([INST] ... [/INST], system in <<SYS>>)",
               _template(user="[INST] {content} [/INST]", assistant=" {content} {eos}", system=None,
                         merge_system="<<SYS>>\n{sys}\n<</SYS>>\n\n{content}", generation="", start="{bos}"), ""),
    "llama3": ("Llama 3.x (header ids, <|eot_id|>)",
               _role_tagged(_LLAMA3_TURN, "<|start_header_id|>assistant<|end_header_id|>\n\n", start="{bos}"),
               "<|eot_id|>"),
    "llama4": ("Llama 4 (<|header_start|>, <|eot|>)",
               _role_tagged("<|header_start|>{role}<|header_end|>\n\n{content}<|eot|>",
                            "<|header_start|>assistant<|header_end|>\n\n", start="{bos}"), "<|eot|>"),
    "mistral_v1": ("Mistral v1 ( [INST] ... [/INST])", _mistral(" [INST] ", " [/INST]", "{content}{eos}"), ""),
    "mistral_v2v3": ("Mistral v2/v3 ([INST] ...[/INST])", _mistral("[INST] ", "[/INST]", " {content}{eos}"), ""),
    "mistral_v3_tekken": ("Mistral v3 Tekken ([INST]...[/INST])", _mistral("[INST]", "[/INST]", "{content}{eos}"), ""),
    "mistral_v7_tekken": ("Mistral v7 Tekken ([SYSTEM_PROMPT], [INST])",
                          _template(user="[INST]{content}[/INST]", assistant="{content}{eos}",
                                    system="[SYSTEM_PROMPT]{content}[/SYSTEM_PROMPT]", generation="", start="{bos}"),
                          ""),
    "gemma": ("Gemma 1/2/3 (<start_of_turn>, the assistant is 'model')",
              _template(user="<start_of_turn>{role}\n{content}<end_of_turn>\n",
                        assistant="<start_of_turn>{role}\n{content}<end_of_turn>\n", system=None,
                        merge_system="{sys}\n\n{content}", generation="<start_of_turn>model\n", start="{bos}",
                        roles={"assistant": "model"}), "<end_of_turn>"),
    "phi3": ("Phi-3 / Phi-3.5 (<|user|>, <|end|>)",
             _role_tagged("<|{role}|>\n{content}<|end|>\n", "<|assistant|>\n"), "<|end|>"),
    "phi4": ("Phi-4 (<|im_start|>, <|im_sep|>)",
             _role_tagged("<|im_start|>{role}<|im_sep|>{content}<|im_end|>", "<|im_start|>assistant<|im_sep|>"),
             "<|im_end|>"),
    "deepseek_v2": ("DeepSeek V2 (User: / Assistant:)",
                    _template(user="User: {content}\n\n", assistant="Assistant: {content}{eos}", system="{content}\n\n",
                              generation="Assistant:", start="{bos}"), ""),
    "deepseek_v3": ("DeepSeek V3 / R1 (<｜User｜>, <｜Assistant｜>)",
                    _template(user="<｜User｜>{content}", assistant="<｜Assistant｜>{content}<｜end▁of▁sentence｜>",
                              system="{content}", generation="<｜Assistant｜>", start="{bos}"),
                    "<｜end▁of▁sentence｜>"),
    "cohere": ("Cohere Command / Aya (<|START_OF_TURN_TOKEN|>)",
               _template(user="<|START_OF_TURN_TOKEN|><|USER_TOKEN|>{content}<|END_OF_TURN_TOKEN|>",
                         assistant="<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>{content}<|END_OF_TURN_TOKEN|>",
                         system="<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>{content}<|END_OF_TURN_TOKEN|>",
                         generation="<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>", start="{bos}"),
               "<|END_OF_TURN_TOKEN|>"),
    "granite": ("IBM Granite 3 (<|start_of_role|>)",
                _role_tagged("<|start_of_role|>{role}<|end_of_role|>{content}<|end_of_text|>\n",
                             "<|start_of_role|>assistant<|end_of_role|>"), "<|end_of_text|>"),
    "exaone": ("EXAONE ([|user|], [|endofturn|])",
               _template(user="[|user|]{content}\n", assistant="[|assistant|]{content}[|endofturn|]\n",
                         system="[|system|]{content}[|endofturn|]\n", generation="[|assistant|]"), "[|endofturn|]"),
    "glm4": ("GLM-4 ([gMASK]<sop>, <|user|>)",
             _role_tagged("<|{role}|>\n{content}", "<|assistant|>", start="[gMASK]<sop>"), ""),
    "zephyr": ("Zephyr (<|user|> ... </s>)", _role_tagged("<|{role}|>\n{content}{eos}\n", "<|assistant|>\n"), ""),
    "alpaca": ("Alpaca (### Instruction: / ### Response:)",
               _template(user="### Instruction:\n{content}\n\n", assistant="### Response:\n{content}{eos}\n\n",
                         system="{content}\n\n", generation="### Response:\n"), ""),
    "vicuna": ("Vicuna (USER: / ASSISTANT:)",
               _template(user="USER: {content} ", assistant="ASSISTANT: {content}{eos}", system="{content} ",
                         generation="ASSISTANT:"), ""),
    "metharme": ("Metharme / Pygmalion (<|user|>, <|model|>)",
                 _template(user="<|user|>{content}", assistant="<|model|>{content}{eos}", system="<|system|>{content}",
                           generation="<|model|>", start="{bos}"), ""),
    "default": ("LLaMA-Factory's default (Human: / Assistant:)",
                _template(user="Human: {content}\n", assistant="Assistant: {content}{eos}\n", system="{content}\n",
                          generation="Assistant:"), ""),
    "empty": ("no markup (LLaMA-Factory's 'empty')",
              _template(user="{content}", assistant="{content}{eos}", system="{content}", generation=""), ""),
}

KNOWN: dict[str, NamedTemplate] = {n: NamedTemplate(n, fam, jinja, end) for n, (fam, jinja, end) in _DEFINITIONS.items()}

# Framework names -> the template they render as (text only: vision variants render text as their base does).
ALIASES: dict[str, str] = {
    # Axolotl `chat_template`
    "falcon_h1": "chatml_bos", "qwen_25": "qwen2_5", "qwen2_vl": "qwen2", "qwen3_5": "qwen3",
    "llama3_2_vision": "llama3", "mistral_v2": "mistral_v2v3", "mistral_v3": "mistral_v2v3", "pixtral": "mistral_v7_tekken",
    "gemma2": "gemma", "gemma3": "gemma", "gemma3n": "gemma", "phi_3": "phi3", "phi_35": "phi3", "phi_4": "phi4",
    "aya": "cohere", "command_a": "cohere", "granitemoe": "granite", "llava": "vicuna", "exaone4": "exaone",
    # LLaMA-Factory `template`
    "qwen": "qwen2_5", "qwen2_5_vl": "qwen2", "qwen3_nothink": "chatml", "qwen3_vl": "qwen3", "yi": "chatml",
    "intern2": "chatml", "intern_vl": "chatml", "mllama": "llama3", "llama2_zh": "llama2", "mistral": "mistral_v3_tekken",
    "ministral": "mistral_v7_tekken", "mistral_small": "mistral_v7_tekken", "phi": "phi3", "phi_small": "phi3",
    "phi4_mini": "phi3", "deepseek": "deepseek_v2", "deepseek3": "deepseek_v3", "deepseekr1": "deepseek_v3",
    "granite3": "granite", "granite4": "granite", "glm4_moe": "glm4", "cpm": "chatml",
}


def is_template_name(text: str) -> bool:
    """A name (as opposed to Jinja source): letters, digits, '_', '.', '-'."""
    return bool(_NAME.match(text.strip())) and "{" not in text


def lookup(name: str) -> NamedTemplate | None:
    """The named template `name` (canonical or a framework's alias, case-insensitive), or None."""
    key = name.strip().lower()
    return KNOWN.get(ALIASES.get(key, key))


def known_names() -> list[str]:
    return sorted({*KNOWN, *ALIASES, TOKENIZER_DEFAULT, FALLBACK_PREFIX + "<name>"})


def unknown_name_message(name: str) -> str:
    return f"unknown chat template {name!r}; known: {', '.join(known_names())}"


@dataclass(frozen=True)
class TemplateChoice:
    """What a recipe's chat-template value means: Jinja source, the tokenizer's own template, the tokenizer's
    own else a named one (`fallback`), or a named one. `named` is None for Jinja and the tokenizer's own."""

    kind: str  # "jinja" | "tokenizer" | "fallback" | "named"
    named: NamedTemplate | None = None


def parse_choice(value: str) -> TemplateChoice:
    """Read a recipe's chat-template value; ValueError (listing the known names) for a name we do not know."""
    if not is_template_name(value):
        return TemplateChoice("jinja")  # compiled (and refused if broken) when rendering
    name = value.strip().lower()
    if name == TOKENIZER_DEFAULT:
        return TemplateChoice("tokenizer")
    kind = "fallback" if name.startswith(FALLBACK_PREFIX) else "named"
    named = lookup(name.removeprefix(FALLBACK_PREFIX))
    if named is None:
        raise ValueError(unknown_name_message(value))
    return TemplateChoice(kind, named)


def check_name(value: str) -> str | None:
    """Why `value` (a recipe's chat template) is not usable, or None when it is (see `parse_choice`)."""
    try:
        parse_choice(value)
    except ValueError as exc:
        return str(exc)
    return None


END_OF_TURN_STRINGS: tuple[str, ...] = tuple(dict.fromkeys(t.end_of_turn for t in KNOWN.values() if t.end_of_turn))
