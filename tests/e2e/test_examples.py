"""Every script in examples/ runs offline, in a subprocess, and prints what it promises.

Each runs with $THREADLINE_STORE in a temporary directory and with every provider API
key removed from the environment, so nothing can reach a real provider. A new example
is picked up by the glob; the scripts known here also get their output checked.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import threadline as tl

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY")
SESSION_ID = r"ses_[0-9a-z]{26}"


def offline_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in KEY_VARS and not k.endswith("_API_KEY") and not k.startswith("OTEL_")
    }
    env["THREADLINE_STORE"] = f"sqlite:///{tmp_path / 'store' / 'sessions.db'}"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run_example(
    script: Path, tmp_path: Path, *args: str, expect: int = 0
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=offline_env(tmp_path),
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == expect, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


def store_of(tmp_path: Path) -> tl.SessionManager:
    return tl.SessionManager(f"sqlite:///{tmp_path / 'store' / 'sessions.db'}")


def check_demo(out: str, tmp_path: Path) -> None:
    assert "provider  echo (echo-1)" in out
    assert "assistant> echo: Hi! I'm planning a weekend in Lisbon." in out
    assert "checkpoint 'before-detour' at 4 messages" in out
    assert "restore('before-detour'): 6 -> 4 messages" in out
    assert re.search(rf"fork {SESSION_ID} copies 4 messages \(parent_id {SESSION_ID}\)", out)
    assert "the fork now has 6 messages; the original still has 4" in out
    assert "same id: yes" in out
    assert "same 4 messages: yes" in out
    assert "assistant> echo: Thanks! When is the best time of year to go?" in out
    assert "the session now has 6 messages" in out
    assert "resumed from disk: yes" in out


def check_quickstart(out: str, tmp_path: Path) -> None:
    assert re.search(rf"created {SESSION_ID} \(echo/echo-1, active\)", out)
    assert "reply: echo: Hello!" in out
    assert "streamed: echo: Tell me something in a few words" in out
    assert "after restore: 4 messages" in out
    assert "found again: True 4 messages" in out
    # It used the default store: $THREADLINE_STORE.
    with store_of(tmp_path) as manager:
        [info] = manager.list(user="alice")
        assert info.message_count == 4


def check_async_quickstart(out: str, tmp_path: Path) -> None:
    assert re.search(
        rf"alice \({SESSION_ID}\): 'echo: What is a session\?' then 'echo: And one more thing\?'",
        out,
    )
    assert "'echo: Where are messages stored?'" in out
    assert re.search(rf"alice's latest: {SESSION_ID} active 4 messages", out)
    with store_of(tmp_path) as manager:
        assert [i.message_count for i in manager.list(user="bob")] == [4]


def check_tools_offline(out: str, tmp_path: Path) -> None:
    assert re.search(r'model asks: get_weather\(\{"city": "Lisbon"\}\) \[call_\w+\]', out)
    assert (
        'final reply: echo: get_weather returned {"city": "Lisbon", "temperature_c": 21,'
        ' "sky": "clear"}' in out
    )
    assert "roles: ['user', 'assistant', 'tool', 'assistant']" in out


CHECKS: dict[str, Callable[[str, Path], None]] = {
    "demo.py": check_demo,
    "quickstart.py": check_quickstart,
    "async_quickstart.py": check_async_quickstart,
    "tools_offline.py": check_tools_offline,
}


def test_the_known_examples_exist() -> None:
    """The glob below really finds the examples (an empty glob would test nothing)."""
    assert set(CHECKS) <= {s.name for s in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_example_runs_offline(script: Path, tmp_path: Path) -> None:
    """Each example exits 0 with no provider key set, and prints what it should."""
    result = run_example(script, tmp_path)
    assert result.stdout.strip()
    check = CHECKS.get(script.name)
    if check is not None:
        check(result.stdout, tmp_path)


def test_demo_falls_back_to_echo_without_an_api_key(tmp_path: Path) -> None:
    """``--provider openai`` with no OPENAI_API_KEY says so and runs on echo."""
    result = run_example(EXAMPLES / "demo.py", tmp_path, "--provider", "openai")
    assert result.stdout.startswith(
        "note: OPENAI_API_KEY is not set; using the offline echo provider."
    )
    check_demo(result.stdout, tmp_path)


def test_demo_keeps_a_store_it_was_given(tmp_path: Path) -> None:
    """With ``--store``, the sessions stay on disk: the conversation and its fork."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run_example(EXAMPLES / "demo.py", tmp_path, "--store", url)
    with tl.SessionManager(url) as manager:
        infos = manager.list(user="demo")
        assert sorted(i.message_count for i in infos) == [6, 6]
        [fork] = [i for i in infos if i.parent_id is not None]
        [original] = [i for i in infos if i.parent_id is None]
        assert fork.parent_id == original.id
        texts = [m.text for m in manager.get(original.id).messages]
        assert "Forget Lisbon. Tell me about Mars instead." not in texts
        assert texts[-1] == "echo: Thanks! When is the best time of year to go?"


def test_demo_refuses_a_memory_store(tmp_path: Path) -> None:
    """The demo reopens its store from disk, which memory:// cannot do."""
    result = run_example(EXAMPLES / "demo.py", tmp_path, "--store", "memory://", expect=2)
    assert "use a sqlite:/// URL, not memory://" in result.stderr
