"""``motia cloud``'s event sources ask the in-process moto whether a poll would find anything
(``emulation/sources.py`` ``MotoPeek``) and make no request when it would not. Here the peek's
answers against moto's own models, through the same boto calls a function makes: a poll must
never be skipped while ReceiveMessage or GetRecords would return something."""

from __future__ import annotations

import time

import boto3
from moto import mock_aws

from motia_runtime.emulation.sources import MotoPeek
from motia_runtime.testing import lambda_events as ev

REGION = "us-east-1"


@mock_aws
def test_a_queue_is_seen_to_hold_a_message_exactly_when_a_receive_would_return_it() -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    peek = MotoPeek(ev.ACCOUNT_ID, REGION)
    assert peek.queue_has_visible(url) is False
    sqs.send_message(QueueUrl=url, MessageBody="one")
    assert peek.queue_has_visible(url) is True
    [message] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"]
    assert peek.queue_has_visible(url) is False  # in flight: a receive would return nothing
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None
    # A failed invocation hands it back (visibility 0): visible again without any new send.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    time.sleep(0.01)  # moto compares milliseconds strictly
    assert peek.queue_has_visible(url) is True
    sqs.delete_message(QueueUrl=url, ReceiptHandle=sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"])
    assert peek.queue_has_visible(url) is False
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    assert peek.queue_has_visible(url) is False  # delayed: not receivable yet
    fifo = sqs.create_queue(QueueName="jobs.fifo", Attributes={"FifoQueue": "true",
                                                                "ContentBasedDeduplication": "true"})["QueueUrl"]
    sqs.send_message(QueueUrl=fifo, MessageBody="first", MessageGroupId="g")
    assert peek.queue_has_visible(fifo) is True


@mock_aws
def test_a_stream_length_counts_every_write_of_the_table() -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    table = ddb.create_table(TableName="motia-streams", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST",
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    arn = table["TableDescription"]["LatestStreamArn"]
    peek = MotoPeek(ev.ACCOUNT_ID, REGION)
    assert peek.stream_length(arn) == 0
    ddb.put_item(TableName="motia-streams", Item={"pk": {"S": "a"}})
    ddb.put_item(TableName="motia-streams", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    ddb.delete_item(TableName="motia-streams", Key={"pk": {"S": "a"}})
    assert peek.stream_length(arn) == 3
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert len(streams.get_records(ShardIterator=iterator)["Records"]) == peek.stream_length(arn)


@mock_aws
def test_what_the_peek_cannot_read_it_does_not_guess() -> None:
    # None: the source polls over HTTP as it did without the peek.
    peek = MotoPeek(ev.ACCOUNT_ID, REGION)
    assert peek.queue_has_visible(f"https://sqs.{REGION}.amazonaws.com/{ev.ACCOUNT_ID}/missing") is None
    assert peek.stream_length(f"arn:aws:dynamodb:{REGION}:{ev.ACCOUNT_ID}:table/missing/stream/x") is None
    assert peek.stream_length("not an arn") is None
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(TableName="plain", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    assert peek.stream_length(f"arn:aws:dynamodb:{REGION}:{ev.ACCOUNT_ID}:table/plain/stream/x") is None  # no stream
