#!/usr/bin/python3
"""ask_human as an agent framework's tool. It is a plain, typed, documented
function, so frameworks take it as it is:

    # LangChain
    from langchain_core.tools import tool
    ask = tool(ask_human)               # or StructuredTool.from_function(ask_human)
    # CrewAI
    from crewai.tools import tool
    ask = tool("ask_human")(ask_human)

Credentials come from NOD_URL / NOD_AGENT_ID / NOD_AGENT_SECRET (or the
profile nod-connect wrote). Run it alone to try it from a terminal:

    PYTHONPATH=clients/python NOD_URL=… NOD_AGENT_ID=… NOD_AGENT_SECRET=… \\
      /usr/bin/python3 examples/ask_human_tool.py "Which region should I deploy to?" eu us
"""

import sys

from nod_client import ask_human

if __name__ == "__main__":
    question, options = sys.argv[1], sys.argv[2:]
    print(ask_human(question, options=options or None, timeout=600))
