"""One run across the processes torchrun or accelerate launch started: shards, rank files, one summary.

:func:`share_items` does a run's items alone or with the other ranks.
Data parallel: every rank holds the whole model on its own device and
scores its own shard of the items still to do. Rank 0 opens the run folder,
prepares what the run decides once (e.g. TriviaQA's few-shot P(True)
examples), reads what is stored and cuts the rest into shards
(:func:`shard_plan`); every rank appends its rows to its own file in the
folder (``results.rank-<k>.jsonl``); after a barrier rank 0 merges them
into results.jsonl in item order (:meth:`RunStore.consolidate`) and the
command writes the summary once. :func:`join_launch` starts the ranks and
checks that they all run the same command. A shard is whole prefix groups,
balanced by token count: an MMLU subject's few-shot prefix stays on one
rank, so the prefix cache keeps working.

Tensor parallel (``--tp``): all ranks hold one model between them and
compute every item together; each writes its own file, the same rows, and
the merge keeps one copy.

Resuming needs nothing special: the stored ids are those of every file, so
a run killed on one rank, or resumed with another number of processes,
scores only what is missing. Samples do not depend on the shards because
their seeds are per question (:func:`calibkit.engine.generation.context_seed`).
This module never imports torch: the messages go through
:class:`calibkit.engine.distributed.Ranks`.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, TypeVar

from calibkit.progress import ProgressBar
from calibkit.records import Prompt
from calibkit.runs.store import CONFIG_FILE, RunError, RunStore

if TYPE_CHECKING:
    from calibkit.engine.distributed import Ranks
    from calibkit.engine.models import LoadedModel

T = TypeVar("T")

MIN_SHARED_CHARS = 64  # texts sharing less than this are not worth keeping together


# --------------------------------------------------------------------------- the plan (pure)


def work_text(item: Any) -> tuple[str, str]:
    """``(context, continuation)``: what the model reads for an item, to group and weigh it.

    A :class:`~calibkit.records.Prompt` gives its context (its turns' text
    in chat form) and its options; an item with a ``shard_text()`` method
    gives that; any other item its id (every such item weighs the same).
    """
    if isinstance(item, Prompt):
        if item.option_contexts:
            return "\n".join(item.option_contexts), "".join(item.options)
        context = "\n".join(t.content for t in item.turns) if item.turns else item.text
        return context, "".join(item.options)
    if callable(getattr(item, "shard_text", None)):
        return item.shard_text(), ""
    return str(item.id), ""


def prefix_groups(texts: Sequence[str], *, min_shared: int = MIN_SHARED_CHARS) -> list[tuple[int, list[int]]]:
    """Group texts that share a long prefix: ``[(shared prefix length in characters, indices), ...]``.

    The scorer's rule, on characters: texts are sorted, and a text joins its
    neighbours' group while the prefix they all share stays at least
    ``min_shared`` characters and at least half of what the group shared
    before it came. Groups and indices come in sorted-text order.

    >>> prefix_groups(["header\\n" * 20 + "q1", "header\\n" * 20 + "q2", "other"])
    [(141, [0, 1]), (0, [2])]
    """
    order = sorted(range(len(texts)), key=lambda i: texts[i])
    groups: list[tuple[int, list[int]]] = []
    members: list[int] = []
    shared = 0
    for i in order:
        if members:
            common = _common_prefix(texts[members[-1]], texts[i])
            both = common if len(members) == 1 else min(shared, common)
            if both >= min_shared and (len(members) == 1 or 2 * both >= shared):
                members.append(i)
                shared = both
                continue
            groups.append((shared if len(members) > 1 else 0, members))
        members, shared = [i], 0
    if members:
        groups.append((shared if len(members) > 1 else 0, members))
    return groups


def assign_groups(costs: Sequence[int], world_size: int) -> list[int]:
    """The rank of each group: the costliest group first, each to the least loaded rank (ties: lowest rank).

    Graham's longest-processing-time rule: the most loaded rank carries at
    most 4/3 of the best possible load.

    >>> assign_groups([5, 3, 3, 2], 2)
    [0, 1, 1, 0]
    """
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be a positive int; got {world_size!r}")
    load = [0] * world_size
    rank_of = [0] * len(costs)
    for g in sorted(range(len(costs)), key=lambda g: (-costs[g], g)):
        rank = min(range(world_size), key=lambda r: (load[r], r))
        rank_of[g] = rank
        load[rank] += costs[g]
    return rank_of


def shard_plan(items: Sequence[Any], count_tokens: Callable[[list[str]], list[int]], world_size: int
               ) -> list[list[str]]:
    """Each rank's item ids, in the items' order: whole prefix groups, balanced by tokens.

    ``count_tokens`` maps texts to their token counts (the model's
    tokenizer). A group costs its items' tokens with the shared prefix
    counted once, as the prefix cache computes it.
    """
    texts = [work_text(it) for it in items]
    groups = prefix_groups([context for context, _ in texts])
    full = count_tokens([context + continuation for context, continuation in texts])
    prefixes = count_tokens([texts[members[0]][0][:shared] for shared, members in groups])
    costs = [sum(full[i] for i in members) - (len(members) - 1) * prefix
             for (_, members), prefix in zip(groups, prefixes)]
    rank_of_item = [0] * len(items)
    for (_, members), rank in zip(groups, assign_groups(costs, world_size)):
        for i in members:
            rank_of_item[i] = rank
    return [[it.id for it, r in zip(items, rank_of_item) if r == rank] for rank in range(world_size)]


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def tokens_counter(model: LoadedModel) -> Callable[[list[str]], list[int]]:
    """Token counts of texts under a model's tokenizer (no special tokens), in batches."""
    def count(texts: list[str]) -> list[int]:
        out: list[int] = []
        for start in range(0, len(texts), 1024):
            chunk = texts[start:start + 1024]
            out.extend(len(ids) for ids in model.tokenizer(chunk, add_special_tokens=False)["input_ids"])
        return out
    return count


