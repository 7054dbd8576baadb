"""Operations, on by default, each with a parameter to tune it or turn it off (docs/deploying.md):

* a log group per function (``<Function>LogGroup``, the function's ``LoggingConfig``) kept
  ``LogRetentionDays`` (30) instead of for ever;
* CloudWatch alarms, sent to ``AlarmTopicArn`` when one is given (``Alarms`` turns them off):
  every dead-letter queue's depth (``<Queue>DepthAlarm``: a step's DLQ, the fan-out's failure
  queue), each function's errors and throttles (``<Function>ErrorsAlarm``/``ThrottlesAlarm``),
  and the stream consumer's iterator age (``<Function>IteratorAgeAlarm``: a fan-out falling behind);
* access logs and default throttling (``ApiThrottleRate``/``ApiThrottleBurst``) on both API stages;
* point-in-time recovery on the state and streams tables (``PointInTimeRecovery``), and every
  queue encrypted at rest (SSE-SQS);
* X-Ray tracing as an option (``Tracing``: PassThrough by default, Active to trace).

``apply(resources)`` runs last in the builder, over every function, queue and table already there,
so resources another module adds (a delivery queue, another consumer) get the same treatment.
"""

from __future__ import annotations

from typing import Any

from .names import HTTP_API, STATE_TABLE, STREAMS_TABLE, app_metadata, get_att, ref

LOG_RETENTION = "LogRetentionDays"
ALARM_TOPIC = "AlarmTopicArn"
ALARMS = "Alarms"
PITR = "PointInTimeRecovery"
TRACING = "Tracing"
THROTTLE_RATE = "ApiThrottleRate"
THROTTLE_BURST = "ApiThrottleBurst"
WS_ACCESS_LOGS = "WebSocketAccessLogs"

ALARMS_ON = "AlarmsOn"
HAS_ALARM_TOPIC = "HasAlarmTopic"
PITR_ON = "PointInTimeRecoveryOn"
WS_ACCESS_LOGS_ON = "WebSocketAccessLogsOn"

HTTP_ACCESS_LOG_GROUP = "HttpApiAccessLogGroup"
WS_ACCESS_LOG_GROUP = "WebSocketAccessLogGroup"
# The values CloudWatch Logs accepts for a retention.
RETENTIONS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
              3288, 3653]
ITERATOR_AGE_MS = 60_000  # a fan-out a minute behind the writes: clients see stale streams
PERIOD = 300
# One JSON line per request, with what an operator looks for first.
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTime",'
    '"routeKey":"$context.routeKey","status":"$context.status","latency":"$context.integrationLatency",'
    '"error":"$context.error.message","integrationError":"$context.integrationErrorMessage"}'
)


def parameters() -> dict[str, Any]:
    return {
        LOG_RETENTION: {"Type": "Number", "Default": 30, "AllowedValues": RETENTIONS,
                        "Description": "Days CloudWatch keeps each function's logs and the APIs' access logs."},
        ALARMS: {"Type": "String", "Default": "Enabled", "AllowedValues": ["Enabled", "Disabled"],
                 "Description": "CloudWatch alarms on dead-letter queues, function errors and throttles, and the "
                                "fan-out's iterator age (about $0.10 per alarm-month)."},
        ALARM_TOPIC: {"Type": "String", "Default": "",
                      "Description": "An SNS topic ARN the alarms notify (empty: alarms change state, notify no one)."},
        PITR: {"Type": "String", "Default": "Enabled", "AllowedValues": ["Enabled", "Disabled"],
               "Description": "Point-in-time recovery (35 days) on the state and streams tables."},
        TRACING: {"Type": "String", "Default": "PassThrough", "AllowedValues": ["PassThrough", "Active"],
                  "Description": "X-Ray tracing of the functions (Active: traced, billed per trace)."},
        THROTTLE_RATE: {"Type": "Number", "Default": 100, "MinValue": 1,
                        "Description": "Requests (HTTP) and messages (WebSocket) per second each route accepts, "
                                       "steady state."},
        THROTTLE_BURST: {"Type": "Number", "Default": 200, "MinValue": 1,
                         "Description": "Requests or messages each route accepts in a burst."},
        WS_ACCESS_LOGS: {"Type": "String", "Default": "Enabled", "AllowedValues": ["Enabled", "Disabled"],
                         "Description": "Access logs of the WebSocket stage (needs the account's API Gateway "
                                        "CloudWatch role: docs/deploying.md)."},
    }


