"""The Google adapter, offline: Gemini interaction chains against the fake Gemini API.

`threadline.testing.FakeGemini` speaks the Interactions and generateContent wire
formats (JSON and SSE streams) behind a real ``google.genai.Client``, so this runs
without a key or a network (it needs the test extras: ``pip install -e ".[dev]"``).
Drop ``client=fake.client()`` (and set ``GOOGLE_API_KEY``) to talk to Gemini, or
pass ``GoogleProvider(vertexai=True, project=..., location=...)`` for Vertex AI.

It shows what each turn sends: the first turn stores an interaction, later turns
name the previous one and send only the new message, a tool call is answered with a
function result, a lost interaction is re-seeded from the local mirror, local mode
sends the whole history, and deleting the session deletes its interactions.
"""

import threadline as tl
from threadline.providers.google import GoogleProvider
from threadline.testing import FakeGemini

fake = FakeGemini()
provider = GoogleProvider(client=fake.client())  # one client serves both faces
weather = tl.Tool(
    name="weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


def last_request() -> str:
    body = fake.bodies[-1]
    previous = body.get("previous_interaction_id") or "-"
    steps = body["input"]
    sent = repr(steps) if isinstance(steps, str) else " + ".join(s["type"] for s in steps[-2:])
    if not isinstance(steps, str) and len(steps) > 2:
        sent = f"{len(steps)} steps, ending {sent}"
    return f"previous={previous:<8} input={sent}"


with tl.SessionManager("memory://", providers=[provider]) as manager:
    s = manager.create(provider="google", system="Be terse.", tools=[weather])
    for text in ("Hello", "What is an interaction chain?"):
        reply = s.send(text)
        print(f"{last_request()}  -> {reply.text!r}")
    print("native id:", s.native_id)

    print("streamed:", "".join(ev.text for ev in s.stream("Stream this please")))

    reply = s.send('/tool weather {"city": "Lisbon"}')
    for call in reply.tool_calls:
        print(f"model asks: {call.name}({call.arguments})")
        reply = s.send(tl.ToolResult(call_id=call.call_id, output={"sky": "clear", "c": 21}))
    print(f"{last_request()}  -> {reply.text!r}")
    print("chain length:", len(fake.chain(s.native_id)))

    fake.interactions.clear()  # the server forgot every interaction (expiry, say)
    reply = s.send("Still there?")
    print(f"{last_request()}  -> {reply.text!r}  (re-seeded from the mirror)")

    local = manager.create(provider="google", mode="local")
    for n in range(1, 4):
        local.send(f"local turn {n}")
        print(f"local turn {n}: contents sent={len(fake.bodies[-1]['contents'])}")

    s.delete()
    print("interactions left after delete:", len(fake.interactions))
