"""Services and print agents as separate processes on loopback, as in production."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SERVICES = ("enrollment", "dedup", "print", "certificate")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Proc:
    """One child process; its output goes to a log file kept for failures."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None

    def start(self) -> "Proc":
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.popen = subprocess.Popen(self.args, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """kill -9: no drain, no goodbye."""
        if self.alive:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, then wait; kill -9 after `timeout`."""
        if self.popen is None:
            return None
        if self.alive:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
        return self.popen.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def ektp(*args: str) -> list[str]:
    return [sys.executable, "-m", "ektp.cli", *args]


def wait_http(url: str, *, timeout: float = 60, proc: Proc | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive:
            raise RuntimeError(f"{proc.name} exited early:\n{proc.log()[-4000:]}")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout}s: {last}\n{proc.log()[-4000:] if proc else ''}")


@dataclass
class Cluster:
    """The four services, each its own uvicorn process, on PostgreSQL + RabbitMQ."""

    env: dict[str, str]
    workdir: Path
    token: str
    procs: dict[str, Proc] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    agents: list[Proc] = field(default_factory=list)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start_service(self, service: str) -> Proc:
        port = self.ports.setdefault(service, free_port())
        proc = Proc(service, ektp("serve", service, "--port", str(port)), self.env,
                    self.workdir / f"{service}.log").start()
        self.procs[service] = proc
        wait_http(f"{self.url(service)}/readyz", proc=proc)
        return proc

    def start(self) -> "Cluster":
        for service in SERVICES:
            self.start_service(service)
        return self

    def start_agent(self, site: str, *, role: str = "primary", capacity: int = 1, driver: str = "sim",
                    name: str | None = None, extra: tuple[str, ...] = (), service_url: str | None = None) -> Proc:
        """A print agent; `service_url` reaches the print service another way (a proxy) if given."""
        name = name or f"agent-{site}-{role}-{len(self.agents) + 1}"
        args = ["print-agent", "--service-url", service_url or self.url("print"), "--site", site, "--role", role,
                "--capacity", str(capacity), "--driver", driver, "--name", name,
                "--output-dir", str(self.workdir / "cards"), *extra]
        proc = Proc(name, ektp(*args), {**self.env, "EKTP_AGENT_TOKEN": self.token}, self.workdir / f"{name}.log")
        self.agents.append(proc.start())
        return proc

    def stop(self) -> None:
        for proc in [*self.agents, *self.procs.values()]:
            proc.stop(timeout=15)

    def logs(self) -> str:
        return "\n".join(f"===== {p.name}\n{p.log()[-3000:]}" for p in [*self.procs.values(), *self.agents])
