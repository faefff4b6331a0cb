"""Out-of-memory back-off shared by scoring and generation.

A batch that does not fit is split in half and each half is run on its
own, recursively, in the original order; the parts that fit are handed out
as soon as they are done, so nothing finished is lost. One item that alone
does not fit raises the caller's error, which says what to change.
"""
from __future__ import annotations

import sys
from typing import Callable, Iterator, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception is a (CUDA or host) out-of-memory error.

    >>> is_out_of_memory(RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"))
    True
    """
    text = str(exc).lower()
    return (isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"
            or "out of memory" in text or "can't allocate memory" in text)


def split_on_oom(
    batch: Sequence[T],
    run: Callable[[Sequence[T]], R],
    *,
    too_big: Callable[[T], Exception],
    on_split: Callable[[Sequence[T]], None] | None = None,
) -> Iterator[tuple[Sequence[T], R]]:
    """``run`` the batch; on out-of-memory run its halves instead. Yields ``(part, run(part))`` in order.

    Args:
        batch: the items to run together.
        run: runs a part of the batch; may raise an out-of-memory error.
        too_big: builds the error raised when one item alone runs out of memory.
        on_split: told which part was split (e.g. to lower a token budget).

    Example:
        >>> def run(part):
        ...     if len(part) > 2:
        ...         raise RuntimeError("CUDA out of memory")
        ...     return sum(part)
        >>> [(list(p), r) for p, r in split_on_oom([1, 2, 3, 4, 5], run, too_big=ValueError)]
        [([1, 2], 3), ([3], 3), ([4, 5], 9)]
    """
    stack = [batch]
    while stack:
        part = stack.pop()
        try:
            result = run(part)
        except (RuntimeError, MemoryError) as exc:  # torch.cuda.OutOfMemoryError is a RuntimeError
            if not is_out_of_memory(exc):
                raise
            _release_cached_gpu_memory()
            if len(part) == 1:
                raise too_big(part[0]) from None
            if on_split is not None:
                on_split(part)
            half = len(part) // 2
            stack.extend([part[half:], part[:half]])
            continue
        yield part, result


def _release_cached_gpu_memory() -> None:
    torch = sys.modules.get("torch")  # whoever ran out of memory has imported it
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
