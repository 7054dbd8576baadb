"""Reading a SAM template for ``motia cloud`` (``emulation/template.py``): generic by resource type,
errors that name the resource and the field, and the repo's own template."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.emulation.template import TemplateError, load_template, read_app

APP = Path(__file__).parent / "app" / "template.yaml"
REPO_TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def test_the_test_app_is_read_by_type() -> None:
    model = read_app(load_template(APP))
    assert {r.path for r in model.http_routes} >= {"/items/{id}", "/items/special", "/files/{proxy+}"}
    assert model.functions["SlowFunction"].timeout_s == 2 and model.functions["HttpFunction"].timeout_s == 10
    assert model.functions["HttpFunction"].memory_mb == 256  # from Globals
    assert model.functions["HttpFunction"].environment["SEEN_TABLE"] == {"Ref": "SeenTable"}  # !Ref read
    assert model.websocket is not None and model.websocket.stage == "live"
    assert model.websocket.route_selection == "$request.body.action"
    assert model.websocket.routes == {"$connect": "WsFunction", "$disconnect": "WsFunction", "echo": "WsFunction"}
    [jobs] = model.sqs_sources
    assert (jobs.function, jobs.queue, jobs.batch_size, jobs.report_failures) == ("JobsFunction", "JobsQueue", 5, True)
    [stream] = model.stream_sources
    assert (stream.function, stream.table, stream.batch_size, stream.max_retries) == ("ItemFunction", "ItemsTable",
                                                                                      10, -1)
    assert [(s.name, s.expression, s.function) for s in model.schedules] == [("TickSchedule", "rate(1 day)",
                                                                              "TickFunction")]
    assert model.ignored == {"AWS::SNS::Topic": ["AlarmTopic"]}  # a type it does not need: left alone


def test_the_repos_template_is_served_whole() -> None:
    model = read_app(load_template(REPO_TEMPLATE))
    assert len(model.functions) >= 18 and model.websocket is not None
    assert model.websocket.routes["$default"] == "WebSocketFunction"
    [fanout] = [s for s in model.stream_sources if s.function == "FanoutFunction"]
    assert (fanout.table, fanout.on_failure_queue) == ("StreamsTable", "FanoutFailureQueue")
    assert any(s.function == "DeliveryFunction" for s in model.sqs_sources)  # the big rooms' second hop


def test_an_event_source_mapping_written_out_is_read_too() -> None:
    template: dict[str, Any] = {"Resources": {
        "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "a.b"}},
        "Q": {"Type": "AWS::SQS::Queue"},
        "Map": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
            "FunctionName": {"Ref": "Fn"}, "EventSourceArn": {"Fn::GetAtt": ["Q", "Arn"]}, "BatchSize": 3,
            "FunctionResponseTypes": ["ReportBatchItemFailures"]}}}}
    [source] = read_app(template).sqs_sources
    assert (source.function, source.queue, source.batch_size, source.report_failures) == ("Fn", "Q", 3, True)


BASE: dict[str, Any] = {"Resources": {
    "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "a.b", "Events": {
        "Q": {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["Q", "Arn"]}}}}}},
    "Q": {"Type": "AWS::SQS::Queue"}}}


@pytest.mark.parametrize(("change", "named"), [
    (lambda t: t["Resources"]["Fn"]["Properties"].pop("Handler"), "resource Fn: field Handler"),
    (lambda t: t["Resources"]["Fn"]["Properties"].update(Timeout="soon"), "resource Fn: field Timeout"),
    (lambda t: t["Resources"]["Fn"]["Properties"]["Events"]["Q"]["Properties"].update(Queue={"Ref": "Nope"}),
     "resource Fn: field Events.Q.Properties.Queue"),
    (lambda t: t["Resources"]["Q"].pop("Type"), "resource Q: field Type"),
    (lambda t: t["Resources"].update(Ws={"Type": "AWS::ApiGatewayV2::Api", "Properties": {
        "ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.header.x"}}),
     "resource Ws: field RouteSelectionExpression"),
    (lambda t: t["Resources"].update(R={"Type": "AWS::Events::Rule", "Properties": {
        "ScheduleExpression": "every day", "Targets": [{"Id": "t", "Arn": {"Fn::GetAtt": ["Fn", "Arn"]}}]}}),
     "resource R: field ScheduleExpression"),
])
def test_a_template_it_cannot_serve_names_the_resource_and_field(change: Any, named: str) -> None:
    template = copy.deepcopy(BASE)
    read_app(template, "t.yaml")  # the base is fine
    change(template)
    with pytest.raises(TemplateError, match=named.replace(".", r"\.")):
        read_app(template, "t.yaml")


def test_yaml_that_does_not_parse_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "template.yaml"
    broken.write_text("Resources: [\n")
    with pytest.raises(TemplateError, match=r"template\.yaml: not valid YAML"):
        load_template(broken)
