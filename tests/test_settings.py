"""Settings: defaults documented in config/default.toml, env overrides, one-line errors."""

from __future__ import annotations

import re

import pytest

from notifier.errors import ConfigError
from notifier.paths import data_dir
from notifier.settings import Settings, load_settings


def test_every_setting_is_in_default_toml() -> None:
    text = (data_dir("config") / "default.toml").read_text()
    for section, model in Settings.model_fields.items():
        if section == "carriers":
            continue
        sub = getattr(model.annotation, "model_fields", None)
        if sub is None:
            assert re.search(rf"^{section} =", text, re.M), section
            continue
        assert f"[{section}]" in text, section
        for key, field in sub.items():
            nested = getattr(field.annotation, "model_fields", None)
            if nested is not None:  # a sub-table such as [senders.twilio]
                assert f"[{section}.{key}]" in text, f"{section}.{key}"
                for inner in nested:
                    documented = re.search(rf"^#? ?{inner} = ", text, re.M)
                    table = f"[{section}.{key}.{inner}]" in text
                    assert documented or table, f"{section}.{key}.{inner}"
                continue
            assert re.search(rf"^#? ?{key} = ", text, re.M), f"{section}.{key}"


def test_env_overrides_nested(monkeypatch) -> None:
    monkeypatch.setenv("NOTIFIER_POLL__INTERVAL", "42")
    monkeypatch.setenv("NOTIFIER_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("NOTIFIER_CARRIERS__BINDERBYTE__API_KEY", "sekret")
    s = load_settings()
    assert s.poll.interval == 42
    assert s.database_url.startswith("postgresql+psycopg")
    assert s.carriers["binderbyte"].adapter_config()["api_key"] == "sekret"
    assert "sekret" not in repr(s) and "sekret" not in s.model_dump_json()


def test_config_file_between_defaults_and_env(monkeypatch, tmp_path) -> None:
    path = tmp_path / "prod.toml"
    path.write_text('[notify]\nquiet_hours_start = "22:00"\n[poll]\ninterval = 5\n')
    monkeypatch.setenv("NOTIFIER_CONFIG", str(path))
    monkeypatch.setenv("NOTIFIER_POLL__INTERVAL", "7")
    s = load_settings()
    assert s.notify.quiet_hours_start == "22:00"
    assert s.poll.interval == 7


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"NOTIFIER_POLL__INTERVAL": "soon"}, "poll.interval"),
        ({"NOTIFIER_NOTIFY__QUIET_HOURS_START": "25:00"}, "notify.quiet_hours_start"),
        ({"NOTIFIER_NOTIFY__DISABLED_TRIGGERS": '["shiped"]'}, "notify.disabled_triggers"),
        ({"NOTIFIER_DATABASE_URL": "mysql://x"}, "database_url"),
        ({"NOTIFIER_SERVER__PUBLIC_URL": "example.com"}, "server.public_url"),
    ],
)
def test_invalid_settings_name_the_key(monkeypatch, env, key) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert key in message and "\n" not in message


def test_missing_config_file_is_one_line(monkeypatch) -> None:
    monkeypatch.setenv("NOTIFIER_CONFIG", "/nonexistent/prod.toml")
    with pytest.raises(ConfigError, match="NOTIFIER_CONFIG"):
        load_settings()
