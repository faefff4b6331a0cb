"""One run across the processes torchrun or accelerate launch started: shards, rank files, one summary.

:func:`share_items` does a run's items alone or with the other ranks.
Data parallel: every rank holds the whole model on its own device and
scores its own shard of the items still to do. Rank 0 opens the run folder,
prepares what the run decides once (e.g. TriviaQA's few-shot P(True)
examples), reads what is stored and cuts the rest into shards
(:func:`shard_plan`); every rank appends its rows to its own file in the
folder (``results.rank-<k>.jsonl``) and what it read to
``prompts.rank-<k>.jsonl``; after a barrier rank 0 merges them
into results.jsonl in item order (:meth:`RunStore.consolidate`) and the
command writes the summary once. :func:`join_launch` starts the ranks and
checks that they all run the same command. The shards follow the groups
the scorer caches a prefix for (:func:`calibkit.engine.prefixes.group_by_prefix`,
the scorer's own rule): an MMLU subject's few-shot prefix stays on one
rank, so the prefix cache keeps working, unless the group is larger than
a fair share of the tokens; then it is cut over several ranks, each
running the prefix once. Shards are balanced by tokens.

Tensor parallel (``--tp``): all ranks hold one model between them and
compute every item together; each writes its own file, the same rows, and
the merge keeps one copy.

Resuming needs nothing special: the stored ids are those of every file, so
a run killed on one rank, or resumed with another number of processes,
scores only what is missing. Samples do not depend on the shards because
their seeds are per question (:func:`calibkit.engine.sampling.context_seed`).
This module never imports torch: the messages go through
:class:`calibkit.engine.distributed.Ranks`.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, TypeVar

from calibkit.engine.prefixes import MIN_PREFIX_TOKENS, group_by_prefix
from calibkit.progress import ProgressBar
from calibkit.records import Prompt
from calibkit.runs.store import CONFIG_FILE, RunError, RunStore

if TYPE_CHECKING:
    from calibkit.engine.distributed import Ranks
    from calibkit.engine.models import LoadedModel

T = TypeVar("T")

Tokenize = Callable[[list[str]], Sequence[Sequence[int]]]  # texts -> their token ids


# --------------------------------------------------------------------------- the plan (pure)


def work_text(item: Any) -> tuple[str, str]:
    """``(context, continuation)``: what the model reads for an item, to group and weigh it.

    A :class:`~calibkit.records.Prompt` gives its base-form context (its
    ``text``, or its option contexts one per line) and its options; an item
    with a ``shard_text()`` method gives that; any other item its id (every
    such item weighs the same). The chat template is not applied: the plan
    does not know whether the run renders one.
    """
    if isinstance(item, Prompt):
        context = "\n".join(item.option_contexts) if item.option_contexts else item.text
        return context, "".join(item.options)
    if callable(getattr(item, "shard_text", None)):
        return item.shard_text(), ""
    return str(item.id), ""


@dataclass(frozen=True)
class PlanGroup:
    """Items the scorer runs behind one cached prefix, or one item alone (``prefix`` 0)."""

    prefix: int  # tokens run once for the whole group
    members: tuple[int, ...]  # item indices, in the scorer's order (sorted by tokens)
    tokens: tuple[int, ...]  # each member's tokens, the prefix included

    @property
    def cost(self) -> int:
        """Tokens the model runs for the group: its members' tokens, the prefix counted once."""
        return self.prefix + sum(t - self.prefix for t in self.tokens)


