"""Configuration: TOML + environment, secrets by reference, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.config import Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cockpit.example.toml"
CANARY = "canary-0b9e8d7c6a5f4e3d2c1b0a9f8e7d6c5b"
EXAMPLE_ENV = {"DD_API_KEY": CANARY, "DD_APP_KEY": "app-" + CANARY,
               "COCKPIT_PG_PASSWORD": "pg-" + CANARY, "COCKPIT_REDIS_PASSWORD": "r-" + CANARY,
               "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/" + CANARY,
               "PAGERDUTY_ROUTING_KEY": "pd-" + CANARY, "COCKPIT_SMTP_PASSWORD": "m-" + CANARY}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_the_shipped_example_loads_with_every_section() -> None:
    config = load_config(EXAMPLE, EXAMPLE_ENV)
    assert config.configured() == ["datadog", "kubernetes", "postgres", "redis", "http",
                                   "slack", "pagerduty", "email"]
    assert config.datadog is not None and config.datadog.api_key is not None
    assert config.datadog.api_key.reveal() == CANARY
    assert config.datadog.error_rate_query == "avg:app.error_rate{env:prod}"
    assert config.email is not None and config.email.from_addr.startswith("rollback-cockpit@")
    assert config.http is not None and config.http.version_urls["api"].endswith("/version")
    assert sorted(config.secrets()) == sorted(EXAMPLE_ENV.values())


def test_no_secret_in_repr_or_str() -> None:
    config = load_config(EXAMPLE, EXAMPLE_ENV)
    for text in (repr(config), str(config), repr(config.datadog), str(config.slack)):
        assert CANARY not in text


def test_missing_sections_are_not_configured(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[cockpit]\nnamespace = 'staging'\n"), {})
    assert config.configured() == [] and config.datadog is None
    assert config.kube_namespace == "staging"
    assert load_config(None, {}) == Config()


def test_defaults_of_a_bare_section(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[kubernetes]\n[http]\n"), {})
    assert config.kubernetes is not None
    assert config.kubernetes.deployments == ("frontend", "api", "workers")
    assert config.http is not None and config.http.path_template == "/v1/{endpoint}/health"
    assert config.http.endpoints == ("auth", "health", "users", "students", "medications")


def test_missing_secret_env_names_key_and_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "[datadog]\nsite = 'datadoghq.eu'\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {"DD_APP_KEY": "x"})
    assert str(caught.value) == (
        "config.toml: [datadog].api_key_env: environment variable DD_API_KEY is not set")


def test_unknown_key_gives_the_line(tmp_path: Path) -> None:
    text = "[cockpit]\nnamespace = 'p'\n\n[redis]\nhost = 'x'\n# comment\nintervall_s = 3\n"
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), {})
    assert str(caught.value) == "config.toml:7: unknown key 'intervall_s' in [redis]"


def test_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "[redis]\nport = \"abc\"\n"), {})
    assert str(caught.value) == 'config.toml:2: [redis].port: expected an integer, got "abc"'


@pytest.mark.parametrize("line", ['api_key = "abc"', 'password = "hunter2"',
                                  'webhook_url = "https://hooks.slack.com/x"'])
def test_literal_secrets_are_refused(tmp_path: Path, line: str) -> None:
    section = {"api": "datadog", "pas": "postgres", "web": "slack"}[line[:3]]
    with pytest.raises(ConfigError, match=r"secrets may not be written in the file") as caught:
        load_config(write(tmp_path, f"[{section}]\n{line}\n"), {})
    assert str(caught.value).startswith("config.toml:2: ")
    assert line.split('"')[1] not in str(caught.value)


def test_toml_syntax_error_has_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^config.toml:3: TOML syntax error"):
        load_config(write(tmp_path, "[redis]\nport = 1\nhost = \n"), {})


def test_unknown_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^config.toml:2: unknown section \[mysql\]"):
        load_config(write(tmp_path, "\n[mysql]\n"), {})


def test_secret_from_file_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "hook").write_text("https://hooks.slack.com/services/" + CANARY + "\n")
    config = load_config(write(tmp_path, "[slack]\nwebhook_url_file = 'hook'\n"), {})
    assert config.slack is not None and config.slack.webhook_url is not None
    assert config.slack.webhook_url.reveal().endswith(CANARY)
    with pytest.raises(ConfigError, match=r"\[slack\].webhook_url_file: cannot read"):
        load_config(write(tmp_path, "[slack]\nwebhook_url_file = 'nope'\n"), {})


def test_optional_password_env_named_but_unset_is_an_error(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "[postgres]\n"), {}).postgres.password is None  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match=r"\[postgres\].password_env: environment variable PGPW"):
        load_config(write(tmp_path, "[postgres]\npassword_env = 'PGPW'\n"), {})


def test_environment_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, "[cockpit]\nread_only = false\noperator = 'bob'\n")
    config = load_config(None, {"COCKPIT_CONFIG_FILE": str(path), "COCKPIT_READ_ONLY": "1",
                                "COCKPIT_OPERATOR": "alice"})
    # the file's operator wins: $COCKPIT_OPERATOR names who is at the keyboard only when
    # the config does not (cockpit.incident_actor)
    assert config.cockpit.read_only is True and config.cockpit.operator == "bob"
    with pytest.raises(ConfigError, match="COCKPIT_READ_ONLY"):
        load_config(path, {"COCKPIT_READ_ONLY": "maybe"})


def test_invalid_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[postgres\].sslmode: must be one of"):
        load_config(write(tmp_path, "[postgres]\nsslmode = 'sometimes'\n"), {})
    with pytest.raises(ConfigError, match=r"^config.toml:2: \[redis\].timeout_s: must be greater"):
        load_config(write(tmp_path, "[redis]\ntimeout_s = 0\n"), {})


def test_simulated_war_room_never_imports_the_client_libraries() -> None:
    code = (
        "import sys\n"
        "from cockpit.config import load_config\n"
        "from cockpit.connectors import build_sources\n"
        "import cockpit.notify\n"
        "assert build_sources(load_config(None, {})) == []\n"
        "heavy = [m for m in ('datadog_api_client', 'kubernetes', 'psycopg', 'redis', 'httpx')\n"
        "         if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_configuring_redis_imports_only_redis(tmp_path: Path) -> None:
    path = write(tmp_path, "[redis]\nhost = '127.0.0.1'\n")
    code = (
        "import sys\n"
        "from cockpit.config import load_config\n"
        "from cockpit.connectors import build_sources\n"
        f"sources = build_sources(load_config({str(path)!r}, {{}}))\n"
        "print([s.label for s in sources], 'redis' in sys.modules, 'kubernetes' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "['redis'] True False"


def test_version_urls_are_read_and_checked(tmp_path: Path) -> None:
    text = ("[http]\nbase_url = 'https://api.example.org'\n\n[http.version_urls]\n"
            "api = 'https://api.example.org/version'\napp = 'ftp://app.example.org/v'\n")
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), {})
    assert str(caught.value) == ('config.toml:6: [http].version_urls.app: expected an http(s) '
                                 'URL, got "ftp://app.example.org/v"')
    config = load_config(write(tmp_path, text.replace("ftp://", "https://")), {})
    assert config.http is not None
    assert dict(config.http.version_urls) == {"api": "https://api.example.org/version",
                                              "app": "https://app.example.org/v"}


def test_runbook_variables_come_from_the_config(tmp_path: Path) -> None:
    text = ("[cockpit]\nenvironment = 'staging'\n\n[kubernetes]\nnamespace = 'stg'\n\n"
            "[postgres]\nhost = 'stg-db'\ndbname = 'whitecross_stg'\n\n"
            "[http]\nbase_url = 'https://api.stg.example/'\n")
    config = load_config(write(tmp_path, text), {})
    assert config.runbook_variables() == {
        "environment": "staging", "namespace": "stg", "database": "whitecross_stg",
        "db_host": "stg-db", "api_base": "https://api.stg.example"}


# -- [keys]: the shape here; the ids and key names against the bindings in test_keymap.py


def test_keys_are_read_by_binding_id_with_their_lines(tmp_path: Path) -> None:
    text = ('[cockpit]\noperator = "pat"\n\n[keys]\ndecision.decide = "D"\n'
            '"runbook.run" = "enter, ctrl+r"\napp.help = ["?", "f1"]\n\n'
            '[keys.incident]\nnote = "N"\n')
    entries = load_config(write(tmp_path, text), {}).keys.entries
    assert [(e.binding_id, e.keys, e.line) for e in entries] == [
        ("decision.decide", ("D",), 5), ("runbook.run", ("enter", "ctrl+r"), 6),
        ("app.help", ("?", "f1"), 7), ("incident.note", ("N",), 10)]


def test_no_keys_section_is_the_default_keys(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "[cockpit]\n"), {}).keys.entries == ()
    assert load_config(None, {}).keys.entries == ()


@pytest.mark.parametrize(("text", "message"), [
    ("[keys]\n\ndecision.decide = 4\n",
     'config.toml:3: [keys] decision.decide: expected a key like "ctrl+d" (commas for '
     "several), got 4"),
    ('[keys]\ndecision.decide = ["d", 1]\n',
     'config.toml:2: [keys] decision.decide: expected a key like "ctrl+d" (commas for '
     "several), got an array"),
    ('keys = "d"\n', 'config.toml: [keys] must be a table, got "d"'),
])
def test_a_keys_entry_of_the_wrong_shape_names_its_line(tmp_path: Path, text: str,
                                                        message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), {})
    assert str(caught.value) == message
