"""ApiGatewayPusher against moto's Management API, with the harness's recorder answering 410 Gone."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from motia_runtime.adapters.aws import ApiGatewayPusher
from motia_runtime.errors import ConnectionGoneError, MotiaError
from motia_runtime.testing import FrameRecorder

ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"


@pytest.fixture
def recorder(aws: None) -> Iterator[FrameRecorder]:
    account = boto3.client("sts").get_caller_identity()["Account"]
    recorder = FrameRecorder.install(account, "us-east-1")
    yield recorder
    recorder.uninstall()


def test_frames_reach_an_open_connection_one_post_each(recorder: FrameRecorder) -> None:
    recorder.open("conn-a")
    pusher = ApiGatewayPusher(ENDPOINT)
    pusher.post("conn-a", '{"n":1}')
    pusher.post("conn-a", b'{"n":2}')
    assert recorder.frames("conn-a") == [{"n": 1}, {"n": 2}]


def test_a_gone_connection_raises_connection_gone(recorder: FrameRecorder) -> None:
    recorder.open("conn-a")
    pusher = ApiGatewayPusher(ENDPOINT)
    with pytest.raises(ConnectionGoneError, match="never-connected"):
        pusher.post("never-connected", "{}")
    pusher.post("conn-a", "{}")
    recorder.close("conn-a")  # the client vanished: API Gateway now answers 410
    with pytest.raises(ConnectionGoneError) as info:
        pusher.post("conn-a", "{}")
    assert isinstance(info.value, MotiaError)
    assert info.value.__cause__.response["ResponseMetadata"]["HTTPStatusCode"] == 410  # type: ignore[union-attr]
    pusher.close("conn-a")  # closing a gone connection is not an error
