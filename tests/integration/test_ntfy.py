#!/usr/bin/env python3
"""ntfy remote control (src/control/ntfy.c) against the real daemon and a small
ntfy-compatible server on loopback (ntfy_server.py): the "ready"
notification and replies carry the documented title, priority and tags and
the access token; commands published before camrig started are never run;
each command runs exactly once across a forced reconnect (since=<last id>),
including one published while camrig was cut off; camrig's own messages
and other camrigs' (tagged "camrig") are never run; errors are answered;
recording notifications when the recorder is there; an unreachable server
neither delays start nor stop."""
import os
import subprocess
import tempfile
import time

from camrig_test import CAMRIG, Checks, Daemon, free_port, log
from ntfy_server import NtfyServer

c = Checks()
TOPIC = "camrig-test-7Hq2"
TOKEN = "tk_camrigtest0123456789"


def config(server_url, token_file, extra=""):
    return f"""
ntfy:
  enabled: true
  server: {server_url}/
  topic: {TOPIC}
  token_file: {token_file}
{extra}"""


def ntfy_status(d):
    return d.status().get("ntfy", {})


def wait_status(d, cond, seconds):
    deadline = time.monotonic() + seconds
    while True:
        st = ntfy_status(d)
        if cond(st) or time.monotonic() > deadline:
            return st
        time.sleep(0.1)


def posts_titled(srv, title):
    with srv.cond:
        return [p for p in srv.posts if p["headers"].get("title") == title]


def wait_post(srv, title, seconds=10, count=1):
    srv.wait(lambda: len([p for p in srv.posts if p["headers"].get("title") == title]) >= count, seconds)
    return posts_titled(srv, title)


tmp = tempfile.mkdtemp(prefix="camrig-ntfy-")
token_file = os.path.join(tmp, "token")
with open(token_file, "w") as f:
    f.write(TOKEN + "\n")

# A token file others can read is refused, naming the fix.
os.chmod(token_file, 0o644)
p = subprocess.run([CAMRIG, "run", "--source", "test", "--listen", "127.0.0.1:0", "-o", "ntfy.enabled=true",
                    "-o", "ntfy.server=http://127.0.0.1:9", "-o", f"ntfy.topic={TOPIC}", "-o",
                    f"ntfy.token_file={token_file}"], capture_output=True, text=True, timeout=30)
c.check(p.returncode == 1 and "readable by others" in p.stderr and "chmod o-rwx" in p.stderr
        and TOKEN not in p.stderr, "a token file others can read is refused", p.stderr[-300:])
os.chmod(token_file, 0o600)

