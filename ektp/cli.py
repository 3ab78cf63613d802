"""The `ektp` command."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer

from services.print.agent.retention import DEFAULT_KEEP_DAYS, DEFAULT_KEEP_MB, Retention
from shared.settings import Settings, new_token

app = typer.Typer(help="KTP-el issuance platform: run it, operate it, try it.", no_args_is_help=True,
                  add_completion=False)
credentials_app = typer.Typer(help="API credentials (stored hashed) for stations, operators and agents.",
                              no_args_is_help=True)
keys_app = typer.Typer(help="The dinas's Ed25519 signing keys (certificates, card chips).", no_args_is_help=True)
dead_letters_app = typer.Typer(help="Messages that could not be handled: list and replay.", no_args_is_help=True)
app.add_typer(credentials_app, name="credentials")
app.add_typer(keys_app, name="certificate-keys")
app.add_typer(dead_letters_app, name="dead-letters")
station_app = typer.Typer(help="Kecamatan store-and-forward: queue recordings offline, push them when the link is up.",
                          no_args_is_help=True)
app.add_typer(station_app, name="station")


class ServiceName(StrEnum):
    enrollment = "enrollment"
    dedup = "dedup"
    print = "print"
    certificate = "certificate"


def _settings(**overrides: object) -> Settings:
    """The settings, or exit 2 with one line for each refused one, named as it is set (EKTP_...)."""
    from pydantic import ValidationError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors():  # a check of several settings at once has no loc: its message names them
            name = f"EKTP_{'_'.join(map(str, error['loc'])).upper()}: " if error["loc"] else ""
            typer.echo(f"error in settings: {name}{error['msg'].removeprefix('Value error, ')}", err=True)
        raise typer.Exit(2) from None
    except ValueError as exc:
        typer.echo(f"error in settings: {exc}", err=True)
        raise typer.Exit(2) from None


# ---- running ---------------------------------------------------------------------------------

# How long a render agent keeps the files of the cards it printed (services/print/agent/retention.py).
KeepDays = Annotated[float, typer.Option(
    min=0, envvar="EKTP_PRINT_KEEP_DAYS", help="render: cards rendered longer ago are removed (0: no age limit)")]
KeepMb = Annotated[float, typer.Option(
    min=0, envvar="EKTP_PRINT_KEEP_MB",
    help="render: a site's card files are kept under this many MB, oldest removed first (0: no size limit)")]


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for every service's /v1 paths")] = 8000,
    print_agents: Annotated[int, typer.Option(help="Print agents to start (3 kecamatan + 2 dinas backups first)")] = 5,
    data_dir: Annotated[Path, typer.Option(help="Database, keys and rendered cards go here")] = Path("./var"),
    driver: Annotated[str, typer.Option(help="Print agents' driver: render (PNG+PDF files) or sim")] = "render",
    seed_stock: Annotated[int, typer.Option(help="Blank cards given to each site of the dinas at start (0: none)")] = 1000,
    keep_days: KeepDays = DEFAULT_KEEP_DAYS,
    keep_mb: KeepMb = DEFAULT_KEEP_MB,
) -> None:
    """All-in-one: every service, the embedded database and queue, and N print agents. No servers needed."""
    from ektp.allinone import AllInOne
    from shared.logs import configure_logging

    token_file = data_dir / "bootstrap-token"
    given = os.environ.get("EKTP_BOOTSTRAP_TOKEN")
    token = given or (token_file.read_text().strip() if token_file.exists() else new_token())
    database_url = os.environ.get("EKTP_DATABASE_URL") or f"sqlite+aiosqlite:///{(data_dir / 'ektp.db').resolve()}"
    settings = _settings(database_url=database_url, bootstrap_token=token, data_dir=data_dir,
                         public_base_url=f"http://{host}:{port}", log_json=False)
    # only once the settings are taken: a refused start leaves no data directory behind
    data_dir.mkdir(parents=True, exist_ok=True)
    if not given:
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
    configure_logging(settings.log_level, json=False, service="all-in-one")
    asyncio.run(AllInOne(settings, host, port, print_agents, driver=driver, seed_stock=seed_stock,
                         retention=Retention(keep_days, keep_mb)).serve())


@app.command()
def serve(
    name: Annotated[ServiceName, typer.Argument(help="Which service")],
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (each a full copy of the service)")] = 1,
) -> None:
    """One service, production style, configured from the environment (EKTP_DATABASE_URL, EKTP_BROKER_URL, ...)."""
    import uvicorn

    settings = _settings()  # refuse bad settings before starting anything
    uvicorn.run(f"services.{name.value}.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_config=None, access_log=False, timeout_graceful_shutdown=30,
                proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips)


@app.command()
def migrate() -> None:
    """Create or upgrade every service's schema in EKTP_DATABASE_URL, then exit."""
    from shared.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    typer.echo("database is at the newest revision")


