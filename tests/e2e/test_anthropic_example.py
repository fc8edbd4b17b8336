"""examples/anthropic_offline.py prints what each Anthropic turn sent (offline)."""

from __future__ import annotations

from pathlib import Path

from test_examples import EXAMPLES, run_example


def test_anthropic_offline_example_shows_threads_reseeding_and_caching(tmp_path: Path) -> None:
    """First turn creates a thread, later ones continue it with one message, a lost
    thread is re-seeded with the whole mirror, and local mode's cached share grows."""
    out = run_example(EXAMPLES / "anthropic_offline.py", tmp_path).stdout
    lines = out.splitlines()
    assert lines[0] == "thread=create   messages sent=1  -> 're: Hello'"
    assert lines[1] == "thread=continue messages sent=1  -> 're: What is a message thread?'"
    assert "native id: msg_0003" in lines
    assert "streamed: re: Stream this please" in lines
    assert (
        "thread=create   messages sent=9  -> 're: Still there?'  (re-seeded from the mirror)"
        in lines
    )
    assert lines[-1] == "local turn 4: input=70 cached=71%"
