"""Real-client compatibility test for DDP: ``tests/ddp-client/hubot_transport.js`` drives the running
Huddle's ``/websocket`` with ddp.js 0.5.0 from npm, the DDP client under hubot-rocketchat
(@rocket.chat/sdk 0.2 -> asteroid -> ddp.js), the way that SDK uses it. Same environment as the
other tests here (run.sh starts the server); needs ``node`` and ``npm``.

Named to run after test_rocketchat_api.py: it posts into ``general``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CLIENT = Path(__file__).resolve().parent.parent / "ddp-client"


def test_ddp_js_speaks_to_huddle_like_hubot():
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=CLIENT,
        check=True,
        timeout=300,
    )
    run = subprocess.run(
        ["node", "hubot_transport.js"],
        cwd=CLIENT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert " 0 failed" in run.stdout, run.stdout
