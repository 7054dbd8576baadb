"""Test a motia app the way it runs on AWS, without AWS: ``CloudSim`` creates the app's resources
in moto from its SAM template and drives the real Lambda entry points.

    from motia_runtime.testing import CloudSim

    def test_prompt_streams_a_reply():
        with CloudSim(".") as sim:
            client = sim.connect()
            reply = sim.http("POST", "/open-ai", json={"message": "hi"})
            client.join("openai", reply.json()["__motia"]["groupId"], "message")
            sim.run_until_idle()
            assert client.frames[-1]["event"]["type"] == "update"

Needs the ``dev`` extra (moto). Use it from synchronous tests: entry points run their own loop.
"""

from .cloud import HANDLERS, CloudSim
from .resources import Resources, SimError
from .support import HttpResponse
from .websocket import FrameRecorder, WsClient

__all__ = ["HANDLERS", "CloudSim", "FrameRecorder", "HttpResponse", "Resources", "SimError", "WsClient"]