# --------------------------------------------------------------------------- the run


def share_items(
    ranks: Ranks | None, items: Sequence[T], *,
    open_store: Callable[[], RunStore],
    work: Callable[[RunStore, Sequence[T], bool], None],
    prepare: Callable[[RunStore, Sequence[T]], None] | None = None,
    count_tokens: Callable[[list[str]], list[int]] | None = None,
    tensor_parallel: bool = False, progress: bool = True, desc: str | None = None,
) -> tuple[RunStore, int]:
    """Do the items of one run that are not stored yet, alone or shared by the ranks; returns (store, how many now).

    ``open_store()`` opens (or resumes) the run folder; ``prepare(store,
    todo)`` decides what the run decides once, before any row, from every
    item still to do; ``work(store, items, bars)`` appends the rows of
    ``items`` to ``store`` (``bars``: whether it may draw progress bars of
    its own); ``count_tokens`` weighs items for the shards (None: the
    items' characters). Every rank calls this with the same arguments and
    gets the same answer; a finished run is one results.jsonl in item
    order either way.
    """
    if ranks is None or not ranks.launch.parallel:
        store = open_store()
        todo = pending(store, items)
        if todo and prepare is not None:
            prepare(store, todo)
        if todo:
            work(store, todo, progress)
        store.consolidate([it.id for it in items])  # type: ignore[attr-defined]
        return store, len(todo)
    return _share(ranks, items, open_store=open_store, work=work, prepare=prepare,
                  count_tokens=count_tokens or (lambda texts: [len(t) for t in texts]),
                  tensor_parallel=tensor_parallel, progress=progress, desc=desc)


def _share(ranks: Ranks, items: Sequence[T], *, open_store: Callable[[], RunStore],
           work: Callable[[RunStore, Sequence[T], bool], None], prepare: Callable[[RunStore, Sequence[T]], None] | None,
           count_tokens: Callable[[list[str]], list[int]], tensor_parallel: bool, progress: bool,
           desc: str | None) -> tuple[RunStore, int]:
    launch = ranks.launch
    # Rank 0 creates the folder and its config.json; then the others open it and must find the same configuration.
    first = ranks.check(open_store if launch.main else _nothing, "opening the run folder")
    where = Path(ranks.broadcast(str(first.path) if launch.main else None))

    def open_shared() -> RunStore:
        if not (where / CONFIG_FILE).is_file():
            raise RunError(f"rank {launch.rank} cannot see the run folder {where} that rank 0 created; "
                           "put --out on a filesystem every node shares")
        store = open_store()
        if store.path.resolve() != where.resolve():
            raise RunError(f"rank {launch.rank} opened {store.path}, rank 0 {where}; "
                           "launch every process with the same command from the same folder")
        return store

    store = ranks.check(_nothing if launch.main else open_shared, "opening the run folder") or first

    # What a run decides once (recorded in config.json) rank 0 decides, except under tensor
    # parallelism, where every forward pass needs every rank.
    def prepare_pending() -> None:
        todo = pending(store, items)
        if todo and prepare is not None:
            prepare(store, todo)

    ranks.check(prepare_pending if launch.main or tensor_parallel else _nothing, "preparing the run")

    def plan() -> tuple[int, list[list[str]]]:
        todo = pending(store, items)
        if tensor_parallel:
            return len(todo), [[it.id for it in todo]] * launch.world_size
        return len(todo), shard_plan(todo, count_tokens, launch.world_size)

    n_todo, shards = ranks.broadcast(ranks.check(plan if launch.main else _nothing, "planning the shards"))
    mine = set(shards[launch.rank])
    with RankFilesProgress(store, n_todo, enabled=progress and launch.main and not tensor_parallel,
                           desc=desc) as bar:
        here = [it for it in items if it.id in mine]  # type: ignore[attr-defined]
        if here:  # under TP rank 0 does every item: its own bars are the run's
            work(store.for_rank(launch.rank), here, tensor_parallel and launch.main and progress)
        ranks.wait_for_all(poll=bar.refresh)
    if launch.main:
        store.consolidate([it.id for it in items])  # type: ignore[attr-defined]
    ranks.wait_for_all()  # no rank reads the folder before the merge is done
    return store, n_todo