def plan_groups(items: Sequence[Any], tokenize: Tokenize, *, prefix_caching: bool = True,
                min_prefix_tokens: int = MIN_PREFIX_TOKENS) -> list[PlanGroup]:
    """The items grouped as the scorer groups their rows (:func:`calibkit.engine.prefixes.group_by_prefix`).

    ``tokenize`` maps texts to their token ids as the scorer encodes a
    context (the tokenizer's special tokens included). Each item is one row:
    its context's tokens (trailing whitespace moved to the continuation, as
    the scorer does), read from its last token, as MMLU's one-token letters
    are; an item's tokens are its context's plus its continuation's. Items
    that share nothing worth caching come back one per group.
    """
    pairs = [work_text(it) for it in items]
    contexts = [context.rstrip() for context, _ in pairs]
    ctx_ids = _token_ids(tokenize, contexts)
    continuations = [context[len(ctx):] + cont for ctx, (context, cont) in zip(contexts, pairs)]
    special = len(_token_ids(tokenize, [""])[0])  # what every encoded text gets: counted once, with the context
    cont_tokens = [max(0, len(ids) - special) for ids in _token_ids(tokenize, continuations)]
    tokens = [len(ids) + n for ids, n in zip(ctx_ids, cont_tokens)]
    out = []
    for plen, members in group_by_prefix(ctx_ids, [len(ids) - 1 for ids in ctx_ids], enabled=prefix_caching,
                                         min_prefix=min_prefix_tokens):
        if plen:
            out.append(PlanGroup(plen, tuple(members), tuple(tokens[i] for i in members)))
        else:
            out.extend(PlanGroup(0, (i,), (tokens[i],)) for i in members)
    return out


def assign_groups(costs: Sequence[int], world_size: int, *, loads: list[int] | None = None) -> list[int]:
    """The rank of each group: the costliest group first, each to the least loaded rank (ties: lowest rank).

    Graham's longest-processing-time rule: the most loaded rank carries at
    most 4/3 of the best possible load. ``loads``: what each rank carries
    already (updated in place).

    >>> assign_groups([5, 3, 3, 2], 2)
    [0, 1, 1, 0]
    """
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be a positive int; got {world_size!r}")
    load = [0] * world_size if loads is None else loads
    rank_of = [0] * len(costs)
    for g in sorted(range(len(costs)), key=lambda g: (-costs[g], g)):
        rank = min(range(world_size), key=lambda r: (load[r], r))
        rank_of[g] = rank
        load[rank] += costs[g]
    return rank_of


def share_groups(groups: Sequence[PlanGroup], world_size: int) -> tuple[list[list[int]], list[int]]:
    """Each group's members' ranks, and each rank's tokens: whole groups where fair, big groups cut.

    A group costlier than a fair share (all tokens / ranks) would leave
    its rank working alone at the end (0-shot MMLU in Llama-2-chat's
    template: all 57 subjects share 20 tokens, one group). It is cut, in
    its own order, into pieces that top the least loaded ranks up to the
    fair share, each piece paying the prefix again on its rank
    (:func:`_fill`); then the other groups go whole, by
    :func:`assign_groups`. Since every cut adds a prefix, the fair share is
    recomputed with them until it holds still (a few passes at most).
    """
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be a positive int; got {world_size!r}")
    total = sum(g.cost for g in groups)
    fair = total / world_size
    for _ in range(4):
        ranks, loads = _share_at(groups, world_size, fair)
        if sum(loads) / world_size == fair:
            break
        fair = sum(loads) / world_size
    return ranks, loads


def _share_at(groups: Sequence[PlanGroup], world_size: int, fair: float) -> tuple[list[list[int]], list[int]]:
    """:func:`share_groups` for a given fair share."""
    loads = [0] * world_size
    ranks: list[list[int]] = [[0] * len(g.members) for g in groups]
    big = sorted((g for g in range(len(groups)) if len(groups[g].members) > 1 and groups[g].cost > fair),
                 key=lambda g: (-groups[g].cost, g))
    for g in big:
        ranks[g] = _fill(groups[g], loads, fair)
    small = sorted(set(range(len(groups))) - set(big))
    for g, rank in zip(small, assign_groups([groups[g].cost for g in small], world_size, loads=loads)):
        ranks[g] = [rank] * len(groups[g].members)
    return ranks, loads


def _fill(group: PlanGroup, loads: list[int], fair: float) -> list[int]:
    """Cut a group, in its order, into pieces that each top the least loaded rank up to ``fair``.

    A piece ends at the member that brings its rank nearest to ``fair`` (at
    least one member; on a tie, the shorter piece) and costs its members'
    own tokens plus the prefix, unless its rank holds a piece already. Once
    every rank is full, the rest goes to the least loaded one.
    """
    own = [0, *itertools.accumulate(t - group.prefix for t in group.tokens)]  # own[k]: members before k
    ranks: list[int] = []
    start, n = 0, len(group.members)
    while start < n:
        rank = min(range(len(loads)), key=lambda r: (loads[r], r))
        prefix = 0 if rank in ranks else group.prefix
        room = fair - loads[rank] - prefix
        end = n
        if 0 < room < own[n] - own[start]:
            end = start + 1
            while end < n and abs(own[end + 1] - own[start] - room) < abs(own[end] - own[start] - room):
                end += 1
        ranks += [rank] * (end - start)
        loads[rank] += prefix + own[end] - own[start]
        start = end
    return ranks