def conditions() -> dict[str, Any]:
    return {
        ALARMS_ON: {"Fn::Equals": [ref(ALARMS), "Enabled"]},
        HAS_ALARM_TOPIC: {"Fn::Not": [{"Fn::Equals": [ref(ALARM_TOPIC), ""]}]},
        PITR_ON: {"Fn::Equals": [ref(PITR), "Enabled"]},
        WS_ACCESS_LOGS_ON: {"Fn::Equals": [ref(WS_ACCESS_LOGS), "Enabled"]},
    }


def _log_group(name: dict[str, str] | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"RetentionInDays": ref(LOG_RETENTION)}
    if name is not None:
        properties["LogGroupName"] = name
    return {"Type": "AWS::Logs::LogGroup", "Metadata": app_metadata("log-group"), "Properties": properties}


def _alarm(description: str, namespace: str, metric: str, dimensions: dict[str, Any], *, statistic: str = "Sum",
           threshold: float = 1, unit_period: int = PERIOD) -> dict[str, Any]:
    actions = {"Fn::If": [HAS_ALARM_TOPIC, [ref(ALARM_TOPIC)], ref("AWS::NoValue")]}
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Condition": ALARMS_ON,
        "Metadata": app_metadata("alarm"),
        "Properties": {
            "AlarmDescription": description[:1024],
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Statistic": statistic,
            "Period": unit_period,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            # No data is no errors, no messages: not a reason to page anyone.
            "TreatMissingData": "notBreaching",
            "AlarmActions": actions,
            "OKActions": actions,
        },
    }


def _function_resources(function_id: str, function: dict[str, Any]) -> dict[str, dict[str, Any]]:
    log_group = f"{function_id}LogGroup"
    # LoggingConfig names the group, so it exists before the function first logs (a group named
    # /aws/lambda/<function> would race with the one Lambda creates itself).
    function["Properties"]["LoggingConfig"] = {"LogGroup": ref(log_group)}
    name = {"FunctionName": ref(function_id)}
    out = {
        log_group: _log_group(),
        f"{function_id}ErrorsAlarm": _alarm(f"{function_id}: an invocation failed (uncaught error or timeout)",
                                            "AWS/Lambda", "Errors", name),
        f"{function_id}ThrottlesAlarm": _alarm(f"{function_id}: invocations throttled (concurrency limit)",
                                               "AWS/Lambda", "Throttles", name),
    }
    for source in (function["Properties"].get("Events") or {}).values():
        if source.get("Type") in ("DynamoDB", "Kinesis"):
            out[f"{function_id}IteratorAgeAlarm"] = _alarm(
                f"{function_id}: more than {ITERATOR_AGE_MS // 1000} s behind its stream (stream clients lag)",
                "AWS/Lambda", "IteratorAge", name, statistic="Maximum", threshold=ITERATOR_AGE_MS, unit_period=60)
            break
    return out


