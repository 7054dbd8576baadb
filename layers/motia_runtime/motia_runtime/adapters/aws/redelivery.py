"""What an event step's function does with a message it could not handle, on its own SQS queues.

* ``retry_later``: hide the message for the step's retry delay (``ChangeMessageVisibility``), so
  ``backoffDelayMs``/``backoffType`` hold on AWS as they do locally; the queue's own visibility
  timeout then only covers a run that dies without reporting.
* ``dead_letter``: send a message that can never succeed (input that breaks the step's schema, a
  body that is not an event) to the step's DLQ at once, as the local host does, instead of
  retrying it ``maxRetries`` times first. The message is then reported handled (SQS deletes it).

The template gives each event function its queue's and DLQ's URLs and exactly these two rights.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._client import LazyClient

if TYPE_CHECKING:  # the dev extra's boto3-stubs
    from mypy_boto3_sqs import SQSClient

MAX_REASON = 1000  # characters of the error kept with a dead letter (a message attribute)


def _fifo(url: str) -> bool:
    return url.endswith(".fifo")


class SqsRedelivery:
    def __init__(self, queue_url: str | None, dead_letter_url: str | None, *, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self.dead_letter_url = dead_letter_url
        self._sqs: LazyClient[SQSClient] = LazyClient("sqs", client)

    def retry_later(self, record: dict[str, Any], seconds: int) -> bool:
        """Hide ``record`` for ``seconds``; False when this function has no queue URL to do it with."""
        if not self.queue_url:
            return False
        self._sqs.get().change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"],
                                                  VisibilityTimeout=seconds)
        return True

    def dead_letter(self, record: dict[str, Any], reason: str) -> bool:
        """Copy ``record`` to the DLQ with ``reason``; False when this function has no DLQ URL."""
        if not self.dead_letter_url:
            return False
        params: dict[str, Any] = {
            "QueueUrl": self.dead_letter_url,
            "MessageBody": record["body"],
            "MessageAttributes": {"motia-dead-letter-reason": {"DataType": "String",
                                                               "StringValue": reason[:MAX_REASON] or "-"}},
        }
        if _fifo(self.dead_letter_url):
            attributes = record.get("attributes") or {}
            params["MessageGroupId"] = attributes.get("MessageGroupId") or "dead-letters"
            params["MessageDeduplicationId"] = record["messageId"]
        self._sqs.get().send_message(**params)
        return True
