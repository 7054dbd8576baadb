"""The AWS platform on this machine, live: ``motia cloud`` serves a project's SAM template over
real sockets (HTTP API, WebSocket API, Management API), runs each function in worker processes as
Lambda does, and feeds them from the event sources (SQS, DynamoDB Streams, schedules) on a moto
server. ``motia_runtime.testing.CloudSim`` is the step-by-step, in-process driver of the same
pieces (resources, event shapes, the Management API). See docs/cloud-local.md.
"""

from .server import CloudApp, CloudSettings
from .template import TemplateError

__all__ = ["CloudApp", "CloudSettings", "TemplateError"]
