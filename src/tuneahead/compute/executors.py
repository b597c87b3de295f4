"""Executors run tasks (campaign runs, batch checks) somewhere and hand results back to the driver.

The driver is the only writer of the run store, so an executor never touches SQLite: it maps a
picklable function over task payloads and yields `(run_id, result_or_error)` as tasks finish, in
any order. `LocalExecutor` uses long-lived local worker processes; `RayExecutor` runs the same
tasks as Ray tasks on a cluster (runs that span machines). Each task rebuilds its scenario from its
seed in a local work folder and returns the finished record, so nodes need TuneAhead installed but
no shared file system.
"""

from __future__ import annotations

import itertools
import os
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class TaskOutcome:
    run_id: str
    result: Any = None  # whatever the task function returned (a RunRecord)
    error: str | None = None  # formatted traceback when it raised
    innocent: bool = False  # lost through no fault of its own (another task broke the pool): no attempt charged


class Executor(Protocol):
    def map_unordered(
        self, fn: Callable[[str, dict], Any], tasks: Iterable[tuple[str, dict]]
    ) -> Iterator[TaskOutcome]: ...

    def shutdown(self) -> None: ...


# In a local worker: where it says which task it starts, so that the driver can tell which task's worker
# died when a pool breaks (the pool itself only says that one did).
_STARTED: Any = None


def _call(fn: Callable[[str, dict], Any], run_id: str, payload: dict) -> TaskOutcome:
    """Runs in the worker: never lets an exception kill the worker or lose the traceback."""
    if _STARTED is not None:
        _STARTED.put((os.getpid(), run_id))
    try:
        return TaskOutcome(run_id, result=fn(run_id, payload))
    except Exception:  # a failed run is data, not a crash of the campaign
        return TaskOutcome(run_id, error=traceback.format_exc())


def _top_up(
    in_flight: dict[Any, str], pending: Iterator[tuple[str, dict]], window: int, submit: Callable[[str, dict], Any]
) -> None:
    """Submit tasks from `pending` until `window` are in flight (handle -> run id): workers stay busy,
    and the whole campaign is never queued at once."""
    for run_id, payload in itertools.islice(pending, max(0, window - len(in_flight))):
        in_flight[submit(run_id, payload)] = run_id


# How often a local worker checks that the campaign driver that started it is still alive.
PARENT_POLL_SECONDS = 1.0


def _exit_when_orphaned(parent_pid: int) -> None:
    """End this worker process once its parent is gone (killed with -9, it cannot say so): otherwise the
    worker would train on for minutes, holding memory and a core, for a run nobody will record."""
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if os.getppid() != parent_pid:  # re-parented: the driver died
                os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _init_worker(threads: int, parent_pid: int | None = None, started: Any = None) -> None:
    global _STARTED
    _STARTED = started
    if parent_pid is not None:
        _exit_when_orphaned(parent_pid)
    # Several 1-thread workers beat one multi-thread worker on small models (measured).
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no spinning threads on shared cores
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


