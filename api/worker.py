"""The solve worker that `allocator serve` runs in its own process, so one process is enough.

It is the same loop as `allocator worker`, on a thread: it claims queued solve
jobs from the store, so on PostgreSQL it shares the queue with any number of
other web processes and workers, each job running once.
"""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session, sessionmaker

from allocator.store.campaign import expire_due
from allocator.store.jobs import JobSettings, work, worker_name
from allocator.store.rounds import compute_results


class InProcessWorker:
    def __init__(self, sessions: sessionmaker[Session],
                 settings: JobSettings | None = None) -> None:
        self.sessions = sessions
        self.settings = settings or JobSettings.from_env()
        self.name = worker_name("serve")
        self._stop = threading.Event()
        # A daemon: stopping the service never waits for a long solve; its job is
        # taken up again once its heartbeat is seen to have stopped.
        self._thread = threading.Thread(target=self._run, name="solve-worker", daemon=True)

    def _run(self) -> None:
        work(self.sessions, compute_results, self.name, self.settings, self._stop,
             chores=expire_due)

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(wait)