@app.command("print-agent")
def print_agent(
    site: Annotated[str, typer.Option(help="Site code of this print server, e.g. 53.71.04")],
    service_url: Annotated[str, typer.Option(help="The print service (or gateway)")] = "http://127.0.0.1:8000",
    role: Annotated[str, typer.Option(help="primary, or backup (works only while no primary has room)")] = "primary",
    capacity: Annotated[int, typer.Option(help="Cards in flight at once")] = 1,
    driver: Annotated[str, typer.Option(help="render (PNG+PDF files) or sim (timed, fails at a rate)")] = "render",
    token: Annotated[Optional[str], typer.Option(help="Credential; default EKTP_AGENT_TOKEN")] = None,
    name: Annotated[Optional[str], typer.Option(
        help="Node name, one per print server (two agents on one host: one each); default the host name")] = None,
    output_dir: Annotated[Path, typer.Option(
        help="render: card files go to <this>/<site>; any driver keeps its node id there, so a restart takes "
             "over the node of its previous process at once")] = Path("./var/cards"),
    keep_days: KeepDays = DEFAULT_KEEP_DAYS,
    keep_mb: KeepMb = DEFAULT_KEEP_MB,
    sim_seconds: Annotated[float, typer.Option(help="sim: seconds per card")] = 1.0,
    sim_failure_rate: Annotated[float, typer.Option(help="sim: share of cards spoiled")] = 0.0,
    health_port: Annotated[int, typer.Option(help="GET /healthz is served here (0: off)")] = 0,
) -> None:
    """One print server: registers itself with its site's pool, prints, drains on SIGTERM."""
    from services.print.agent.drivers import make_driver
    from services.print.agent.health import serve_health
    from services.print.agent.runner import AgentConfig, PrintAgent, PrinterFault, Refused
    from shared.logs import configure_logging

    credential = token or os.environ.get("EKTP_AGENT_TOKEN") or os.environ.get("EKTP_BOOTSTRAP_TOKEN")
    if not credential:
        typer.echo("no credential: set EKTP_AGENT_TOKEN or pass --token", err=True)
        raise typer.Exit(2)
    configure_logging(os.environ.get("EKTP_LOG_LEVEL", "INFO"), json=True, service="print-agent")
    try:
        printer = make_driver(driver, output_dir=output_dir / site, retention=Retention(keep_days, keep_mb),
                              seconds_per_card=sim_seconds, failure_rate=sim_failure_rate)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    config = AgentConfig(service_url=service_url, token=credential, site=site, role=role, capacity=capacity,
                         printer_model=driver, state_dir=output_dir / site, **({"name": name} if name else {}))
    agent = PrintAgent(config, printer)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, agent.stop)
        health = await serve_health(agent, health_port) if health_port else None
        try:
            await agent.run()
        finally:
            if health is not None:
                health.close()

    try:
        asyncio.run(main())
    except (PrinterFault, OSError, Refused) as exc:
        # A printer that cannot print (checked at start) or failed while printing, or a print service
        # that refuses this agent (its credential or site): exit non-zero, so the operator (or
        # Kubernetes, restarting the pod) sees it; its pool goes on without it.
        typer.echo(f"print agent stopped: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def demo(
    url: Annotated[str, typer.Option(help="The system (all-in-one, gateway or enrollment service)")] = "http://127.0.0.1:8000",
    enrollments: Annotated[int, typer.Option(help="Synthetic residents to record")] = 20,
    duplicates: Annotated[int, typer.Option(help="Of those, re-recorded under a second NIK (expect DUPLICATE)")] = 0,
    cases: Annotated[int, typer.Option(help="Of the others, another person recorded with their NIK (expect ADJUDICATION: "
                                            "cases for the console's adjudication page)")] = 0,
    token: Annotated[Optional[str], typer.Option(help="Credential; default EKTP_BOOTSTRAP_TOKEN or ./var/bootstrap-token")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every recording's final state")] = 300.0,
    seed: Annotated[Optional[int], typer.Option(help="Random seed")] = None,
) -> None:
    """Post synthetic residents of Kota Kupang, follow them, and print how many ended in each status."""
    from ektp.demo import run_demo

    credential = token or os.environ.get("EKTP_BOOTSTRAP_TOKEN")
    if not credential and Path("var/bootstrap-token").exists():
        credential = Path("var/bootstrap-token").read_text().strip()
    if not credential:
        typer.echo("no credential: pass --token or set EKTP_BOOTSTRAP_TOKEN", err=True)
        raise typer.Exit(2)
    if duplicates + cases > enrollments:
        typer.echo(f"--duplicates and --cases: {duplicates + cases} of {enrollments} residents; at most all", err=True)
        raise typer.Exit(2)
    result = asyncio.run(run_demo(url, credential, enrollments=enrollments, duplicates=duplicates, cases=cases,
                                  timeout=timeout, seed=seed))
    if result.failures:
        typer.echo(f"{len(result.failures)} recording(s) did not reach their expected state in time", err=True)
        raise typer.Exit(1)


# ---- synthetic data and the reference ABIS ---------------------------------------------------

@app.command()
def synth(
    count: Annotated[int, typer.Option(help="Recordings to make")] = 100,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same output)")] = 1,
    duplicate_rate: Annotated[float, typer.Option(help="Share re-recorded under a second NIK")] = 0.05,
    recapture_rate: Annotated[float, typer.Option(help="Share re-recorded under the same NIK (replacement)")] = 0.02,
    poor_rate: Annotated[float, typer.Option(help="Share with unusable captures (ENROLL_FAILURE)")] = 0.02,
    missing_finger_rate: Annotated[float, typer.Option(help="Share of persons lacking 1-4 fingers")] = 0.02,
    recording_site: Annotated[Optional[str], typer.Option(help="Record everyone here (default: their kecamatan)")] = None,
    out: Annotated[Path, typer.Option(help="NDJSON, one recording (POST /v1/enrollments body) a line")] = Path("recordings.ndjson"),
    truth: Annotated[Path, typer.Option(help="Ground truth: kind, expected status, which record each matches")] = Path("truth.json"),
) -> None:
    """Synthetic recordings with ground truth (docs/dedup.md): uniques, duplicates, recaptures, poor captures."""
    from ektp.synth.export import save, write_synth

    with out.open("w") as f:
        document = write_synth(f, count, seed=seed, duplicate_rate=duplicate_rate, recapture_rate=recapture_rate,
                               poor_rate=poor_rate, missing_finger_rate=missing_finger_rate,
                               recording_site=recording_site)
    save(truth, document)
    typer.echo(f"{count} recordings in {out}, ground truth in {truth}: {json.dumps(document['kinds'])}")


