"""The local host is built from its settings and adapters, with no effect outside it until its app
starts; motia dev hands the same settings to the workers uvicorn spawns as one serialized value."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from motia_runtime.cli.main import _dev_settings, build_parser
from motia_runtime.hosts.local.app import LocalHost
from motia_runtime.hosts.local.settings import ENV_SETTINGS, LOOPBACK_NAMES, DevSettings

APP = Path(__file__).parent / "app"


def test_a_host_built_in_a_test_touches_the_environment_only_while_its_app_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTIA_STREAM_SECRET", raising=False)
    host = LocalHost.open(DevSettings(APP, tmp_path))
    assert "MOTIA_STREAM_SECRET" not in os.environ  # building it set nothing
    with TestClient(host.app(), base_url="http://127.0.0.1") as client:
        assert client.get("/__motia/health").json()["status"] == "ok"
        # While it runs, stream tokens work with the secret kept in its data directory.
        assert os.environ["MOTIA_STREAM_SECRET"] == (tmp_path / "stream-secret").read_text().strip()
        minted = client.post("/__motia/stream-token", json={"streamName": "items", "groupId": "g"})
        assert minted.status_code == 200 and minted.json()["token"]
    assert "MOTIA_STREAM_SECRET" not in os.environ  # ...and not after
    with pytest.raises(sqlite3.ProgrammingError):  # the lifespan closed its database
        host.db.conn.execute("SELECT 1")


def test_a_secret_already_set_is_used_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTIA_STREAM_SECRET", "set-by-the-developer-0123456789abcdef")
    with TestClient(LocalHost.open(DevSettings(APP, tmp_path)).app(), base_url="http://127.0.0.1") as client:
        assert client.get("/__motia/health").status_code == 200
    assert os.environ["MOTIA_STREAM_SECRET"] == "set-by-the-developer-0123456789abcdef"
    assert not (tmp_path / "stream-secret").exists()


def test_the_settings_motia_dev_hands_its_workers_are_the_ones_it_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTIA_ALLOWED_HOSTS", "box.test")
    monkeypatch.setenv("MOTIA_CORS_ORIGINS", "http://a.test, http://b.test")
    monkeypatch.delenv("MOTIA_REDIS_URL", raising=False)
    args = build_parser().parse_args(["dev", "--root", str(APP), "--data-dir", str(tmp_path), "--host", "0.0.0.0",
                                      "--allowed-host", "dev.test"])
    settings = _dev_settings(args)
    assert settings == DevSettings(APP.resolve(), tmp_path.resolve(), None, LOOPBACK_NAMES | {"box.test", "dev.test"},
                                   ("http://a.test", "http://b.test"), reload=False, freeze_gc=True)
    monkeypatch.setenv(ENV_SETTINGS, settings.to_json())
    assert DevSettings.from_env() == settings  # what create_app() reads in a spawned worker
    anyone = DevSettings(APP, tmp_path, "redis://127.0.0.1:1/0", None, (), reload=True)
    assert DevSettings.from_json(anyone.to_json()) == anyone