with NtfyServer(keepalive=2.0, token=TOKEN) as srv:
    # Commands from before camrig started: never run (quit would end it).
    srv.publish(TOPIC, "quit", at=time.time() - 30)
    srv.publish(TOPIC, "get_stats", at=time.time() - 2)
    t_start = time.time()
    with Daemon("--source", "test", "--size", "320x240", "--fps", "10", "-o", "camera.recording.pre_trigger=0",
                "-o", "camera.recording.codec=mjpeg", config=config(srv.url, token_file)) as d:
        st = wait_status(d, lambda s: s.get("connected"), 10)
        c.check(st.get("connected") is True, "/status ntfy.connected once subscribed", str(st))
        first = srv.subscriptions[0] if srv.subscriptions else {}
        since = first.get("since") or ""
        c.check(since.isdigit() and int(t_start) <= int(since) <= time.time() + 1,
                "the first subscription asks since=<a Unix time after the start>", f"since={since} start={t_start}")
        c.check(first.get("auth") == f"Bearer {TOKEN}", "the subscription sends the token from token_file")

        ready = wait_post(srv, "camrig ready")
        c.check(len(ready) == 1, "camrig publishes \"camrig ready\" once", str(len(ready)))
        if ready:
            h = ready[0]["headers"]
            c.check(h.get("priority") == "3" and h.get("tags") == "camrig,white_check_mark"
                    and h.get("authorization") == f"Bearer {TOKEN}" and "is running" in ready[0]["body"],
                    "ready has priority 3, tags camrig,white_check_mark, the token and a body",
                    f"{h} {ready[0]['body']!r}")

        # A command: run once, answered with a reply.
        srv.publish(TOPIC, "get_stats")
        replies = wait_post(srv, "camrig: get_stats")
        c.check(len(replies) == 1 and replies[0]["body"].startswith("ok: get_stats\ncamera: running"),
                "get_stats is answered \"ok: get_stats\" with a line per camera",
                replies[0]["body"] if replies else "no reply")
        if replies:
            h = replies[0]["headers"]
            c.check(h.get("tags") == "camrig,reply" and h.get("priority") == "3" and replies[0]["topic"] == TOPIC,
                    "a reply has tags camrig,reply and priority 3, on the topic", str(h))

        # Forced reconnect: the server cuts the stream and refuses for 2.5 s;
        # a command published meanwhile runs once camrig is back.
        srv.wait(lambda: False, 0.5)  # let camrig's own reply arrive on its stream
        with srv.cond:
            last_id = [m for m in srv.messages if m["topic"] == TOPIC][-1]["id"]
            nsubs = len(srv.subscriptions)
        srv.refuse_for(2.5)
        dropped = srv.drop_subscribers()
        c.check(dropped == 1, "the server cut camrig's one stream", str(dropped))
        st = wait_status(d, lambda s: not s.get("connected"), 5)
        c.check(st.get("connected") is False, "/status ntfy.connected is false during the outage", str(st))
        srv.publish(TOPIC, "status")
        st = wait_status(d, lambda s: s.get("connected"), 15)
        c.check(st.get("connected") is True and st.get("connects", 0) >= 2, "camrig subscribes again", str(st))
        with srv.cond:
            later = srv.subscriptions[nsubs:]
        c.check(later and all(s["since"] == last_id for s in later),
                "every reconnect asks since=<id of the last message seen>",
                f"{[s['since'] for s in later]} vs {last_id}")
        c.check(srv.refused >= 1, "camrig retried while the server refused", str(srv.refused))
        status_replies = wait_post(srv, "camrig: status")
        c.check(len(status_replies) == 1 and status_replies[0]["body"].startswith("ok: status"),
                "the command published during the outage ran once after the reconnect",
                str([p["body"][:40] for p in status_replies]))

        # Another camrig's message (tagged camrig) is not run.
        srv.publish(TOPIC, "quit", tags=["camrig", "reply"])
        # An unknown command gets an error reply.
        srv.publish(TOPIC, "bogus_command now")
        err = wait_post(srv, "camrig: error")
        c.check(len(err) == 1 and err[0]["body"].startswith("error: unknown command \"bogus_command\"")
                and err[0]["headers"].get("tags") == "camrig,reply,warning",
                "an unknown command is answered \"error: ...\" tagged warning",
                f"{err[0]['body']!r} {err[0]['headers'].get('tags')}" if err else "no reply")

        # Recording notifications, when this build records.
        srv.publish(TOPIC, "start_recording 1")
        rec = wait_post(srv, "camrig: start_recording")
        commands = 4
        if rec and rec[0]["body"].startswith("ok: recording started (1 s)"):
            started = wait_post(srv, "Recording started")
            finished = wait_post(srv, "Recording finished", seconds=15)
            c.check(len(started) == 1 and "camera: recording for 1 s (from ntfy)" in started[0]["body"]
                    and started[0]["headers"].get("tags") == "camrig,red_circle"
                    and started[0]["headers"].get("priority") == "3",
                    "recording_started: title, tags camrig,red_circle, priority, duration and trigger",
                    str(started[0] if started else None))
            c.check(len(finished) == 1 and " frames, " in finished[0]["body"] and " dropped" in finished[0]["body"]
                    and finished[0]["headers"].get("tags") == "camrig,floppy_disk",
                    "recording_finished: title, tags camrig,floppy_disk, file, frames and drops",
                    str(finished[0] if finished else None))
        else:
            log("note: start_recording is not available in this build:", rec[0]["body"] if rec else "no reply")

        # Nothing else ran: camrig's own notifications and replies came back on
        # the stream and were skipped.
        srv.wait(lambda: False, 1.0)
        st = ntfy_status(d)
        c.check(st.get("messages_run") == commands, f"exactly {commands} messages ran as commands", str(st))
        c.check(st.get("messages_skipped", 0) >= 3, "camrig's own messages and the tagged one were skipped",
                str(st))
        with srv.cond:
            n_replies = len([p for p in srv.posts if p["headers"].get("title", "").startswith("camrig: ")])
            auths = {s["auth"] for s in srv.subscriptions} | {p["headers"].get("authorization") for p in srv.posts}
        c.check(n_replies == commands, "one reply per command, none to camrig's own messages", str(n_replies))
        c.check(auths == {f"Bearer {TOKEN}"} and srv.unauthorized == 0, "every request carried the token",
                str(auths))
        c.check(st.get("publish_errors") == 0 and st.get("published", 0) >= commands + 1,
                "/status counts what was published", str(st))

        t0 = time.monotonic()
        rc = d.stop()
        took = time.monotonic() - t0
        c.check(rc == 0 and took < 3, "camrig stops promptly with its stream open", f"rc={rc} in {took:.1f} s")
        logtext = d.log()
        c.check(TOKEN not in logtext, "the token never appears in the log")
        c.check(logtext.count("ntfy: running") == commands, "the log shows each command run once",
                str(logtext.count("ntfy: running")))

# An unreachable server: camrig starts and stops as usual and counts errors.
port = free_port()
t0 = time.monotonic()
with Daemon("--source", "test", "--size", "160x120", "--fps", "5",
            config=config(f"http://127.0.0.1:{port}", token_file)) as d:
    c.check(time.monotonic() - t0 < 10, "an unreachable ntfy server does not delay the start")
    st = wait_status(d, lambda s: s.get("errors", 0) >= 1, 5)
    c.check(st.get("connected") is False and st.get("errors", 0) >= 1,
            "an unreachable server shows in /status ntfy.errors", str(st))
    t0 = time.monotonic()
    rc = d.stop()
    c.check(rc == 0 and time.monotonic() - t0 < 3, "camrig stops promptly while it waits to retry")

c.done()
