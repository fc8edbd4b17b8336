"""A writer killed at random points loses no acknowledged turn and corrupts nothing.

Writers are separate processes sending turns to one session of a SQLite store (see
`_children.py`); each is SIGKILLed at a random point: while it opens the store (the
first one while it creates the schema and the session), between turns, or in the
middle of one. A turn counts as acknowledged once the writer reported it through a
pipe, which it does only after ``send()`` returned. After every kill a new writer
takes over. At the end the file must pass ``PRAGMA integrity_check``, hold every
acknowledged turn exactly once and in order, each user message followed by its own
reply, with the record's message count equal to the rows, and take a new turn.
"""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

import _children
import pytest
from _knobs import env_int, env_seed

import threadline as tl
from threadline._records import SessionRecord

KILLS = env_int("THREADLINE_RELIABILITY_KILLS", 40)
TIMEOUT = 60.0  # seconds a writer may take to start or to acknowledge a turn
SESSION_ID = "crash-test"

# Writers fork from a server process that imported threadline once, instead of each
# importing it anew (the store tests may set their own preload list: either works).
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["threadline", "_children"])


class Writer:
    """One writer process, and the turns it acknowledged."""

    def __init__(self, db: Path, tag: str, synchronous: str) -> None:
        self.tag = tag
        self.acked: list[str] = []
        # Two one-way OS pipes (not a socket pair, which may reset and drop what is
        # queued when its other end dies).
        self.pipe, acks_end = _CONTEXT.Pipe(duplex=False)
        start_end, self.start = _CONTEXT.Pipe(duplex=False)
        self.proc: BaseProcess = _CONTEXT.Process(
            target=_children.run_writer,
            args=(str(db), SESSION_ID, tag, synchronous, start_end, acks_end),
            daemon=True,
        )
        self.proc.start()
        acks_end.close()  # the pipe then ends when the writer dies
        start_end.close()

    def _receive(self, pipe: Connection, timeout: float) -> bytes | None:
        if not pipe.poll(timeout):
            self.close()
            pytest.fail(f"writer {self.tag} stalled (exit code {self.proc.exitcode})")
        try:
            return pipe.recv_bytes()
        except EOFError:
            return None

    def wait_ready(self) -> None:
        assert self._receive(self.pipe, TIMEOUT) == b"ready", f"writer {self.tag} did not start"

    def wait_acks(self, count: int) -> None:
        while len(self.acked) < count:
            line = self._receive(self.pipe, TIMEOUT)
            if line is None:
                pytest.fail(f"writer {self.tag} died (exit code {self.proc.exitcode})")
            self.acked.append(line.decode().removeprefix("ack "))

    def go(self) -> None:
        self.start.send_bytes(b"go")

    def kill(self) -> None:
        """SIGKILL, then collect every acknowledgement sent before it died."""
        self.proc.kill()
        self.proc.join(TIMEOUT)
        while (line := self._receive(self.pipe, TIMEOUT)) is not None:
            self.acked.append(line.decode().removeprefix("ack "))
        self.close()

    def close(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(TIMEOUT)
        self.pipe.close()
        self.start.close()


def read_store(db: Path) -> tuple[SessionRecord, int, list[tl.Message]]:
    """The session record, the message_count column, and the message rows, read with
    plain sqlite3 after checking the file's integrity."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        sessions = con.execute("SELECT id, message_count, data FROM sessions").fetchall()
        rows = con.execute("SELECT session_id, seq, data FROM messages ORDER BY seq").fetchall()
    finally:
        con.close()
    assert [s[0] for s in sessions] == [SESSION_ID]
    assert {r[0] for r in rows} <= {SESSION_ID}
    assert [r[1] for r in rows] == list(range(len(rows))), "message rows have gaps"
    record = SessionRecord.model_validate_json(sessions[0][2])
    return record, sessions[0][1], [tl.Message.model_validate_json(r[2]) for r in rows]


def test_sigkilled_writers_lose_no_acknowledged_turn(tmp_path: Path) -> None:
    """Kill writers at random points; every acknowledged turn survives exactly once."""
    seed = env_seed()
    rng = random.Random(seed)
    context = f"(seed {seed}; replay with THREADLINE_RELIABILITY_SEED={seed})"
    db = tmp_path / "crash.db"
    writers: list[Writer] = []

    def writer(round_: int) -> Writer:
        # Odd rounds relax the fsync: a process crash must lose nothing either way.
        return Writer(db, f"r{round_:04d}", "NORMAL" if round_ % 2 else "FULL")

    upcoming = writer(0)
    try:
        for round_ in range(KILLS):
            current = upcoming
            writers.append(current)
            current.wait_ready()
            # The next writer starts while this one works.
            upcoming = writer(round_ + 1) if round_ + 1 < KILLS else None
            current.go()
            if round_ == 0 or rng.random() < 0.2:
                # While it opens the store (the first: while it creates the schema and
                # the session) or early in its first turns.
                time.sleep(rng.uniform(0, 0.05))
            else:
                current.wait_acks(rng.randint(1, 6))
                time.sleep(rng.uniform(0, 0.008))  # anywhere in the next turn
            current.kill()
    finally:
        for w in [*writers, upcoming]:
            if w is not None:
                w.close()

    record, counted, messages = read_store(db)
    assert record.message_count == counted == len(messages), context
    roles = [m.role for m in messages]
    assert roles == ["user", "assistant"] * (len(messages) // 2), context
    sent = [m.text for m in messages[0::2]]
    assert [m.text for m in messages[1::2]] == [f"echo: {t}" for t in sent], context
    assert len(set(sent)) == len(sent), f"a turn is stored twice {context}"
    position = in_flight = 0
    for w in writers:
        stored = [t for t in sent if t.split()[0] == w.tag]
        # This writer's turns, in order, right after the previous writer's.
        assert sent[position : position + len(stored)] == stored, context
        assert stored == [f"{w.tag} {n}" for n in range(len(stored))], context
        assert stored[: len(w.acked)] == w.acked, f"lost acknowledged turns {context}"
        # Beyond those, at most the turn in flight when it was killed.
        assert len(stored) - len(w.acked) in (0, 1), context
        in_flight += len(stored) - len(w.acked)
        position += len(stored)
    assert position == len(sent), context
    assert record.pending_calls == []
    assert all(0 <= cp.message_count <= len(messages) for cp in record.checkpoints)
    assert all(cp.message_count % 2 == 0 for cp in record.checkpoints)

    with tl.SessionManager(f"sqlite:///{db}") as manager:
        session = manager.get(SESSION_ID)
        assert [m.id for m in session.messages] == [m.id for m in messages]
        assert session.send("after the crashes").text == "echo: after the crashes"
        assert len(manager.get(SESSION_ID).messages) == len(messages) + 2
    assert read_store(db)[1] == len(messages) + 2

    acknowledged = sum(len(w.acked) for w in writers)
    print(
        f"\ncrash test: {len(writers)} SIGKILLs; {acknowledged} acknowledged turns, each "
        f"stored once; {in_flight} turns in flight at the kill stored whole, none half; "
        f"{len(messages)} messages; integrity ok {context}"
    )
