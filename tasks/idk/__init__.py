""""I don't know": P(IK), a dataset of informative answers and abstentions, and an abstention benchmark.

:mod:`.constructed` holds the hand-written rows whose right response is to
decline (after the training cutoff, false premises, unknowable, private,
polite evasion), each with its criterion.
"""