class LocalExecutor:
    """Long-lived worker processes on this machine (spawned, so each has a clean torch state).

    When a worker dies hard (killed, out of memory), the pool breaks and every task in it is lost. Only the
    task that was running on the dead worker is charged an attempt; the others are reported `innocent`
    (the campaign reruns them without charge), so one poisonous run cannot use up its neighbours' retries.
    """

    def __init__(self, workers: int, threads_per_worker: int = 1) -> None:
        self.workers = max(1, workers)
        self.threads = max(1, threads_per_worker)
        self._pool: ProcessPoolExecutor | None = None
        self._started: Any = None  # queue of (worker pid, run id) as tasks start
        self._running: dict[int, str] = {}  # worker pid -> the run id it last started
        self._workers: dict[int, Any] = {}  # worker pid -> its Process, kept after a broken pool drops them

    def _new_pool(self) -> ProcessPoolExecutor:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self._started = ctx.SimpleQueue()
        self._running, self._workers = {}, {}
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=ctx,
            initializer=_init_worker, initargs=(self.threads, os.getpid(), self._started),
        )

    def map_unordered(
        self, fn: Callable[[str, dict], Any], tasks: Iterable[tuple[str, dict]]
    ) -> Iterator[TaskOutcome]:
        pending = iter(tasks)
        held: list[tuple[str, dict]] = []  # taken from `pending` but refused by a broken pool: submitted next
        in_flight: dict[Future, str] = {}
        self._pool = self._pool or self._new_pool()
        window = 2 * self.workers

        def refill() -> None:
            while len(in_flight) < window:
                item = held.pop() if held else next(pending, None)
                if item is None:
                    return
                try:
                    in_flight[self._pool.submit(_call, fn, *item)] = item[0]  # type: ignore[union-attr]
                except BrokenProcessPool:
                    held.append(item)
                    raise

        while True:
            try:
                refill()
            except BrokenProcessPool:  # a worker died since the last wait: its futures say so below
                if not in_flight:  # none left to say so (a worker died idle): start anew for what is held
                    self._replace_pool()
                    continue
            # Known workers, remembered here: a broken pool forgets its processes, and with them which died.
            self._workers.update(getattr(self._pool, "_processes", None) or {})  # no public view of the workers
            if not in_flight:
                return
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            self._drain_started()  # read as we go: a pipe left unread would block the workers once full
            broken = False
            for fut in done:
                run_id = in_flight.pop(fut)
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    broken = True
                    in_flight[fut] = run_id  # settled with the rest of the broken pool below
            if broken:
                yield from self._recover(in_flight)

    def _recover(self, in_flight: dict[Future, str]) -> Iterator[TaskOutcome]:
        """The pool broke: report its tasks (the dead worker's as failed, the rest as innocent), start anew."""
        culprits = self._dead_workers_tasks()
        lost = list(in_flight.values())
        in_flight.clear()
        if not culprits & set(lost):  # cannot tell which: charge the first, as a bounded fallback
            culprits = set(lost[:1])
        for run_id in lost:
            if run_id in culprits:
                yield TaskOutcome(run_id, error="worker process died (killed or out of memory)")
            else:
                yield TaskOutcome(run_id, error="worker pool broken by another task", innocent=True)
        self._replace_pool()

    def _replace_pool(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)  # type: ignore[union-attr]
        self._pool = self._new_pool()

    def _drain_started(self) -> None:
        while self._started is not None and not self._started.empty():
            pid, run_id = self._started.get()
            self._running[pid] = run_id

    def _dead_workers_tasks(self) -> set[str]:
        """Run ids that were running on a worker that died by itself (not terminated by the broken pool)."""
        import signal
        import time

        self._drain_started()
        processes = {**self._workers, **(getattr(self._pool, "_processes", None) or {})}
        # The pool terminates the survivors and reaps every worker in its own thread. Until that thread has
        # stored an exit code, ours can read None (both wait on the same child): poll until all are known.
        deadline = time.monotonic() + 10
        while any(p.exitcode is None for p in processes.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        dead = {pid for pid, p in processes.items() if p.exitcode is not None and p.exitcode != -signal.SIGTERM}
        return {self._running[pid] for pid in dead if pid in self._running}

    def shutdown(self) -> None:
        if self._pool is not None:
            # After Ctrl-C, stop the workers now instead of letting them finish runs nobody will record.
            # (ProcessPoolExecutor exposes no public terminate before Python 3.14.)
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.terminate()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _ray_call(fn: Callable[[str, dict], Any], run_id: str, payload: dict, threads: int) -> TaskOutcome:
    _init_worker(threads)  # Ray reuses its worker processes; setting the thread count again is cheap
    return _call(fn, run_id, payload)


class RayExecutor:
    """Ray tasks, `workers` in flight at a time, each reserving `threads_per_worker` CPUs.

    Connects to the cluster at `address` (`"auto"`: the one `ray start` set up on this machine; the
    environment variable RAY_ADDRESS also works), or starts a local Ray when no address is given. Ray
    is an optional dependency: `pip install "tuneahead[ray]"` on the driver and on every node.
    """

    def __init__(self, workers: int, threads_per_worker: int = 1, address: str | None = None) -> None:
        self.workers = max(1, workers)
        self.threads = max(1, threads_per_worker)
        self.address = address
        self._started_ray = False
        self._in_flight: dict[Any, str] = {}

    def _connect(self):
        try:
            import ray
        except ImportError:
            raise RuntimeError(
                "the Ray executor needs Ray: pip install 'tuneahead[ray]' (on the driver and every node)"
            ) from None
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(num_cpus=self.workers * self.threads, include_dashboard=False, log_to_driver=False)
                self._started_ray = True
        return ray

    def map_unordered(
        self, fn: Callable[[str, dict], Any], tasks: Iterable[tuple[str, dict]]
    ) -> Iterator[TaskOutcome]:
        ray = self._connect()
        # Retries are the campaign's job (max_attempts), so Ray must not rerun a task behind its back.
        remote = ray.remote(num_cpus=self.threads, max_retries=0)(_ray_call)
        pending = iter(tasks)
        in_flight = self._in_flight
        window = 2 * self.workers

        def refill() -> None:
            _top_up(in_flight, pending, window, lambda r, p: remote.remote(fn, r, p, self.threads))

        refill()
        while in_flight:
            done, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in done:
                run_id = in_flight.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as exc:  # the worker or its node died, or the task was cancelled
                    yield TaskOutcome(run_id, error=f"Ray task failed: {type(exc).__name__}: {exc}")
            refill()

    def shutdown(self) -> None:
        try:
            import ray
        except ImportError:
            return
        for ref in list(self._in_flight):
            ray.cancel(ref, force=True)  # runs nobody will record
        self._in_flight.clear()
        if self._started_ray and ray.is_initialized():
            ray.shutdown()
            self._started_ray = False


def make_executor(kind: str, workers: int, threads_per_worker: int = 1, address: str | None = None) -> Executor:
    if kind == "local":
        return LocalExecutor(workers, threads_per_worker)
    if kind == "ray":
        return RayExecutor(workers, threads_per_worker, address)
    raise ValueError(f"unknown executor {kind!r} (expected 'local' or 'ray')")
