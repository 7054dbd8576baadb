"""The server's limits are one value (motia_runtime/limits.py), read from the environment once, into
the settings a host is built from; a bad value is a ConfigError naming the variable, and
``motia dev`` reports it in one line (exit 2), not a traceback. Over real sockets:
tests/local/test_socket_limits.py (two hosts in one process with different limits)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from uvicorn.importer import import_from_string

from motia_runtime.cli.main import main
from motia_runtime.errors import ConfigError
from motia_runtime.hosts.aws.bootstrap import Settings
from motia_runtime.hosts.local.head_timeout import protocol_class, protocol_name
from motia_runtime.hosts.local.settings import DevSettings
from motia_runtime.limits import Limits

APP = Path(__file__).resolve().parents[1] / "local" / "app"
VARIABLES = {
    "MOTIA_WS_MAX_SUBSCRIPTIONS": "max_subscriptions", "MOTIA_MAX_BODY_BYTES": "max_body_bytes",
    "MOTIA_WS_OUTBOX_FRAMES": "ws_outbox_frames", "MOTIA_SSE_KEEPALIVE_S": "sse_keepalive_s",
    "MOTIA_HEADER_TIMEOUT_S": "header_timeout_s", "MOTIA_STREAM_REPLAY_EVENTS": "replay_events",
    "MOTIA_WORKBENCH_TRACES": "workbench_traces", "MOTIA_WORKBENCH_TRACE_EVENTS": "workbench_trace_events",
    "MOTIA_WORKBENCH_TRACE_MB": "workbench_trace_mb", "MOTIA_WORKBENCH_LOGS": "workbench_logs",
    "MOTIA_WORKBENCH_LOGS_MB": "workbench_logs_mb", "MOTIA_WORKBENCH_OUTBOX_FRAMES": "workbench_outbox_frames",
    "MOTIA_PUSH_CONCURRENCY": "push_concurrency", "MOTIA_DELIVERY_ATTEMPTS": "delivery_attempts",
    "MOTIA_FANOUT_SHARDS": "fanout_shards", "MOTIA_FANOUT_BIG_ROOM": "fanout_big_room",
    "MOTIA_STREAM_REPLAY_S": "stream_replay_s", "MOTIA_TRIGGER_MAX_DEPTH": "trigger_max_depth",
    "MOTIA_BUS_CONCURRENCY": "bus_concurrency", "MOTIA_BUS_MAX_LOOP_LAG_MS": "bus_max_loop_lag_ms",
    "MOTIA_BUS_MAX_RSS_MB": "bus_max_rss_mb",
}
ZERO_ALLOWED = {"MOTIA_STREAM_REPLAY_S"}  # 0: replay off (every rejoin with ``since`` gets a resync)


def test_each_documented_variable_sets_its_limit_and_unset_keeps_the_default() -> None:
    assert Limits.from_env({}) == Limits()
    assert Limits.from_env({name: " " for name in VARIABLES}) == Limits()  # blank is unset
    for n, (variable, field) in enumerate(VARIABLES.items(), start=2):
        assert getattr(Limits.from_env({variable: str(n)}), field) == n


@pytest.mark.parametrize("raw", ["lots", "1.5", "0", "-3"])
def test_a_bad_value_is_a_config_error_naming_the_variable(raw: str) -> None:
    for variable in VARIABLES:
        if raw == "0" and variable in ZERO_ALLOWED:
            assert getattr(Limits.from_env({variable: raw}), VARIABLES[variable]) == 0
            continue
        with pytest.raises(ConfigError, match=variable):
            Limits.from_env({variable: raw})
    with pytest.raises(ConfigError, match=r"MOTIA_FANOUT_SHARDS .*between 1 and 1000"):
        Limits.from_env({"MOTIA_FANOUT_SHARDS": "5000"})
    with pytest.raises(ConfigError, match=r"MOTIA_STREAM_REPLAY_S \(\w+\) must be between 0 and 86400 seconds"):
        Limits.from_env({"MOTIA_STREAM_REPLAY_S": "90000"})
    with pytest.raises(ConfigError, match=r"MOTIA_BUS_CONCURRENCY \(\w+\) must be between 1 and 100000 handlers"):
        Limits.from_env({"MOTIA_BUS_CONCURRENCY": "200000"})


def test_limits_built_in_code_are_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"MOTIA_WS_MAX_SUBSCRIPTIONS \(max_subscriptions\) must be at least 1"):
        Limits(max_subscriptions=0)
    with pytest.raises(ConfigError, match="whole number"):
        Limits(header_timeout_s=True)


def test_the_settings_carry_the_limits_to_uvicorns_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = DevSettings(Path("/p"), Path("/p/.motia"), limits=Limits(max_subscriptions=7, header_timeout_s=3))
    assert DevSettings.from_json(settings.to_json()) == settings
    monkeypatch.setenv("MOTIA_DEV_SETTINGS", settings.to_json())
    monkeypatch.setenv("MOTIA_WS_MAX_SUBSCRIPTIONS", "99")  # what the CLI read is what the workers use
    assert DevSettings.from_env().limits.max_subscriptions == 7
    monkeypatch.delenv("MOTIA_DEV_SETTINGS")
    assert DevSettings.from_env().limits.max_subscriptions == 99


def test_the_aws_functions_read_them_with_their_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTIA_FANOUT_BIG_ROOM", "40")
    monkeypatch.setenv("MOTIA_TRIGGER_MAX_DEPTH", "3")
    assert Settings.from_env().limits.fanout_big_room == 40
    assert Settings.from_env().limits.trigger_max_depth == 3
    assert Settings.from_env().metrics_namespace == "Motia"
    monkeypatch.setenv("MOTIA_METRICS_NAMESPACE", "Shop")
    assert Settings.from_env().metrics_namespace == "Shop"
    monkeypatch.setenv("MOTIA_FANOUT_BIG_ROOM", "none")
    with pytest.raises(ConfigError, match="MOTIA_FANOUT_BIG_ROOM"):
        Settings.from_env()


def test_the_head_deadline_travels_in_the_protocols_import_string() -> None:
    # uvicorn's worker processes import the protocol class by name: the name carries the value.
    cls = import_from_string(protocol_name(3))
    assert cls is protocol_class(3) and cls.head_timeout_s == 3
    assert pickle.loads(pickle.dumps(cls)) is cls  # uvicorn's spawned workers get the config pickled
    assert import_from_string(protocol_name()).head_timeout_s == 10


def test_motia_dev_reports_a_bad_limit_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MOTIA_WS_OUTBOX_FRAMES", "lots")
    assert main(["dev", "--root", str(APP), "--no-reload"]) == 2
    err = capsys.readouterr().err
    assert err == "motia: MOTIA_WS_OUTBOX_FRAMES must be a whole number of frames, not 'lots'\n"