@app.command("abis-reference")
def abis_reference(
    broker_url: Annotated[str, typer.Option(help="RabbitMQ the dedup service's adapter uses (EKTP_ABIS_URL)")],
    data_dir: Annotated[Path, typer.Option(help="Its durable gallery goes here")] = Path("./var/abis"),
    request_queue: Annotated[str, typer.Option(help="Queue to take requests from")] = "abis.request",
) -> None:
    """The reference ABIS: the built-in matcher behind the MOSIP ABIS interface, as its own process."""
    from services.dedup.abis.reference import ReferenceAbis
    from shared.logs import configure_logging

    configure_logging(os.environ.get("EKTP_LOG_LEVEL", "INFO"), json=True, service="abis-reference")
    abis = ReferenceAbis(broker_url, data_dir=data_dir, request_queue=request_queue)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, abis.stop)
        await abis.run()

    asyncio.run(main())


# ---- credentials -----------------------------------------------------------------------------

@credentials_app.command("create")
def credentials_create(
    name: Annotated[str, typer.Option(help="Who holds it, e.g. 'Kecamatan Oebobo station 1'")],
    role: Annotated[str, typer.Option(help="admin, dinas_operator, kecamatan_operator, station, adjudicator, print_operator, print_agent")],
    site: Annotated[str, typer.Option(help="Site the credential acts for, e.g. 53.71.04")],
) -> None:
    """Create a credential; the token is printed once and stored only hashed."""
    from shared.auth.principal import Role, create_credential

    async def main() -> None:
        async with _session() as session:
            credential, token = await create_credential(session, name=name, role=Role(role), site=site)
            await session.commit()
        typer.echo(json.dumps({"id": str(credential.id), "name": name, "role": role, "site": site, "token": token}))

    asyncio.run(main())


