"""The text a model reads: chat-template rendering, the assistant's separator, and an answer read after its context.

Base form: a prompt's text and options as they are. Chat form: the
conversation rendered with the tokenizer's own chat template, assistant turn
opened, then the separator the template itself writes before the
assistant's text (read off the template, never one rule for all: Llama-2's
``" "`` after ``[/INST]``, nothing after ChatML's ``assistant\n``). Scoring
(:mod:`calibkit.engine.rows`), generation and nudging all start an answer
exactly there.

Only the tokenizer is used (its template, its BOS text): this module never
loads a model, never tokenizes and never imports torch.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from calibkit.engine.models import ModelError, first_line
from calibkit.records import Prompt, Turn


def _chat_messages(tokenizer: Any, turns: Sequence[Turn], system_prompt: str | None) -> tuple[list[dict], str]:
    """The messages the template accepts, and their rendering with the assistant turn opened.

    System text: ``system_prompt`` first, then the conversation's own system
    turn, in one system message; a template that refuses the system role
    gets it prepended to the first user turn instead.
    """
    system = [t.content for t in turns if t.role == "system"]
    if system_prompt:
        system.insert(0, system_prompt)
    dialogue = [{"role": t.role, "content": t.content} for t in turns if t.role != "system"]
    messages = ([{"role": "system", "content": "\n\n".join(system)}] if system else []) + dialogue
    try:
        return messages, tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception as exc:  # jinja2 TemplateError from raise_exception(); no common base class
        if not system or "system" not in str(exc).lower():
            raise ModelError(f"the chat template cannot render this conversation: {first_line(exc)}") from None
    merged = [dict(m) for m in dialogue]
    merged[0]["content"] = "\n\n".join(system) + "\n\n" + merged[0]["content"]
    return merged, tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=True)


def render_chat(tokenizer: Any, turns: Sequence[Turn], *, system_prompt: str | None = None) -> str:
    """A conversation rendered with the tokenizer's chat template, assistant turn opened.

    This is the generation prompt: the model writes what follows, including
    any separator its template puts before the assistant's text. System
    text: ``system_prompt`` (the run's ``--system-prompt``) comes first and
    the conversation's own system turn follows it, in one system message.
    Templates that refuse a system role (Gemma-2's raise an error) get the
    system text prepended to the first user turn instead, as their model
    cards advise.
    """
    return _chat_messages(tokenizer, turns, system_prompt)[1]


_SENTINEL = "CALIBKITASSISTANTTEXT"  # stands for the assistant's words when rendering a finished turn


def render_reply_context(tokenizer: Any, turns: Sequence[Turn], *, system_prompt: str | None = None,
                         assistant_prefix: str = "") -> str:
    """The context a model continues to write its reply: :func:`render_chat`, then, when the reply starts with a
    given ``assistant_prefix``, the template's :func:`assistant_separator` and the prefix, as
    :func:`render_context` scores it (so a generated and a scored reading of one prompt read one context)."""
    messages, opened = _chat_messages(tokenizer, turns, system_prompt)
    if not assistant_prefix:
        return opened
    return opened + assistant_separator(tokenizer, messages, opened) + assistant_prefix


def assistant_separator(tokenizer: Any, messages: Sequence[dict], opened: str) -> str:
    """What the template writes between the opened assistant turn and the assistant's text.

    Read off the template itself: ``messages`` plus an assistant message
    holding a sentinel is rendered as a finished conversation, and the text
    between ``opened`` (the same messages rendered with the generation
    prompt) and the sentinel is the separator: ``" "`` for Llama-2
    (``[/INST] answer </s>``), ``""`` for ChatML and Gemma, whose generation
    prompts already end in a newline. A template whose finished rendering
    does not extend its generation prompt has no separator to read: ``""``.
    """
    try:
        closed = tokenizer.apply_chat_template(
            [*messages, {"role": "assistant", "content": _SENTINEL}], tokenize=False, add_generation_prompt=False
        )
    except Exception:  # a template that cannot end on an assistant turn
        return ""
    before = closed[: closed.find(_SENTINEL)] if _SENTINEL in closed else None
    if before is None or not before.startswith(opened):
        return ""
    return before[len(opened):]


def render_context(
    prompt: Prompt, tokenizer: Any, *, chat: bool, system_prompt: str | None = None
) -> tuple[str, tuple[str, ...]]:
    """The context string and option strings to score for one prompt.

    Base form: ``(prompt.text, prompt.options)``. Chat form: the conversation
    rendered with the tokenizer's chat template with the assistant turn
    opened, then the template's own :func:`assistant_separator`, then
    ``prompt.assistant_prefix``; the option follows. When nothing precedes
    the option inside the assistant turn its word-boundary space (one
    leading ``" "``, lm-eval's target delimiter) is dropped, so the option
    starts exactly where the template puts the assistant's text; whitespace
    the continuation itself begins with stays (COPA's ``"  the ..."`` is
    scored as ``" the ..."``, as lm-eval's ``--apply_chat_template`` does).
    The scorer then moves a whitespace separator onto the option, as lm-eval
    moves any trailing whitespace: Llama-2 scores ``" A"`` after
    ``[/INST]``, ChatML ``"\nA"`` after ``<|im_start|>assistant``.

    System text as in :func:`render_chat`. A multiple-input prompt has no
    single context: use :func:`render_pairs`.
    """
    if prompt.option_contexts:
        raise ValueError(f"prompt {prompt.id!r} has a context per option; use render_pairs")
    return _render_one(prompt.turns or (Turn("user", prompt.text),), prompt, tokenizer,
                       chat=chat, system_prompt=system_prompt)


def render_pairs(
    prompt: Prompt, tokenizer: Any, *, chat: bool, system_prompt: str | None = None
) -> tuple[tuple[str, str], ...]:
    """The (context, option) string pair to score for each option, as :func:`render_context` renders them.

    A multiple-input prompt renders each ``option_contexts[i]`` in place of
    ``text`` (chat form: as the user turn) before ``options[i]``.
    """
    if not prompt.option_contexts:
        context, options = render_context(prompt, tokenizer, chat=chat, system_prompt=system_prompt)
        return tuple((context, o) for o in options)
    pairs = []
    for context, option in zip(prompt.option_contexts, prompt.options):
        one = replace(prompt, text=context, options=(option,), option_contexts=(), answer=None)
        rendered, (scored,) = render_context(one, tokenizer, chat=chat, system_prompt=system_prompt)
        pairs.append((rendered, scored))
    return tuple(pairs)


def _render_one(turns: Sequence[Turn], prompt: Prompt, tokenizer: Any, *, chat: bool,
                system_prompt: str | None) -> tuple[str, tuple[str, ...]]:
    if not chat:
        return prompt.text, prompt.options
    if not getattr(tokenizer, "chat_template", None):
        raise ModelError("this model has no chat template; use --chat-template off")
    messages, opened = _chat_messages(tokenizer, turns, system_prompt)
    text = opened + assistant_separator(tokenizer, messages, opened) + prompt.assistant_prefix
    if prompt.assistant_prefix:
        return text, prompt.options
    # Only the word-boundary space goes (lm-eval drops its target delimiter " " under a chat
    # template); any further whitespace belongs to the continuation: COPA's "  the ..." -> " the ...".
    return text, tuple(o[1:] if o.startswith(" ") else o for o in prompt.options)


def starts_with_bos(text: str, tokenizer: Any) -> bool:
    """Whether a rendered text already carries the BOS token as its first characters."""
    bos = getattr(tokenizer, "bos_token", None)
    return bool(bos) and text.startswith(bos)


def reading(context: str, separator: str | None, answer: str) -> str:
    """What a model reads to go on with ``answer``: the scorer's separator rule.

    Base form (``separator`` None): the answer as written. Chat form: the
    template's separator, then the answer without its leading whitespace
    (the context alone while the answer has no text).

    Example:
        >>> reading("[/INST]", " ", " William"), reading("Answer:", None, " Paris")
        ('[/INST] William', 'Answer: Paris')
    """
    if separator is None:
        return context + answer
    body = answer.lstrip()
    return context + separator + body if body else context