def _nothing() -> None:
    return None


def pending(store: RunStore, items: Sequence[T]) -> list[T]:
    """The items whose ``id`` has no row in the store yet, in their order."""
    done = store.completed_ids()
    return [it for it in items if it.id not in done]  # type: ignore[attr-defined]


def reports(ranks: Ranks | None) -> bool:
    """Whether this process writes the report and prints: it runs alone, or it is rank 0 of a launch."""
    return ranks is None or ranks.launch.main


def check_world_size(ranks: Ranks | None, n_items: int, *, tensor_parallel: bool = False) -> None:
    """Refuse a data-parallel launch of more processes than the run has items (each rank checks, no message needed)."""
    if ranks is None or tensor_parallel or n_items >= ranks.launch.world_size:
        return
    raise RunError(f"{ranks.launch.world_size} processes for a run of {n_items} items; "
                   f"launch at most {n_items} processes (--nproc-per-node) or run more items")


def join_launch(command: Mapping[str, Any], *, flags: Mapping[str, str], tensor_parallel: bool = False
                ) -> Ranks | None:
    """The ranks of this launch (None when the process runs alone), once every rank showed the same ``command``.

    ``command``: the options this process was started with, by name;
    ``flags``: their command-line spelling, for the message when ranks differ.
    Options that only say how a process shows its part (``quiet``,
    ``threads``, ``as_json``) may differ.
    """
    from calibkit.engine.distributed import DistributedError, Ranks, launch_from_env, work_timeout_s

    launch = launch_from_env()
    if not launch.parallel:
        return None
    ranks = Ranks(launch, work_timeout_s=work_timeout_s(), tensor_parallel=tensor_parallel)
    mine = {k: repr(v) for k, v in command.items() if k not in ("quiet", "threads", "as_json")}
    everyone = ranks.gather(mine)
    differ = sorted({k for other in everyone for k in set(other) | set(mine) if other.get(k) != everyone[0].get(k)})
    if differ:
        ranks.close()
        raise DistributedError(f"the {launch.world_size} processes were started with different settings "
                               f"({', '.join(flags.get(k, k) for k in differ)}); "
                               "launch every process with the same command")
    return ranks


class RankFilesProgress:
    """Rank 0's progress bar: the rows every rank has appended to its file, counted from disk every second."""

    def __init__(self, store: RunStore, total: int, *, enabled: bool, desc: str | None = None) -> None:
        self.store = store
        self.bar = ProgressBar(total, enabled=enabled, desc=desc)
        self._sizes = {p.name: p.stat().st_size for p in store.path.glob("results.rank-*.jsonl")}  # not this run's
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, daemon=True) if self.bar.bar is not None else None

    def refresh(self) -> None:
        """Count the new lines in the rank files and move the bar by them."""
        if self.bar.bar is None:
            return
        with self._lock:
            new = 0
            for path in self.store.path.glob("results.rank-*.jsonl"):
                size = path.stat().st_size
                start = min(self._sizes.get(path.name, 0), size)  # an interrupted last line may have been cut
                with open(path, "rb") as f:
                    f.seek(start)
                    new += f.read(size - start).count(b"\n")
                self._sizes[path.name] = size
            self.bar.update(new)

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            self.refresh()

    def __enter__(self) -> RankFilesProgress:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.refresh()
        self.bar.close()
