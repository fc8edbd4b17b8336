"""The public surface is what DESIGN.md promises, and importing it stays light."""

from __future__ import annotations

import json
import subprocess
import sys

import threadline as tl
from threadline import errors

CONTRACT_NAMES = {
    "SessionManager",
    "AsyncSessionManager",
    "ConversationSession",
    "AsyncConversationSession",
    "Message",
    "TextPart",
    "ImagePart",
    "FilePart",
    "ToolCallPart",
    "ToolResult",
    "ProviderPart",
    "Usage",
    "SessionInfo",
    "SessionStatus",
    "Checkpoint",
    "Tool",
    "RetryPolicy",
    "StreamEvent",
    "ThreadlineError",
    "ConfigurationError",
    "SessionNotFoundError",
    "SessionExpiredError",
    "InvalidTransitionError",
    "ConcurrencyError",
    "ValidationError",
    "StoreError",
    "ProviderError",
    "ManagerClosedError",
    "RateLimitError",
    "ProviderUnavailableError",
    "AuthenticationError",
    "ContextWindowExceededError",
    "providers",
}


def test_all_is_sorted_and_complete() -> None:
    assert tl.__all__ == sorted(tl.__all__)
    assert set(tl.__all__) == CONTRACT_NAMES | {"__version__"}
    for name in tl.__all__:
        assert getattr(tl, name) is not None


def test_provider_classes_are_reachable_by_name() -> None:
    assert tl.providers.EchoProvider().name == "echo"
    assert tl.providers.EchoProvider.capabilities.native_state


def test_error_tree_and_stable_types() -> None:
    """The tree drawn in errors.py's docstring is the real class tree."""
    tree = {
        errors.ConfigurationError: errors.ThreadlineError,
        errors.ManagerClosedError: errors.ThreadlineError,
        errors.SessionNotFoundError: errors.ThreadlineError,
        errors.SessionExpiredError: errors.ThreadlineError,
        errors.InvalidTransitionError: errors.ThreadlineError,
        errors.ConcurrencyError: errors.ThreadlineError,
        errors.ValidationError: errors.ThreadlineError,
        errors.StoreError: errors.ThreadlineError,
        errors.ProviderError: errors.ThreadlineError,
        errors.RateLimitError: errors.ProviderError,
        errors.ProviderUnavailableError: errors.ProviderError,
        errors.AuthenticationError: errors.ProviderError,
        errors.ContextWindowExceededError: errors.ProviderError,
    }
    for cls, parent in tree.items():
        assert cls.__bases__[0] is parent
        assert cls.__name__ in (errors.__doc__ or "")
    assert issubclass(errors.SessionNotFoundError, LookupError)
    assert issubclass(errors.ValidationError, ValueError)
    types = [cls.error_type for cls in [errors.ThreadlineError, *tree]]
    assert len(set(types)) == len(types)
    assert errors.RateLimitError.error_type == "rate_limited"
    err = errors.RateLimitError("slow", provider="openai", status_code=429, retryable=True)
    assert (err.provider, err.status_code, err.retryable) == ("openai", 429, True)
    assert str(err) == "openai 429: slow"


def test_import_is_light() -> None:
    """`import threadline` pulls in no provider SDK, CLI or telemetry machinery."""
    code = (
        "import sys, json, threadline; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('openai', 'anthropic', 'google', 'typer', 'rich', 'tenacity', 'httpx', 'httpx2'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


def test_import_builds_no_schema_and_first_use_from_8_threads_works() -> None:
    """Schemas are built on first use (``defer_build``), and a first use from 8 threads
    at once (a server's first requests) builds them once, correctly, for all."""
    code = (
        "import json, threading, threadline as tl\n"
        "from threadline._records import SessionRecord\n"
        "built = [tl.Message.__pydantic_complete__, SessionRecord.__pydantic_complete__]\n"
        "m = tl.SessionManager('memory://')\n"
        "texts, errors = [], []\n"
        "go = threading.Barrier(8)\n"
        "def work(n):\n"
        "    try:\n"
        "        go.wait()\n"
        "        s = m.create(metadata={'n': n})\n"
        "        texts.append(s.send(f'hi {n}').text)\n"
        "        texts.append(m.get(s.id).messages[0].text)\n"
        "    except BaseException as exc:\n"
        "        errors.append(repr(exc))\n"
        "threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print(json.dumps([built, sorted(texts), errors]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    built, texts, errors = json.loads(out)
    assert built == [False, False]
    assert errors == []
    assert texts == sorted([f"echo: hi {n}" for n in range(8)] + [f"hi {n}" for n in range(8)])


def test_a_blocking_conversation_loads_no_event_loop_or_telemetry() -> None:
    """A program using only the blocking API on echo never imports asyncio or
    OpenTelemetry: no loop exists, and with no tracer set up no span is built."""
    code = (
        "import sys, json, threadline as tl\n"
        "with tl.SessionManager('memory://') as m:\n"
        "    s = m.create(); s.send('hi'); list(s.stream('more'))\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'asyncio', 'opentelemetry', 'anyio'})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []
