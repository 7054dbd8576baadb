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

Needs the ``testing`` extra (``pip install 'motia-runtime[testing]'``: moto, boto3 and the local
host). Use it from synchronous tests: entry points run their own loop.
"""

from importlib.util import find_spec

# Checked by name, not imported: the message says which extra to install, instead of a bare
# ModuleNotFoundError from deep inside a test run.
_missing = [name for name in ("boto3", "moto") if find_spec(name) is None]
if _missing:
    raise ImportError(f"motia_runtime.testing needs the testing extra ({', '.join(_missing)} missing): "
                      "pip install 'motia-runtime[testing]'")

from ..tools.template.names import HANDLERS  # noqa: E402
from .cloud import CloudSim  # noqa: E402
from .resources import Resources, SimError  # noqa: E402
from .support import HttpResponse  # noqa: E402
from .websocket import FrameRecorder, WsClient  # noqa: E402

__all__ = ["HANDLERS", "CloudSim", "FrameRecorder", "HttpResponse", "Resources", "SimError", "WsClient"]