@credentials_app.command("revoke")
def credentials_revoke(credential_id: Annotated[str, typer.Argument(help="The credential's id")]) -> None:
    """Revoke a credential; it stops working at once."""
    from shared.auth.principal import revoke_credential
    from shared.errors import NotFound

    try:
        parsed = uuid.UUID(credential_id)
    except ValueError:
        typer.echo(f"{credential_id!r} is not a credential id (a UUID, as `ektp credentials list` shows)", err=True)
        raise typer.Exit(2) from None

    async def main() -> None:
        async with _session() as session:
            await revoke_credential(session, parsed)
            await session.commit()
        typer.echo(f"revoked {parsed}")

    try:
        asyncio.run(main())
    except NotFound:
        typer.echo(f"no active credential {parsed}: unknown, or revoked already (`ektp credentials list`)", err=True)
        raise typer.Exit(1) from None


@credentials_app.command("list")
def credentials_list() -> None:
    """List credentials (never their tokens)."""
    from shared.auth.principal import list_credentials

    async def main() -> None:
        async with _session() as session:
            for c in await list_credentials(session):
                state = f"revoked {c.revoked_at:%Y-%m-%d}" if c.revoked_at else "active"
                typer.echo(f"{c.id}  {c.role:<18} {c.site:<10} {state:<18} {c.name}")

    asyncio.run(main())


def _require_database(url: str) -> None:
    """An admin command on an embedded database that is not there (run from another directory than
    `ektp up`, or it used --data-dir) says so, instead of creating an empty file and failing on it."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).is_file():
        typer.echo(f"no database at {Path(parsed.database).resolve()}: run this where `ektp up` runs (its "
                   "--data-dir, default ./var), or set EKTP_DATABASE_URL, e.g. "
                   "sqlite+aiosqlite:///<data-dir>/ektp.db", err=True)
        raise typer.Exit(2)


def _session():  # type: ignore[no-untyped-def]
    from contextlib import asynccontextmanager

    from shared.db import create_engine, make_sessionmaker

    @asynccontextmanager
    async def session_scope():  # type: ignore[no-untyped-def]
        settings = _settings()
        _require_database(settings.database_url)
        engine = create_engine(settings.database_url, application_name="ektp-cli", pool_size=1)
        try:
            async with make_sessionmaker(engine)() as session:
                yield session
        finally:
            await engine.dispose()

    return session_scope()


# ---- keys and verification -------------------------------------------------------------------

@keys_app.command("generate")
def keys_generate(
    directory: Annotated[Path, typer.Option("--dir", help="Key directory (EKTP_CERT_KEY_DIR)")],
    inactive: Annotated[bool, typer.Option(help="Publish first, sign with it later (activate)")] = False,
) -> None:
    """Make a new signing key (rotation keeps the old public keys, so old certificates still verify)."""
    from shared.keys import generate_key

    kid = generate_key(directory, activate=not inactive)
    typer.echo(f"new key {kid} in {directory}" + (" (inactive)" if inactive else " (active)"))


@keys_app.command("activate")
def keys_activate(directory: Annotated[Path, typer.Option("--dir")], kid: Annotated[str, typer.Argument()]) -> None:
    """Make a published key the one that signs."""
    from shared.keys import activate_key

    activate_key(directory, kid)
    typer.echo(f"{kid} is active")


@app.command()
def verify(
    source: Annotated[str, typer.Argument(help="A token, or a PNG/JPEG/PDF of the certificate")],
    keys: Annotated[Path, typer.Option(help="The published keys (JSON from GET /v1/certificates/keys)")],
) -> None:
    """Verify an interim certificate offline: signature, validity dates. No network."""
    from shared.certificate.offline import report
    from shared.keys import KeyFileError, keys_from_jwks

    try:
        key_set = keys_from_jwks(keys.read_bytes())
    except (OSError, KeyFileError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        typer.echo(f"--keys {keys}: {reason}; it must be the dinas's published keys (JSON of "
                   "GET /v1/certificates/keys)", err=True)
        raise typer.Exit(2) from None
    if not key_set:
        typer.echo(f"--keys {keys}: holds no Ed25519 key; it must be the dinas's published keys (JSON of "
                   "GET /v1/certificates/keys)", err=True)
        raise typer.Exit(2)
    # a str is taken as a file if one exists, else as a token (Path.exists() raises on a 340-character token)
    genuine, text = report(source, key_set)
    typer.echo(text)
    if not genuine:
        raise typer.Exit(1)


# ---- dead letters ----------------------------------------------------------------------------

def _transport_call(queue: str, replay: bool) -> None:
    from shared.runtime import Platform

    settings = _settings()
    _require_database(settings.database_url)
    if settings.is_sqlite and "EKTP_DATA_DIR" not in os.environ:
        # The all-in-one keeps its data key beside its database: read it there, never make a new one
        # in ./var, which cannot read the letters.
        from sqlalchemy.engine import make_url

        settings = _settings(data_dir=Path(make_url(settings.database_url).database or ".").parent)

    async def main() -> None:
        platform = await Platform.open(settings, name="cli")
        try:
            if replay:
                moved = await platform.transport.replay_dead_letters(queue)
                typer.echo(f"replayed {moved} message(s) to {queue}")
            else:
                letters = await platform.transport.dead_letters(queue)
                for letter in letters:
                    typer.echo(letter.describe())
                typer.echo(f"{len(letters)} dead letter(s) on {queue}")
        finally:
            await platform.close()

    asyncio.run(main())


@dead_letters_app.command("list")
def dead_letters_list(queue: Annotated[str, typer.Argument(help="e.g. dedup.intake")]) -> None:
    """List dead-lettered messages of a queue."""
    _transport_call(queue, replay=False)


@dead_letters_app.command("replay")
def dead_letters_replay(queue: Annotated[str, typer.Argument(help="e.g. dedup.intake")]) -> None:
    """Put a queue's dead-lettered messages back on it (after fixing the cause)."""
    _transport_call(queue, replay=True)


