"""How a model reads an answer after its context: the scorer's separator rule, read off the chat template."""
from __future__ import annotations

from calibkit.engine.chat import reading
from calibkit.tasks.free_answer.layouts import CHAT_INSTRUCTION, KADAVATH_LAYOUT
from calibkit.tasks.free_answer.question import Question
from calibkit.tasks.free_answer.specs import QuestionSet
from calibkit.tasks.freeform.pair import Reader, answer_separator, context_for

from conftest import shared_path
from tiny_models import llama2_tokenizer, loaded

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def test_answer_separator_is_the_templates_own():
    tok = llama2_tokenizer(shared_path("llama2_tokenizer"))
    question = Question(id="t/0", question="Who wrote Hamlet?", aliases=("Shakespeare",))
    questions = QuestionSet("t", (question,), KADAVATH_LAYOUT, "triviaqa", CHAT_INSTRUCTION, {})
    q = questions.questions[0]
    chat, base = Reader("nudger", loaded(None, tok), True), Reader("base", loaded(None, tok), False)
    assert answer_separator(questions, q, chat) == " "  # Llama-2: `[/INST] answer </s>`
    assert reading(context_for(questions, q, chat), " ", " William").endswith("[/INST] William")
    assert answer_separator(questions, q, base) is None
    assert reading(context_for(questions, q, base), None, " William").endswith("Answer: William")
    tok.chat_template = CHATML
    assert answer_separator(questions, q, chat) == ""  # the generation prompt already ends in a newline
    assert reading(context_for(questions, q, chat), "", " William").endswith("assistant\nWilliam")


def test_roles_and_comma_lists_are_the_two_model_commands_shared_parsers():
    """One roles rule and one comma-list parser for tokens, nudging and rhymes; bad input is a one-line UserError."""
    import pytest

    from calibkit.errors import UserError
    from calibkit.tasks.freeform.pair import comma_numbers, roles
    from calibkit.tasks.nudging.task import parse_gammas
    from calibkit.tasks.rhymes.task import parse_words

    assert roles(["a", "b"]) == ("base", "chat") and roles(["a"]) == ("model",)
    with pytest.raises(UserError, match=r"^--model was given 3 times: give one model, or a base and a chat model"):
        roles(["a", "b", "c"])
    assert comma_numbers(" 0.4,0.1,, 0.4", option="--g", kind=float, what="numbers", example="1") == (0.1, 0.4)
    assert comma_numbers("", option="--k", kind=int, what="whole numbers", example="1,2") == ()
    with pytest.raises(UserError, match=r"^--k '1,1\.5': give whole numbers, comma-separated \(e\.g\. 1,2\)$"):
        comma_numbers("1,1.5", option="--k", kind=int, what="whole numbers", example="1,2")
    assert parse_gammas("1,0") == (0.0, 1.0) and parse_words("2,1") == (1, 2)
    with pytest.raises(UserError, match=r"^--forced-words 'two': give whole numbers, comma-separated \(e\.g\. 1,2,4\)$"):
        parse_words("two")
    with pytest.raises(UserError, match="each k must be at least 1"):
        parse_words("0,1")
