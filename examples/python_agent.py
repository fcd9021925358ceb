#!/usr/bin/python3
"""A Python agent loop on nod_client: answers the person's messages, asks
for approval before anything that says "deploy", and completes its task
runs. State (the last event handled) is kept in ./nod-agent-state.json, so
a restarted agent neither repeats nor skips an event.

    PYTHONPATH=clients/python NOD_URL=http://127.0.0.1:8000 \\
      NOD_AGENT_ID=agt_… NOD_AGENT_SECRET=nod_… /usr/bin/python3 examples/python_agent.py
"""

import asyncio
import os
import signal

from nod_client import AsyncAgentClient, load_agent_config


async def main():
    urls, agent_id, secret = load_agent_config()
    client = None

    async def handle(event):
        if event["type"] == "user_message":
            text = event["text"]
            if "deploy" in text.lower():
                # Later events wait until this one is handled (in seq order): fine
                # for a person who answers in minutes; a busier agent would
                # hand the wait to a task of its own.
                answer = await client.ask({"kind": "approval", "title": f"Go ahead: {text}?",
                                           "conversation_id": event["conversation_id"]}, timeout=300)
                text = "Deploying, as approved." if answer["status"] == "approved" else "Not deploying."
            else:
                text = f"You said: {text}"
            await client.send({"type": "message", "text": text, "reply_to_id": event["message_id"],
                               "conversation_id": event["conversation_id"]})
        elif event["type"] in ("task_due", "task_trigger"):
            await asyncio.to_thread(client.rest.request, "POST",
                                    f"/api/agent/tasks/runs/{event['run_id']}/complete",
                                    {"status": "completed", "result": f"ran {event['task_name']}"})

    client = AsyncAgentClient(urls=urls, agent_id=agent_id, secret=secret, on_event=handle,
                              state_file=os.environ.get("NOD_STATE_FILE", "nod-agent-state.json"))
    await client.start()
    print(f"connected as {agent_id}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await client.stop()


if __name__ == "__main__":
    asyncio.run(main())
