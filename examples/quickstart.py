"""Quickstart: a session, a few turns, a checkpoint, and the session found again.

Offline: the `echo` provider answers "echo: <your text>". With no ``store=``, sessions
go to $THREADLINE_STORE, else to sessions.db in your user data directory, so
`threadline ls` shows this one afterwards.
"""

import threadline as tl

with tl.SessionManager() as manager:
    session = manager.create(provider="echo", user="alice", system="Be terse.")
    print("created", session.id, f"({session.provider}/{session.model}, {session.status})")

    reply = session.send("Hello!")
    print("reply:", reply.text)

    print("streamed:", end=" ")
    for event in session.stream("Tell me something in a few words"):
        if event.type == "text":
            print(event.text, end="", flush=True)
    print()

    checkpoint = session.checkpoint("two-turns")
    session.send("A turn we will take back")
    session.restore(checkpoint)
    print("after restore:", len(session.messages), "messages")

    for message in session.messages:
        print(f"  {message.role}: {message.text}")
    print("tokens used:", session.usage.total_tokens)

    again = manager.get(session.id, user="alice")
    print("found again:", again.id == session.id, len(again.messages), "messages")
    print("alice has", len(manager.list(user="alice")), "session(s) in", manager.store.kind)
