"""One process of a data-parallel run: who it is, and the few messages the processes exchange.

``torchrun`` and ``accelerate launch`` start one process per device, on
every node, and tell each who it is through the environment: ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``
(torch's ``env://`` rendezvous). A calibkit run reads them here
(:func:`launch_from_env`), loads the model on its own device
(:meth:`Launch.device`) and exchanges only small control messages with the
other ranks, over a gloo process group whatever the accelerator: that all
ranks were started with the same settings, each rank's share of the items,
whether a step failed anywhere, and the barrier before rank 0 writes the
summary. Rows never travel: every rank writes its own file in the shared
run folder.

Every collective has a timeout, so a rank that died or never started
becomes an error on the others instead of a hang. This is the only module
that calls ``torch.distributed``; it never reads or writes a run folder.
"""
from __future__ import annotations

import datetime as _dt
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, TypeVar

from calibkit.errors import UserError

T = TypeVar("T")

START_TIMEOUT_S = 300.0  # start-up messages: every rank is started at the same moment
# Waiting for the other ranks' work (model loads, the shards, the first rank's
# preparation) can take hours on a 70B model; CALIBKIT_DIST_TIMEOUT_S changes it.
WORK_TIMEOUT_S = 6 * 3600.0


class DistributedError(UserError):
    """A data-parallel launch that cannot go on: bad environment, a failed or missing rank."""


