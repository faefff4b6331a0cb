"""The free-answer family: questions asked for a short written answer, how the answer is read and judged, and
the free-answer run with its confidence signals.

The layer, shared by every task that asks free answers (triviaqa, nq_open,
pik, idk, tokens, nudging), one module per concern: :mod:`.question` (the
:class:`~.question.Question` record and its seeded shots), :mod:`.answers`
(the matchers), :mod:`.layouts` (how a question and its shots are written),
:mod:`.ptrue` (Kadavath et al.'s P(True) self-evaluation prompt), the
loaders (:mod:`.triviaqa_data`, :mod:`.nq_open_data`, :mod:`.more_data`),
:mod:`.specs` (one row per question source: loader, layout, matcher,
decoding) and :mod:`.answering` (the one routine that decodes answers).

The run over one spec row (``calibkit run triviaqa`` / ``nq_open`` register
:class:`.task.FreeAnswerTask`): :mod:`.run` (answers, samples, P(True),
signal inputs) with :mod:`.stages` (verbal, words, NLI), then from disk
:mod:`.study`, :mod:`.signals` (the signal table), :mod:`.signal_pairs`,
:mod:`.comparison`, :mod:`.departures`, :mod:`.words_report`, :mod:`.report`
and :mod:`.paper`. Nothing here imports a task folder (MMLU's rows come from
the multiple-choice family).
"""