def shard_plan(items: Sequence[Any], tokenize: Tokenize, world_size: int, *, prefix_caching: bool = True,
               min_prefix_tokens: int = MIN_PREFIX_TOKENS) -> list[list[str]]:
    """Each rank's item ids, in the items' order: prefix groups as the scorer caches them, balanced by tokens.

    ``tokenize`` maps texts to their token ids (the model's tokenizer, as
    :func:`tokens_counter` gives it); ``prefix_caching`` and
    ``min_prefix_tokens`` as in :class:`calibkit.engine.scoring.ScoreConfig`.
    See :func:`plan_groups` and :func:`share_groups`.
    """
    groups = plan_groups(items, tokenize, prefix_caching=prefix_caching, min_prefix_tokens=min_prefix_tokens)
    rank_of_item = [0] * len(items)
    for group, ranks in zip(groups, share_groups(groups, world_size)[0]):
        for i, rank in zip(group.members, ranks):
            rank_of_item[i] = rank
    return [[it.id for it, r in zip(items, rank_of_item) if r == rank] for rank in range(world_size)]


def _token_ids(tokenize: Tokenize, texts: list[str]) -> list[tuple[int, ...]]:
    """``tokenize`` over the distinct texts once (MMLU's options are the same four letters everywhere)."""
    unique = list(dict.fromkeys(texts))
    ids = dict(zip(unique, (tuple(x) for x in tokenize(unique))))
    return [ids[t] for t in texts]


def characters(texts: list[str]) -> list[tuple[int, ...]]:
    """A stand-in tokenizer for items weighed without a model: one token per character."""
    return [tuple(map(ord, t)) for t in texts]


def tokens_counter(model: LoadedModel) -> Tokenize:
    """Token ids of texts under a model's tokenizer, special tokens as it adds them to a context, in batches."""
    def tokenize(texts: list[str]) -> list[list[int]]:
        out: list[list[int]] = []
        for start in range(0, len(texts), 1024):
            out.extend(model.tokenizer(texts[start:start + 1024])["input_ids"])
        return out
    return tokenize


# --------------------------------------------------------------------------- the run


def share_items(
    ranks: Ranks | None, items: Sequence[T], *,
    open_store: Callable[[], RunStore],
    work: Callable[[RunStore, Sequence[T], bool], None],
    prepare: Callable[[RunStore, Sequence[T]], None] | None = None,
    count_tokens: Tokenize | None = None, prefix_caching: bool = True,
    tensor_parallel: bool = False, progress: bool = True, desc: str | None = None,
) -> tuple[RunStore, int]:
    """Do the items of one run that are not stored yet, alone or shared by the ranks; returns (store, how many now).

    ``open_store()`` opens (or resumes) the run folder; ``prepare(store,
    todo)`` decides what the run decides once, before any row, from every
    item still to do; ``work(store, items, bars)`` appends the rows of
    ``items`` to ``store`` (``bars``: whether it may draw progress bars of
    its own); ``count_tokens`` gives the token ids of texts, to group
    and weigh items for the shards (:func:`tokens_counter`; None: one token
    per character); ``prefix_caching``: whether the scorer caches shared
    prefixes (``--no-prefix-cache``: then no item is kept with another).
    Every rank calls this with the same arguments and gets the same answer;
    a finished run is one results.jsonl in item order either way.
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
                  count_tokens=count_tokens or characters, prefix_caching=prefix_caching,
                  tensor_parallel=tensor_parallel, progress=progress, desc=desc)


def _share(ranks: Ranks, items: Sequence[T], *, open_store: Callable[[], RunStore],
           work: Callable[[RunStore, Sequence[T], bool], None], prepare: Callable[[RunStore, Sequence[T]], None] | None,
           count_tokens: Tokenize, prefix_caching: bool, tensor_parallel: bool, progress: bool,
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
        return len(todo), shard_plan(todo, count_tokens, launch.world_size, prefix_caching=prefix_caching)

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
