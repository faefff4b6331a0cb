"""The free-answer layer: questions asked for a short written answer, and how that answer is read and judged.

Shared by every task that asks free answers (triviaqa, nq_open, pik, idk,
tokens, nudging), one module per concern: :mod:`.question` (the
:class:`~.question.Question` record and its seeded shots), :mod:`.answers`
(the matchers), :mod:`.layouts` (how a question and its shots are written),
:mod:`.ptrue` (Kadavath et al.'s P(True) self-evaluation prompt), the
loaders (:mod:`.triviaqa_data`, :mod:`.nq_open_data`, :mod:`.more_data`),
:mod:`.specs` (one row per question source: loader, layout, matcher,
decoding) and :mod:`.answering` (the one routine that decodes answers).
Nothing here imports another task folder's modules, except the MMLU
loader (asked lazily, for ``--questions mmlu``).
"""
