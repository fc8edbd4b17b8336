"""`make demo`: a short conversation that survives closing the process's manager.

Runs offline on the embedded defaults: a SQLite store in a temporary directory and the
`echo` provider. It streams two turns, makes a checkpoint, takes a detour and restores,
forks the conversation, then closes the manager, opens the store from disk in a new
one and carries on in the same session.

    python examples/demo.py                      # offline, echo
    python examples/demo.py --provider openai    # a real model, if OPENAI_API_KEY is set
    python examples/demo.py --store sqlite:///demo.db   # keep the store afterwards
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import threadline as tl

API_KEYS = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "google": ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
}
# Make echo's word-by-word streaming visible on a terminal; no delay when piped.
WORD_DELAY = 0.04 if sys.stdout.isatty() else 0.0


def say(session: tl.ConversationSession, text: str, who: str = "you") -> tl.Message:
    """Send one message, printing the reply as it streams in."""
    print(f"  {who}> {text}")
    print("  assistant> ", end="", flush=True)
    reply: tl.Message | None = None
    for event in session.stream(text):
        if event.type == "text":
            print(event.text, end="", flush=True)
            if session.provider == "echo":
                time.sleep(WORD_DELAY)
        elif event.type == "done":
            reply = event.message
    print()
    assert reply is not None
    return reply


def start_session(
    manager: tl.SessionManager, provider: str, model: str | None
) -> tl.ConversationSession:
    """A session on the requested provider, or on echo when that cannot work here."""
    options = {"user": "demo", "system": "You are a concise travel assistant."}
    if provider != "echo":
        keys = API_KEYS.get(provider, ())
        if keys and not any(os.environ.get(k) for k in keys):
            print(f"note: {' or '.join(keys)} is not set; using the offline echo provider.\n")
        else:
            try:
                return manager.create(provider, model, **options)
            except (tl.ConfigurationError, ImportError) as exc:
                print(f"note: provider {provider!r} is not available here ({exc});")
                print("      using the offline echo provider.\n")
    return manager.create("echo", **options)


def snapshot(session: tl.ConversationSession) -> list[tuple[str, str, str]]:
    return [(m.id, m.role, m.text) for m in session.messages]


def demo(store: str, provider: str, model: str | None) -> bool:
    """Run the demo on ``store``; return True if the session resumed intact."""
    manager = tl.SessionManager(store)
    session = start_session(manager, provider, model)
    print("threadline demo")
    print(f"  provider  {session.provider} ({session.model})")
    print(f"  store     {store}\n")

    print("1. A conversation, streamed")
    say(session, "Hi! I'm planning a weekend in Lisbon.")
    say(session, "What should I pack?")
    usage = session.usage
    print(
        f"  session {session.id}: {len(session.messages)} messages,"
        f" {usage.input_tokens} tokens in / {usage.output_tokens} out\n"
    )

    print("2. Checkpoint, detour, restore")
    session.checkpoint("before-detour")
    print(f"  checkpoint 'before-detour' at {len(session.messages)} messages")
    say(session, "Forget Lisbon. Tell me about Mars instead.")
    before = len(session.messages)
    session.restore("before-detour")
    print(
        f"  restore('before-detour'): {before} -> {len(session.messages)} messages;"
        " the next turn sees only the Lisbon conversation\n"
    )

    print("3. Fork")
    fork = session.fork()
    print(f"  fork {fork.id} copies {len(fork.messages)} messages (parent_id {fork.parent_id})")
    say(fork, "What about Porto instead?", who="you, in the fork")
    print(
        f"  the fork now has {len(fork.messages)} messages;"
        f" the original still has {len(session.messages)}\n"
    )

    print("4. Close everything, reopen the store from disk")
    session_id, history = session.id, snapshot(session)
    manager.close()
    print("  manager closed")
    with tl.SessionManager(store) as reopened:
        again = reopened.get(session_id, user="demo")
        same_id = again.id == session_id
        same_messages = snapshot(again) == history
        print(f"  new manager: get({session_id!r}, user='demo')")
        print(f"  same id: {'yes' if same_id else 'NO'}")
        print(f"  same {len(history)} messages: {'yes' if same_messages else 'NO'}")
        say(again, "Thanks! When is the best time of year to go?")
        print(f"  the session now has {len(again.messages)} messages")
        listed = reopened.list(user="demo")
        print(f"  sessions of user 'demo' in the store: {len(listed)} (the original and its fork)")
    ok = same_id and same_messages
    print(f"\nresumed from disk: {'yes' if ok else 'NO'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--provider", default="echo", choices=["echo", *API_KEYS])
    parser.add_argument("--model", help="model name (default: the provider's default)")
    parser.add_argument("--store", help="store URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    if args.store and args.store.startswith("memory://"):
        parser.error("the demo reopens its store from disk: use a sqlite:/// URL, not memory://")
    try:
        if args.store:
            ok = demo(args.store, args.provider, args.model)
        else:
            with tempfile.TemporaryDirectory(prefix="threadline-demo-") as tmp:
                ok = demo(f"sqlite:///{Path(tmp) / 'sessions.db'}", args.provider, args.model)
            print("The temporary store is gone; pass --store sqlite:///demo.db to keep one,")
            print("then look inside with: threadline ls --store sqlite:///demo.db")
    except tl.ThreadlineError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