# ---- station (store and forward) -------------------------------------------------------------

StationQueue = Annotated[Path, typer.Option("--queue", help="The station's local SQLite queue")]


@station_app.command("enqueue")
def station_enqueue(
    file: Annotated[Path, typer.Argument(help="Recordings, one JSON object a line (NDJSON, UTF-8); - for stdin")],
    queue: StationQueue = Path("./var/station.db"),
) -> None:
    """Check each recording at the counter (the server's own rules, the pickup site against the sites
    the dinas serves as the last push learned them) and queue the good ones."""
    import datetime as dt
    import io

    from ektp.station import NotUtf8, check_utf8, enqueue, open_queue, read_lines

    try:
        source = io.BytesIO(sys.stdin.buffer.read()) if str(file) == "-" else file.open("rb")
    except OSError as exc:
        typer.echo(f"cannot read {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    with source:
        try:
            check_utf8(source)  # a file that is not UTF-8 is refused before anything is queued
        except NotUtf8 as exc:
            typer.echo(f"{file}: {exc}; nothing queued", err=True)
            raise typer.Exit(2) from None
        done = enqueue(open_queue(queue), read_lines(source), today=dt.date.today())
    if done.sites is None:
        typer.echo("pickup sites not checked: no push has learned yet which sites the dinas serves (the server "
                   "checks them when the recordings are pushed) / lokasi pengambilan belum diperiksa: daftar "
                   "lokasi yang dilayani dinas belum diketahui (server memeriksanya saat rekaman dikirim)", err=True)
    for srid in done.replaced:
        typer.echo(f"{srid}: replaces the recording the server refused, to be pushed again / "
                   "menggantikan rekaman yang ditolak server, akan dikirim lagi", err=True)
    for r in done.refused:
        typer.echo(f"line {r.line} ({r.station_recording_id or 'no station_recording_id'}) refused:", err=True)
        for p in r.problems:
            typer.echo(f"  {p.severity:<7} {p.field}: {p.code} — {p.message_en} / {p.message_id}", err=True)
    typer.echo(f"queued {done.queued}, already queued {done.already}, refused {len(done.refused)}")
    if done.refused:
        raise typer.Exit(1)


@station_app.command("push")
def station_push(
    url: Annotated[str, typer.Option(help="The enrollment service or gateway, e.g. https://dinas.example")],
    token: Annotated[Optional[str], typer.Option(help="The station's credential; default EKTP_STATION_TOKEN")] = None,
    queue: StationQueue = Path("./var/station.db"),
    batch_size: Annotated[int, typer.Option(help="Recordings per request (at most 1000)", min=1, max=1000)] = 100,
    max_backoff: Annotated[float, typer.Option(help="Longest wait between retries, seconds")] = 30.0,
    give_up_after: Annotated[Optional[float], typer.Option(help="Stop with an error after this many seconds")] = None,
) -> None:
    """Push pending recordings (gzip'd batches, exponential backoff); resumable, never records twice.
    First learns the pickup sites the dinas serves, for enqueue to check (see `ektp station sites`).

    Progress and retries go to stderr, the JSON summary to stdout. Exit codes: 0 all pushed, 2 usage
    (no credential, a --url that is not http(s)), 3 the credential refused (the recordings stay
    pending; with nothing pending too), 4 --give-up-after reached, 5 no ektp API at --url (a 404/405,
    a redirect, or a TLS handshake that fails: https:// to a plain HTTP port, an untrusted certificate).
    """
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ektp.station import Backoff, NotTheApi, PushRefused, check_url, counts, open_queue, push

    credential = token or os.environ.get("EKTP_STATION_TOKEN")
    if not credential:
        typer.echo("no credential: pass --token or set EKTP_STATION_TOKEN", err=True)
        raise typer.Exit(2)
    try:
        check_url(url)
    except ValueError as exc:
        typer.echo(f"--url: {exc}", err=True)
        raise typer.Exit(2) from None
    db = open_queue(queue)
    before = counts(db)
    deadline = time.monotonic() + give_up_after if give_up_after else None
    # A push that stops says why in the last line of stderr: after the progress bar's own last line.
    try:
        with Progress(TextColumn("pushing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[detail]}"),
                      console=Console(stderr=True)) as bar:
            task = bar.add_task("push", total=before["pending"], detail="")

            def progress(result, pending, note) -> None:  # type: ignore[no-untyped-def]
                bar.update(task, completed=before["pending"] - pending,
                           detail=f"created {result.sent}, replayed {result.replayed}, refused {result.refused}, "
                                  f"retries {result.retries}")
                if note:  # a retry or a change of batch size: a line of its own, kept in a log
                    bar.console.print(note, markup=False, highlight=False, soft_wrap=True)

            result = push(db, url=url, token=credential, batch_size=batch_size,
                          backoff=Backoff(cap=max_backoff), deadline=deadline, progress=progress)
    except PushRefused as exc:
        typer.echo(f"the server refused this station's credential: {exc}. The recordings stay pending: "
                   "push again with the right credential (--token).", err=True)
        raise typer.Exit(3) from None
    except TimeoutError as exc:
        typer.echo(f"gave up after {give_up_after} s: {exc}", err=True)
        raise typer.Exit(4) from None
    except NotTheApi as exc:
        typer.echo(f"wrong --url: {exc}", err=True)
        raise typer.Exit(5) from None
    # "refused_now": refused by this push; "queue": the whole queue's state after it.
    typer.echo(json.dumps({"created": result.sent, "replayed": result.replayed, "refused_now": result.refused,
                           "retries": result.retries, "queue": counts(db)}))


@station_app.command("status")
def station_status(queue: StationQueue = Path("./var/station.db")) -> None:
    """How many recordings are pending, sent and refused."""
    from ektp.station import counts, open_queue

    typer.echo(json.dumps(counts(open_queue(queue))))


@station_app.command("sites")
def station_sites(queue: StationQueue = Path("./var/station.db")) -> None:
    """The pickup sites the dinas serves as the last push learned them (enqueue checks with them)."""
    from ektp.station import open_queue, served_sites

    known = served_sites(open_queue(queue))
    if known is None:
        typer.echo("no push has learned the sites yet: enqueue does not check pickup sites", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps({"sites": list(known.sites), "learned_from": known.learned_from,
                           "learned_at": known.learned_at}))


@station_app.command("refused")
def station_refused(queue: StationQueue = Path("./var/station.db")) -> None:
    """List the recordings the server refused: one line each, with the status, error and field problems."""
    from ektp.station import open_queue, refused_recordings

    refused = refused_recordings(open_queue(queue))
    for r in refused:
        typer.echo(r.describe())
    typer.echo(f"{len(refused)} refused recording(s)")


@station_app.command("requeue")
def station_requeue(
    ids: Annotated[Optional[list[str]], typer.Argument(help="station_recording_id of each recording")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every refused recording")] = False,
    queue: StationQueue = Path("./var/station.db"),
) -> None:
    """Put refused recordings back to pending (after fixing the cause); the next push sends them again."""
    from ektp.station import open_queue, requeue

    if bool(ids) == all_:
        typer.echo("name the recordings to requeue (station_recording_id ...) or pass --all, not both", err=True)
        raise typer.Exit(2)
    done, skipped = requeue(open_queue(queue), None if all_ else ids)
    for srid, why in skipped.items():
        typer.echo(f"{srid}: {why}, not requeued", err=True)
    typer.echo(f"requeued {len(done)} recording(s)")
    if skipped:
        raise typer.Exit(1)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    app()


if __name__ == "__main__":
    main()
