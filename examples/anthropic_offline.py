"""The Anthropic adapter, offline: message threads against the fake Anthropic API.

`threadline.testing.FakeAnthropic` speaks the Messages API wire format (threads, SSE
streams, prompt caching) behind a real ``anthropic.Anthropic`` client, so this runs
without a key or a network (it needs the test extras: ``pip install -e ".[dev]"``).
Swap ``fake.client(sync=True)`` for ``anthropic.Anthropic()`` to talk to Claude.

It shows what each turn sends: the first turn creates a thread with the whole
conversation, later turns continue it with only the new message, a lost thread is
re-seeded from the local mirror, and local mode re-sends the history with prompt
caching so the prefix is billed as a cache read.
"""

import threadline as tl
from threadline.providers.anthropic import AnthropicProvider
from threadline.testing import FakeAnthropic

fake = FakeAnthropic()
provider = AnthropicProvider(client=fake.client(sync=True))


def last_request() -> str:
    body = fake.bodies[-1]
    thread = body.get("thread") or {"type": "none"}
    return f"thread={thread['type']:<8} messages sent={len(body['messages'])}"


with tl.SessionManager("memory://", providers=[provider]) as manager:
    s = manager.create(provider="anthropic", system="Be terse.")
    for text in ("Hello", "What is a message thread?", "Thanks"):
        reply = s.send(text)
        print(f"{last_request()}  -> {reply.text!r}")
    print("native id:", s.native_id)

    print("streamed:", "".join(ev.text for ev in s.stream("Stream this please")))
    print(f"{last_request()}")

    fake.threads.clear()  # the server forgot every thread (expiry, say)
    reply = s.send("Still there?")
    print(f"{last_request()}  -> {reply.text!r}  (re-seeded from the mirror)")

    local = manager.create(provider="anthropic", mode="local")
    for n in range(1, 5):
        usage = local.send(f"local turn {n}").usage
        assert usage is not None
        share = usage.cached_input_tokens / usage.input_tokens
        print(f"local turn {n}: input={usage.input_tokens} cached={share:.0%}")
