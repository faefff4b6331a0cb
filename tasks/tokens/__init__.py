"""Token profiles: how sure a base and a post-trained model are of each token and word of each other's answers.

:mod:`.align` (tokens onto the answer's words, across tokenizers),
:mod:`.run` (answers written and read), :mod:`.study` (URIAL's classes,
word classes, entropies, with CIs), :mod:`.report`, :mod:`.task`
(`calibkit run tokens`). The reading itself is
:func:`calibkit.engine.scoring.profile_tokens`.
"""
from .task import Tokens

__all__ = ["Tokens"]
