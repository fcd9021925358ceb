"""nod_client: the agent's end of Nod server (docs/clients.md).

Standard library plus Debian's python3-websockets and python3-requests."""

from ._ask import ask_human
from ._client import AgentClient, AsyncAgentClient
from ._config import load_agent_config, parse_urls
from ._rest import NodError, RestClient
from ._webhook import WebhookVerificationError, verify_webhook

__all__ = [
    "AgentClient",
    "AsyncAgentClient",
    "NodError",
    "RestClient",
    "WebhookVerificationError",
    "ask_human",
    "load_agent_config",
    "parse_urls",
    "verify_webhook",
]
