"""Async quickstart: the same API with ``await``, and two sessions running at once.

Offline with the `echo` provider. Store: $THREADLINE_STORE, else sessions.db in your
user data directory.
"""

import asyncio

import threadline as tl


async def chat(manager: tl.AsyncSessionManager, user: str, question: str) -> str:
    session = await manager.create(provider="echo", user=user)
    pieces = []
    async for event in session.stream(question):
        if event.type == "text":
            pieces.append(event.text)
    reply = await session.send("And one more thing?")
    return f"{user} ({session.id}): {''.join(pieces)!r} then {reply.text!r}"


async def main() -> None:
    async with tl.AsyncSessionManager() as manager:
        results = await asyncio.gather(
            chat(manager, "alice", "What is a session?"),
            chat(manager, "bob", "Where are messages stored?"),
        )
        for line in results:
            print(line)
        for info in await manager.list(user="alice", limit=1):
            print(f"alice's latest: {info.id} {info.status} {info.message_count} messages")


asyncio.run(main())