def _dead_letter_queues(resources: dict[str, dict[str, Any]]) -> set[str]:
    """Queues something dead-letters into: a redrive target, a rule target's dead-letter queue, or a
    stream's on-failure destination."""
    found: set[str] = set()
    for resource in resources.values():
        redrive = (resource.get("Properties") or {}).get("RedrivePolicy")
        if resource["Type"] == "AWS::SQS::Queue" and redrive:
            found.add(redrive["deadLetterTargetArn"]["Fn::GetAtt"][0])
        if resource["Type"] == "AWS::Events::Rule":
            for target in resource["Properties"].get("Targets") or []:
                arn = (target.get("DeadLetterConfig") or {}).get("Arn")
                if isinstance(arn, dict) and "Fn::GetAtt" in arn:
                    found.add(arn["Fn::GetAtt"][0])
        for source in ((resource.get("Properties") or {}).get("Events") or {}).values():
            destination = (source.get("Properties") or {}).get("DestinationConfig", {}).get("OnFailure", {})
            if destination.get("Type") == "SQS":
                found.add(destination["Destination"]["Fn::GetAtt"][0])
    return found


def apply(resources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Add the operations settings to ``resources`` in place; return the resources to append."""
    added: dict[str, dict[str, Any]] = {}
    for function_id, resource in list(resources.items()):
        if resource["Type"] == "AWS::Serverless::Function":
            added |= _function_resources(function_id, resource)
    # Alarms another module made (the big-room delivery path's) follow the same switch and topic,
    # and a dead-letter queue one of them already watches gets no second alarm.
    watched: set[str] = set()
    for resource in resources.values():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            properties = resource["Properties"]
            resource.setdefault("Condition", ALARMS_ON)
            actions = {"Fn::If": [HAS_ALARM_TOPIC, [ref(ALARM_TOPIC)], ref("AWS::NoValue")]}
            properties.setdefault("AlarmActions", actions)
            properties.setdefault("OKActions", actions)
            if properties.get("MetricName") == "ApproximateNumberOfMessagesVisible":
                watched |= {d["Value"]["Fn::GetAtt"][0] for d in properties.get("Dimensions", [])
                            if isinstance(d.get("Value"), dict) and "Fn::GetAtt" in d["Value"]}
    for queue_id in sorted(_dead_letter_queues(resources) - watched):
        added[f"{queue_id}DepthAlarm"] = _alarm(
            f"{queue_id}: messages are waiting in a dead-letter queue (failed events to inspect and redrive)",
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": get_att(queue_id, "QueueName")},
            statistic="Maximum")
    for resource in resources.values():  # encrypted at rest with SQS's own key (no cost, no KMS calls)
        if resource["Type"] == "AWS::SQS::Queue" and "KmsMasterKeyId" not in resource["Properties"]:
            resource["Properties"]["SqsManagedSseEnabled"] = True
    for table_id in (STATE_TABLE, STREAMS_TABLE):
        if table_id in resources:
            resources[table_id]["Properties"]["PointInTimeRecoverySpecification"] = {
                "PointInTimeRecoveryEnabled": {"Fn::If": [PITR_ON, True, False]}}
    throttling = {"ThrottlingRateLimit": ref(THROTTLE_RATE), "ThrottlingBurstLimit": ref(THROTTLE_BURST)}
    if HTTP_API in resources:
        properties = resources[HTTP_API]["Properties"]
        properties["DefaultRouteSettings"] = dict(throttling)
        properties["AccessLogSettings"] = {"DestinationArn": get_att(HTTP_ACCESS_LOG_GROUP, "Arn"),
                                           "Format": ACCESS_LOG_FORMAT}
        added[HTTP_ACCESS_LOG_GROUP] = _log_group()
    for resource in resources.values():
        if resource["Type"] == "AWS::ApiGatewayV2::Stage":
            properties = resource["Properties"]
            properties["DefaultRouteSettings"] = dict(throttling)
            properties["AccessLogSettings"] = {"Fn::If": [WS_ACCESS_LOGS_ON, {
                "DestinationArn": get_att(WS_ACCESS_LOG_GROUP, "Arn"), "Format": ACCESS_LOG_FORMAT},
                ref("AWS::NoValue")]}
            added[WS_ACCESS_LOG_GROUP] = {**_log_group(), "Condition": WS_ACCESS_LOGS_ON}
    return added


def function_globals() -> dict[str, Any]:
    """Globals.Function settings: the X-Ray option."""
    return {"Tracing": ref(TRACING)}

