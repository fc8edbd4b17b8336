"""threadline: LLM conversation sessions mirrored in a store you own.

```python
import threadline as tl

with tl.SessionManager(store="sqlite:///sessions.db") as manager:
    s = manager.create(provider="echo", user="alice", system="Be terse.")
    print(s.send("Hello").text)
```
"""

from __future__ import annotations

from . import providers
from ._manager_async import AsyncSessionManager
from ._manager_sync import SessionManager
from ._retry import RetryPolicy
from ._session_async import AsyncConversationSession
from ._session_sync import ConversationSession
from .errors import (
    AuthenticationError,
    ConcurrencyError,
    ConfigurationError,
    ContextWindowExceededError,
    InvalidTransitionError,
    ManagerClosedError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
    SessionExpiredError,
    SessionNotFoundError,
    StoreError,
    ThreadlineError,
    ValidationError,
)
from .messages import (
    Checkpoint,
    FilePart,
    ImagePart,
    Message,
    ProviderPart,
    SessionInfo,
    SessionStatus,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResult,
    Usage,
)
from .providers.base import StreamEvent

__version__ = "0.1.0"

__all__ = [
    "AsyncConversationSession",
    "AsyncSessionManager",
    "AuthenticationError",
    "Checkpoint",
    "ConcurrencyError",
    "ConfigurationError",
    "ContextWindowExceededError",
    "ConversationSession",
    "FilePart",
    "ImagePart",
    "InvalidTransitionError",
    "ManagerClosedError",
    "Message",
    "ProviderError",
    "ProviderPart",
    "ProviderUnavailableError",
    "RateLimitError",
    "RetryPolicy",
    "SessionExpiredError",
    "SessionInfo",
    "SessionManager",
    "SessionNotFoundError",
    "SessionStatus",
    "StoreError",
    "StreamEvent",
    "TextPart",
    "ThreadlineError",
    "Tool",
    "ToolCallPart",
    "ToolResult",
    "Usage",
    "ValidationError",
    "__version__",
    "providers",
]


def __dir__() -> list[str]:
    # The public names only: not ``annotations`` or the private submodules.
    return list(__all__)
