"""Settings and local state: NOD_URL, NOD_AGENT_ID, NOD_AGENT_SECRET, else
the profile that nod-connect wrote (NOD_PROFILE, default
~/.config/nod/profile.json); state files in NOD_STATE_DIR."""

import json
import os
import tempfile
from urllib.parse import urlparse


def state_dir(env=None):
    env = os.environ if env is None else env
    if env.get("NOD_STATE_DIR"):
        return env["NOD_STATE_DIR"]
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "nod")


def parse_urls(value):
    """'http://a:8000, http://b:8000' -> ['http://a:8000', 'http://b:8000']."""
    urls = [u.strip().rstrip("/") for u in str(value or "").split(",") if u.strip()]
    for u in urls:
        if urlparse(u).scheme not in ("http", "https"):
            raise ValueError(f'NOD_URL: "{u}" must start with http:// or https://')
    return urls


def load_agent_config(env=None):
    """(urls, agent_id, secret) from the environment, else the profile."""
    env = os.environ if env is None else env
    path = env.get("NOD_PROFILE") or os.path.join(state_dir(env), "profile.json")
    profile = {}
    if not (env.get("NOD_URL") and env.get("NOD_AGENT_ID") and env.get("NOD_AGENT_SECRET")):
        try:
            with open(path, encoding="utf-8") as f:
                profile = json.load(f)
        except FileNotFoundError:
            pass
    urls = parse_urls(env.get("NOD_URL") or profile.get("url"))
    agent_id = env.get("NOD_AGENT_ID") or profile.get("agent_id")
    secret = env.get("NOD_AGENT_SECRET") or profile.get("agent_secret")
    missing = [n for n, v in (("NOD_URL", urls), ("NOD_AGENT_ID", agent_id), ("NOD_AGENT_SECRET", secret)) if not v]
    if missing:
        raise ValueError(f"{', '.join(missing)} not set, and no profile at {path}")
    return urls, agent_id, secret


def read_last_seq(path):
    if not path:
        return 0
    try:
        with open(path, encoding="utf-8") as f:
            return int(json.load(f).get("last_seq", 0))
    except FileNotFoundError:
        return 0


def write_last_seq(path, agent_id, seq):
    """By rename: a crash leaves the old file or the new one."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".nod-state-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"agent_id": agent_id, "last_seq": seq}, f)
    os.replace(tmp, path)
