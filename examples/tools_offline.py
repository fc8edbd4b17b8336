"""A tool round trip, offline.

The `echo` provider calls a tool when you send ``/tool NAME {json arguments}`` and that
tool is offered; send the result back as a `tl.ToolResult` and it answers
``echo: NAME returned <output>``. The loop below is the same one you would run against
a real provider: while the reply asks for tools, run them and send the results.
"""

import json
from typing import Any

import threadline as tl

weather = tl.Tool(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)


def get_weather(city: str) -> dict[str, Any]:
    return {"city": city, "temperature_c": 21, "sky": "clear"}


with tl.SessionManager("memory://") as manager:
    session = manager.create(provider="echo", tools=[weather])
    reply = session.send('/tool get_weather {"city": "Lisbon"}')
    while reply.tool_calls:
        results = []
        for call in reply.tool_calls:
            print(f"model asks: {call.name}({json.dumps(call.arguments)}) [{call.call_id}]")
            output = get_weather(**call.arguments)
            print(f"we answer:  {json.dumps(output)}")
            results.append(tl.ToolResult(call_id=call.call_id, output=output))
        # All results of one reply go back together, in one turn.
        reply = session.send(results)
    print("final reply:", reply.text)
    print("roles:", [m.role for m in session.messages])
