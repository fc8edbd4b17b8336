"""Writers the reliability tests run in child processes.

Forked by multiprocessing's forkserver, so they are importable by name.

`run_writer` is the writer `test_crash.py` SIGKILLs at random points. It says
``ready``, waits for ``go``, then opens the SQLite store (creating the session if no
earlier writer got that far) and sends turns ``"TAG 0"``, ``"TAG 1"``... until it is
killed. Every third turn is streamed, and every fourth is followed by a checkpoint. A
turn is acknowledged by sending ``ack TEXT`` to the parent only after ``send()``
returned (or the stream delivered ``done``): an acknowledged turn is one the caller was
told is stored.
"""

from __future__ import annotations

from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier

import threadline as tl

MAX_TURNS = 5000  # a writer whose parent vanished stops by itself


def run_writer(
    db: str, session_id: str, tag: str, synchronous: str, start: Connection, pipe: Connection
) -> None:
    # A short message is one write(2) to an OS pipe: the parent reads it whole even if
    # this process is killed right after.
    pipe.send_bytes(b"ready")
    if start.recv_bytes() != b"go":
        return
    with tl.SessionManager(f"sqlite:///{db}?synchronous={synchronous}") as manager:
        try:
            session = manager.get(session_id)
        except tl.SessionNotFoundError:
            session = manager.create(session_id=session_id, system="Crash test.")
        for n in range(MAX_TURNS):
            text = f"{tag} {n}"
            if n % 3 == 2:
                done = [e.message for e in session.stream(text) if e.type == "done"]
                assert done and done[0] is not None and done[0].text == f"echo: {text}"
            else:
                assert session.send(text).text == f"echo: {text}"
            pipe.send_bytes(f"ack {text}".encode())
            if n % 4 == 3:
                session.checkpoint(f"{tag} after {n}")


def send_retrying(session: tl.ConversationSession, text: str, streamed: bool) -> int:
    """Send ``text``, refreshing and retrying after each `ConcurrencyError`; return how
    many conflicts it took."""
    conflicts = 0
    while True:
        try:
            if streamed:
                done = [e.message for e in session.stream(text) if e.type == "done"]
                reply = done[0]
            else:
                reply = session.send(text)
        except tl.ConcurrencyError:
            conflicts += 1
            session.refresh()
            continue
        assert reply is not None and reply.text == f"echo: {text}"
        return conflicts


def run_turns(
    url: str, session_id: str, writer: int, turns: int, barrier: Barrier, out: Connection
) -> None:
    """`test_concurrent_writers.py`: send ``turns`` turns ``"wWRITER N"`` to one
    session with refresh-and-retry, every third one streamed; report the conflicts.
    Every writer reads the session before any starts, so their first writes collide."""
    with tl.SessionManager(url) as manager:
        session = manager.get(session_id)
        barrier.wait(60)
        conflicts = sum(
            send_retrying(session, f"w{writer} {n}", streamed=n % 3 == 2) for n in range(turns)
        )
    out.send(conflicts)