@dataclass(frozen=True)
class Launch:
    """Who this process is in its launch (one process, unless torchrun or accelerate started several)."""

    rank: int = 0  # this process, 0 <= rank < world_size
    world_size: int = 1  # processes in the launch, over all nodes
    local_rank: int = 0  # this process on its node: the GPU it uses
    local_world_size: int = 1  # processes on this node

    @property
    def parallel(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        """Rank 0: the one that prepares the run, shows progress and writes the summary."""
        return self.rank == 0

    def device(self) -> str | None:
        """This rank's device for its own copy of the model: ``cuda:LOCAL_RANK``; None (the default) without GPUs."""
        import torch

        if not self.parallel or not torch.cuda.is_available():
            return None
        if self.local_rank >= torch.cuda.device_count():
            raise DistributedError(f"rank {self.rank} is local rank {self.local_rank} but this node has "
                                   f"{torch.cuda.device_count()} GPUs; launch at most that many processes per node")
        torch.cuda.set_device(self.local_rank)
        return f"cuda:{self.local_rank}"


def launch_from_env(environ: Mapping[str, str] | None = None) -> Launch:
    """This process's :class:`Launch`, read from what torchrun / accelerate launch set.

    Without ``WORLD_SIZE`` the process was started alone (``Launch()``).

    >>> launch_from_env({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"})
    Launch(rank=1, world_size=2, local_rank=1, local_world_size=2)
    >>> launch_from_env({})
    Launch(rank=0, world_size=1, local_rank=0, local_world_size=1)
    """
    env = os.environ if environ is None else environ
    if "WORLD_SIZE" not in env:
        return Launch()
    values = {}
    for key, default in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"), ("LOCAL_WORLD_SIZE", "1")):
        raw = env.get(key, default)
        if not raw.isdigit():
            raise DistributedError(f"{key}={raw!r} is not a non-negative integer; "
                                   "start calibkit with torchrun or accelerate launch, which set it")
        values[key] = int(raw)
    if not 0 <= values["RANK"] < values["WORLD_SIZE"]:
        raise DistributedError(f"RANK={values['RANK']} is outside WORLD_SIZE={values['WORLD_SIZE']}; "
                               "start calibkit with torchrun or accelerate launch, which set both")
    return Launch(rank=values["RANK"], world_size=values["WORLD_SIZE"], local_rank=values["LOCAL_RANK"],
                  local_world_size=values["LOCAL_WORLD_SIZE"])


def work_timeout_s(environ: Mapping[str, str] | None = None) -> float:
    """How long a rank waits for the others' work: ``CALIBKIT_DIST_TIMEOUT_S``, else :data:`WORK_TIMEOUT_S`."""
    raw = (os.environ if environ is None else environ).get("CALIBKIT_DIST_TIMEOUT_S")
    if raw is None:
        return WORK_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise DistributedError(f"CALIBKIT_DIST_TIMEOUT_S={raw!r} must be a positive number of seconds")
    return value


class Ranks:
    """The ranks of a data-parallel launch, joined in a gloo process group.

    ``start_timeout_s`` bounds the start-up messages (:meth:`gather`),
    ``work_timeout_s`` every wait for the other ranks' work
    (:meth:`broadcast`, :meth:`check`, :meth:`wait_for_all`).
    """

    def __init__(self, launch: Launch, *, start_timeout_s: float = START_TIMEOUT_S,
                 work_timeout_s: float = WORK_TIMEOUT_S, tensor_parallel: bool = False) -> None:
        import torch
        import torch.distributed as dist

        self.launch = launch
        self.work_timeout_s = work_timeout_s
        # Data parallel needs no accelerator collectives; tensor parallel on GPUs needs NCCL in the default
        # group (torch picks "cpu:gloo,cuda:nccl"). Control messages always take gloo groups of their own.
        backend = None if tensor_parallel and torch.cuda.is_available() else "gloo"
        try:
            dist.init_process_group(backend, rank=launch.rank, world_size=launch.world_size,
                                    timeout=_dt.timedelta(seconds=start_timeout_s))
            self._start = dist.new_group(backend="gloo", timeout=_dt.timedelta(seconds=start_timeout_s))
            self._work = dist.new_group(backend="gloo", timeout=_dt.timedelta(seconds=work_timeout_s))
        except (RuntimeError, ValueError) as exc:  # no rendezvous: MASTER_ADDR/PORT missing or unreachable
            raise DistributedError(f"rank {launch.rank} cannot join the other {launch.world_size - 1} ranks "
                                   f"({_first_line(exc)}); start calibkit with torchrun or accelerate launch") from None

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value`` (a small picklable), in rank order; waits at most the start-up timeout."""
        import torch.distributed as dist

        out: list[Any] = [None] * self.launch.world_size
        self._collective(lambda: dist.all_gather_object(out, value, group=self._start), "exchanging start-up settings")
        return out

    def broadcast(self, value: T | None) -> T:
        """Rank 0's ``value`` on every rank (other ranks pass None)."""
        import torch.distributed as dist

        box = [value]
        self._collective(lambda: dist.broadcast_object_list(box, src=0, group=self._work), "waiting for rank 0")
        return box[0]

    def check(self, step: Callable[[], T], what: str) -> T:
        """Run ``step`` on this rank; if it failed on any rank, raise that rank's one-line error on every rank.

        A step that fails on one rank only (a model that does not fit, a
        data file missing on one node) must not leave the others waiting.
        """
        error: str | None = None
        result = None
        try:
            result = step()
        except UserError as exc:
            error = str(exc).splitlines()[0]
        import torch.distributed as dist

        errors: list[Any] = [None] * self.launch.world_size
        self._collective(lambda: dist.all_gather_object(errors, error, group=self._work), what)
        failed = [(r, e) for r, e in enumerate(errors) if e is not None]
        if failed:
            rank, message = failed[0]
            raise DistributedError(message if rank == self.launch.rank else f"rank {rank}: {message}")
        return result  # type: ignore[return-value]

    def wait_for_all(self, *, poll: Callable[[], None] | None = None, every_s: float = 1.0) -> None:
        """Return when every rank has called this, calling ``poll`` while waiting (e.g. to draw progress)."""
        import torch.distributed as dist

        deadline = time.monotonic() + self.work_timeout_s
        work = self._collective(lambda: dist.barrier(group=self._work, async_op=True), "waiting for the other ranks")
        while not work.is_completed():
            if time.monotonic() > deadline:
                raise DistributedError(self._lost("waiting for the other ranks to finish"))
            if poll is not None:
                poll()
            time.sleep(every_s)
        self._collective(work.wait, "waiting for the other ranks to finish")

    def close(self) -> None:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()

    def _collective(self, call: Callable[[], T], what: str) -> T:
        """``call()``, a torch.distributed collective; a timeout or a lost peer becomes a one-line error."""
        try:
            return call()
        except RuntimeError as exc:  # gloo: timeouts and closed connections (DistBackendError is a RuntimeError)
            raise DistributedError(self._lost(what, exc)) from None

    def _lost(self, what: str, exc: BaseException | None = None) -> str:
        why = f" ({_first_line(exc)})" if exc is not None else " (timed out)"
        return (f"rank {self.launch.rank}: another rank stopped or never came while {what}{why}; "
                "the rows written so far are kept: rerun the command to resume")


def _first_line(exc: BaseException) -> str:
    """The gist of a torch.distributed error: its first line, without gloo's source location and advice."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    line = line.split("] ", 1)[1] if line.startswith("[") and "] " in line else line
    return line.split(". ", 1)[0][:200]
