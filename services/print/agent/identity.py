"""Which node a print server was before it restarted, known for certain.

The agent keeps the id of the node it registered as in a file of its own, `.node-<name>` in its
state directory (its site's card directory), and holds an exclusive lock (flock) on that file for
as long as it runs. The kernel lets the lock go when the process ends, however it ends (kill -9, a
crash, a pod's container restarted). So an agent that gets the lock knows the process that wrote
the id is gone, and registers naming that node (`replaces`): the print service makes it LOST at
once and puts its claimed cards back in the queue, rather than after its lease (or, after an
`ektp up` restart, the service's grace of ~30 s) while they wait.

A name alone would not do: two print servers may share one (the default is the host name: two
agents on one PC, PCs cloned from one image, `--name` copied). Two agents of one name on one
machine and directory find the lock held: the second takes over nothing (it warns). On two
machines each keeps its own file, so each only ever names its own earlier node. Where flock is
missing (Windows) nothing is taken over: the lease does it, as before.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover (not POSIX)
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)


class NodeIdentity:
    """The lock and the node id of one agent name in one directory; `open` it, `close` it at the end."""

    def __init__(self, path: Path, file: IO[str] | None, previous: uuid.UUID | None) -> None:
        self.path = path
        self._file = file
        self.previous = previous  # the node of the process before this one, for `replaces`

    @classmethod
    def open(cls, directory: Path, name: str) -> NodeIdentity:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
        path = Path(directory) / f".node-{safe}"
        if fcntl is None:
            return cls(path, None, None)
        path.parent.mkdir(parents=True, exist_ok=True)
        file = open(path, "a+", encoding="ascii")  # noqa: SIM115 (held while the agent runs)
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            log.warning("another print agent named %r runs with %s: give each print server its own --name; "
                        "this one takes over no earlier node of that name", name, path.parent)
            return cls(path, None, None)
        file.seek(0)
        text = file.read().strip()
        try:
            previous = uuid.UUID(text) if text else None
        except ValueError:
            log.warning("%s does not hold a node id (%r): taking over no earlier node", path, text[:60])
            previous = None
        return cls(path, file, previous)

    @property
    def held(self) -> bool:
        return self._file is not None

    def remember(self, node_id: str) -> None:
        """The node this process registered as: what the next one (after a restart) takes over."""
        if self._file is None:
            return
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"{node_id}\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.previous = uuid.UUID(node_id)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()  # lets the lock go
            self._file = None
