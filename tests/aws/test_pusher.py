"""ApiGatewayPusher against moto's Management API, with the harness's recorder answering 410 Gone."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from motia_runtime.adapters.aws import ApiGatewayPusher
from motia_runtime.errors import ConnectionGoneError, ConnectionThrottledError, FrameTooLargeError, MotiaError
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


def test_throttling_is_retried_with_backoff_then_reported(recorder: FrameRecorder) -> None:
    recorder.open("conn-a")
    slept: list[float] = []
    pusher = ApiGatewayPusher(ENDPOINT, throttle_retries=3, throttle_base_s=0.01, sleep=slept.append)
    recorder.fail("conn-a", 429, times=2)
    pusher.post("conn-a", '{"n":1}')  # two 429s, then through: nothing lost, nothing doubled
    assert recorder.frames("conn-a") == [{"n": 1}] and recorder.attempts["conn-a"] == 3
    # Backed off between attempts, each delay at least half of base * 2**attempt, jittered above.
    assert len(slept) == 2 and 0.005 <= slept[0] <= 0.01 <= slept[1] <= 0.02
    recorder.fail("conn-a", 429, times=10)
    with pytest.raises(ConnectionThrottledError, match="throttled \\(429\\) 4 times"):
        pusher.post("conn-a", '{"n":2}')
    assert recorder.attempts["conn-a"] == 3 + 4  # the SDK's own retries are off: ours are the only ones


def test_a_frame_too_large_is_not_retried(recorder: FrameRecorder) -> None:
    recorder.open("conn-a")
    slept: list[float] = []
    pusher = ApiGatewayPusher(ENDPOINT, sleep=slept.append)
    recorder.fail("conn-a", 413)
    with pytest.raises(FrameTooLargeError, match="413"):
        pusher.post("conn-a", "{}")
    assert recorder.attempts["conn-a"] == 1 and slept == []
    # Over API Gateway's 128 KB the pusher does not even try.
    with pytest.raises(FrameTooLargeError, match="131072-byte"):
        pusher.post("conn-a", "x" * (128 * 1024 + 1))
    assert recorder.attempts["conn-a"] == 1
