"""ask_human: a plain function an agent framework can use as a tool as it
is (LangChain's @tool / StructuredTool.from_function, CrewAI's tools)."""

from ._config import load_agent_config
from ._rest import NodError, RestClient


def ask_human(question: str, options: list = None, kind: str = None, description: str = None,
              timeout: float = 600, url: str = None, agent_id: str = None, secret: str = None) -> str:
    """Ask the person a question in their Nod app and wait for the answer.

    question: what to ask, one line. options: choices to offer (makes it a
    choice). kind: "question" (free text, default), "choice" or "approval".
    Returns the person's answer as text: their reply, the option they chose,
    or "approved" / "rejected" (with their note), or a sentence saying no
    answer came in time. Credentials come from the arguments, else
    NOD_URL / NOD_AGENT_ID / NOD_AGENT_SECRET, else nod-connect's profile.
    """
    if url and agent_id and secret:
        urls = [u.strip() for u in url.split(",") if u.strip()]
    else:
        urls, agent_id, secret = load_agent_config()
    kind = kind or ("choice" if options else "question")
    decision = {"type": "decision", "kind": kind, "title": question}
    if options:
        decision["options"] = [str(o) for o in options]
    if description:
        decision["description"] = description
    rest = RestClient(urls, agent_id, secret)
    try:
        decision_id = rest.send_event(decision)["decision_id"]
        result = rest.wait_decision(decision_id, timeout)
    except NodError as e:
        return f"Could not reach the person through Nod: {e.detail}"
    status, note = result.get("status"), result.get("note")
    if status == "pending":
        return f"No answer from the person within {int(timeout)} s."
    if status == "responded":
        return note or ""
    return f"{status}: {note}" if note else status
