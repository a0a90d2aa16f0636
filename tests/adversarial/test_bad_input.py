"""Issue #12 item 9: bad input is bounded, reported on its real line, never a traceback.

Every data file the cockpit reads (runbooks, scenarios, the policy, the config, samples)
must be a regular file under a size limit: a FIFO is refused without waiting for a
writer, ``/dev/zero`` without reading it. ``cockpit evaluate`` streams its input a bounded
line at a time. Every refusal is one line naming the file (and the line, where there is
one), with exit status 2 (1 for ``runbooks check``, which reports findings), and no
traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cockpit.commands.evaluate import evaluate
from cockpit.config import ConfigError, load_config
from cockpit.decision.policy import PolicyError, load_policy
from cockpit.runbook.loader import check_paths
from cockpit.sim.scenario import load_scenario
from cockpit.yamlfile import DataFileError, load_file, load_text

ROOT = Path(__file__).resolve().parents[2]
CANARY = "canary-7f3a9c1e5b2d4f60a8e1c3b5d7f9a2c4"


def cockpit(*args: str, env: dict[str, str] | None = None,
            timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess (a FIFO that hangs it fails the test by timing out)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "cockpit", *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env, cwd=ROOT, check=False)


def one_line_error(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) >= 1
    return lines[0]


class Hung(Exception):
    """A read that waited for a FIFO's writer: the bug these tests exist for."""


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A FIFO with no writer; an in-process read of it that blocks fails after 10 s."""
    path = tmp_path / "runbook.yaml"
    os.mkfifo(path)

    def hung(signum: int, frame: object) -> None:
        raise Hung(f"blocked on the FIFO {path}")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    try:
        yield path
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ----------------------------------------------------------- not a regular file


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "/dev/null", "folder"])
@pytest.mark.parametrize("reader", [load_file, load_scenario], ids=["yaml", "scenario"])
def test_data_files_must_be_regular(special: str, reader: Callable[[Path], object],
                                    fifo: Path, tmp_path: Path) -> None:
    path = {"fifo": fifo, "folder": tmp_path}.get(special, Path(special))
    with pytest.raises(DataFileError, match="not a regular file"):
        reader(path)


def test_runbooks_check_does_not_hang_on_a_fifo(fifo: Path) -> None:
    result = cockpit("runbooks", "check", str(fifo), timeout=15)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{fifo}:1: not a regular file (a FIFO)" in result.stdout


def test_runbooks_check_refuses_dev_zero_without_memory_error() -> None:
    result = cockpit("runbooks", "check", "/dev/zero", timeout=15)
    assert result.returncode == 1 and "MemoryError" not in result.stderr
    assert "/dev/zero:1: not a regular file (a device)" in result.stdout


def test_a_fifo_in_a_runbook_folder_is_refused_not_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "stuck.yaml")
    errors = check_paths([tmp_path])
    assert errors == [f"{tmp_path / 'stuck.yaml'}:1: not a regular file (a FIFO); only "
                      "regular files are read"]


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_policy_and_config_must_be_regular(special: str, fifo: Path) -> None:
    path = fifo if special == "fifo" else Path(special)
    with pytest.raises(PolicyError, match="not a regular file"):
        load_policy(path)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(path, {})


def test_oversized_files_are_refused_by_size(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("id: x\n# " + "x" * (5 * 1024 * 1024) + "\n")
    with pytest.raises(DataFileError, match="too large: 5,242,"):
        load_file(big)
    toml = tmp_path / "big.toml"
    toml.write_text("# " + "x" * (2 * 1024 * 1024) + "\n")
    with pytest.raises(ConfigError, match="too large"):
        load_config(toml, {})


# ----------------------------------------------------------- the real line


@pytest.mark.parametrize(("data", "line", "message"), [
    (b"id: x\ntitle: y\nsummary: \"a\x00b\"\n", 3, "NUL byte"),
    (b"id: x\n\n\n\x00\n", 4, "NUL byte"),
    (b"id: x\ntitle: caf\xe9\n", 2, "not UTF-8 text (byte 0xe9)"),
    (b"id: x\ntitle: y\nsummary: \xff\xfe\n", 3, "not UTF-8"),
    (b"id: x\ntitle: y\nsummary: a\x1b]52;c;aGk=\x07\n", 3, "control characters"),
    (b"id: x\ntitle: y\n\nsummary: a\x1b[2J\n", 4, "#x001b"),
    (b"id: x\ntitle: y\nsummary: a\x7f\n", 3, "control characters"),
    (b"id: x\ntitle: y\nsummary: a\xc2\x9b31m\n", 3, "control characters"),  # C1 CSI
])
def test_errors_carry_the_real_line(tmp_path: Path, data: bytes, line: int,
                                    message: str) -> None:
    path = tmp_path / "rb.yaml"
    path.write_bytes(data)
    with pytest.raises(DataFileError) as caught:
        load_file(path)
    assert caught.value.line == line
    assert message in caught.value.message
    assert "\n" not in str(caught.value) and "\x1b" not in str(caught.value)


@pytest.mark.parametrize(("text", "line"), [
    ("a: &x 1\nb: *x\n", 2),
    ("a: &x [1]\nc: 2\nb: [*x, *x]\n", 3),
    ("a: &x {k: 1}\nb:\n  <<: *x\n", 3),
    # a billion laughs: nine levels of nine aliases
    ("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n"
        for i in range(8)), 2),
])
def test_aliases_cannot_expand_a_small_file(text: str, line: int) -> None:
    with pytest.raises(DataFileError) as caught:
        load_text(text, "x.yaml")
    assert caught.value.line == line
    assert "aliases (*name)" in caught.value.message or "merge keys" in caught.value.message


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(DataFileError, match="x.yaml:1: "):
        load_text("a: " + "[" * 20000 + "]" * 20000 + "\n", "x.yaml")


# ----------------------------------------------------------- the config


def write_config(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "config.toml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_non_utf8_config_is_one_line_with_its_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, b"[cockpit]\nenvironment = \"caf\xe9\"\n")
    with pytest.raises(ConfigError, match=r"config.toml:2: not UTF-8 text \(byte 0xe9\)"):
        load_config(path, {})
    error = one_line_error(cockpit("run", "--config", str(path)))
    assert "config.toml:2: not UTF-8" in error


@pytest.mark.parametrize("pasted", [
    CANARY,                                  # a token
    "hunter2!",                              # a password with punctuation
    "https://hooks.slack.com/services/T0/B0/" + CANARY[-12:],  # a webhook URL
    "a1b2c3d4e5f60718293a4b5c6d7e8f90",      # a Datadog-style hex key: a valid name
    "Zr0ng_pa55word",                        # mixed case, looks like a name
])
def test_a_secret_pasted_into_an_env_key_is_never_echoed(tmp_path: Path, pasted: str) -> None:
    path = write_config(tmp_path, f'[redis]\npassword_env = "{pasted}"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert pasted not in str(caught.value)
    assert "[redis].password_env" in str(caught.value)
    result = cockpit("run", "--config", str(path))
    assert pasted not in result.stderr + result.stdout
    one_line_error(result)


def test_an_unset_conventional_env_name_is_still_named(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[redis]\npassword_env = "REDIS_PASSWORD"\n')
    with pytest.raises(ConfigError, match="environment variable REDIS_PASSWORD is not set"):
        load_config(path, {})


@pytest.mark.parametrize("secret", ["a", "ab", "abc"])
def test_a_short_secret_is_a_config_error_not_a_crash(tmp_path: Path, secret: str) -> None:
    path = write_config(tmp_path, '[redis]\npassword_env = "COCKPIT_TEST_SHORT"\n')
    with pytest.raises(ConfigError, match="shorter than 4 characters"):
        load_config(path, {"COCKPIT_TEST_SHORT": secret})
    error = one_line_error(cockpit("run", "--config", str(path),
                                   env={"COCKPIT_TEST_SHORT": secret}))
    assert "shorter than 4 characters" in error
    (tmp_path / "pw").write_text(secret + "\n")
    path = write_config(tmp_path, "[redis]\npassword_file = 'pw'\n")
    with pytest.raises(ConfigError, match="shorter than 4 characters"):
        load_config(path, {})


def test_a_secret_file_must_be_regular(tmp_path: Path, fifo: Path) -> None:
    path = write_config(tmp_path, f"[redis]\npassword_file = '{fifo}'\n")
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(path, {})


# ----------------------------------------------------------- cockpit evaluate

GOOD = '{"t": "2025-01-21T14:30:00Z", "metric": "error_rate_pct", "value": 1}\n'


def run_evaluate(tmp_path: Path, body: str | bytes) -> tuple[int, str, str]:
    path = tmp_path / "samples.jsonl"
    path.write_bytes(body.encode() if isinstance(body, str) else body)
    result = CliRunner().invoke(evaluate, ["--samples", str(path)])
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def sample(**fields: object) -> str:
    record: dict[str, object] = {"t": "2025-01-21T14:31:00Z", "metric": "error_rate_pct",
                                 "value": 2}
    record.update(fields)
    return json.dumps(record) + "\n"


@pytest.mark.parametrize(("line", "message"), [
    ('{"t": "2025-01-21T14:31:00Z", "metric": "error_rate_pct", "value": ' + "9" * 4000 + "}\n",
     "out of range"),
    ('{"t": "2025-01-21T14:31:00Z", "metric": "error_rate_pct", "value": -' + "9" * 400 + "}\n",
     "out of range"),
    (sample(value=1e300), "out of range"),
    ('{"t": "2025-01-21T14:31:00Z", "metric": "error_rate_pct", "value": ' + "9" * 5000 + "}\n",
     "line longer than 4,096 bytes"),
    ("[" * 1500 + "]" * 1500 + "\n", "nested too deeply"),
    ('{"t": ' + "[" * 1900 + "]" * 1900 + "}\n", "nested too deeply"),
    (sample(t="9999-12-31T23:59:59-10:00"), "out of range"),
    (sample(t="0001-01-01T00:00:00+10:00"), "out of range"),
    (sample(t="1969-12-31T23:59:59Z"), "out of range"),
    (sample(t="9999-12-31T23:59:59.999999+00:00"), "out of range"),
    (sample(value=float("nan")), "malformed JSON"),
    (sample(metric="x\u001b]52;c;aGk=\u0007"), "unknown metric"),
    (b"\xff\xfe\n", "not UTF-8"),
], ids=["4000-digits", "negative-400-digits", "1e300", "5000-digits", "deep-array",
        "deep-in-object", "year-9999-west", "year-1-east", "before-1970", "end-of-9999", "nan",
        "osc52-metric", "not-utf8"])
def test_evaluate_bad_lines_are_file_line_errors(tmp_path: Path, line: str | bytes,
                                                  message: str) -> None:
    body = GOOD.encode() * 2 + (line.encode() if isinstance(line, str) else line)
    code, out, err = run_evaluate(tmp_path, body)
    assert code == 2 and out == ""
    assert err.startswith(f"{tmp_path / 'samples.jsonl'}:3: ")
    assert message in err
    assert err.count("\n") == 1 and "\x1b" not in err and "\x07" not in err
    assert len(err) < 400


@pytest.mark.parametrize("field", ["metric", "t", "value"])
def test_evaluate_never_echoes_a_huge_value(tmp_path: Path, field: str) -> None:
    huge = "A" * 3000
    code, out, err = run_evaluate(tmp_path, GOOD + sample(**{field: huge}))
    assert code == 2 and out == ""
    assert err.startswith(f"{tmp_path / 'samples.jsonl'}:2: ")
    assert "A" * 100 not in err and len(err) < 400


def test_evaluate_refuses_a_long_line_after_reading_only_its_start(tmp_path: Path) -> None:
    # 64 MB on one line: refused at the limit, without holding the line (bounded memory)
    path = tmp_path / "samples.jsonl"
    with path.open("wb") as handle:
        handle.write(GOOD.encode())
        handle.write(b'{"t": "2025-01-21T14:31:00Z", "metric": "')
        chunk = b"x" * (1024 * 1024)
        for _ in range(64):
            handle.write(chunk)
        handle.write(b'", "value": 1}\n')
    probe = ("import resource, sys; from cockpit.cli import main\n"
             "try:\n    main(['evaluate', '--samples', sys.argv[1]])\n"
             "except SystemExit as e:\n"
             "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, e.code,"
             " file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True,
                            text=True, timeout=60, cwd=ROOT, check=False)
    first, last = result.stderr.strip().splitlines()[0], result.stderr.strip().splitlines()[-1]
    assert first == f"{path}:2: line longer than 4,096 bytes"
    max_rss_kb, code = (int(v) for v in last.split())
    assert code == 2 and result.stdout == ""
    assert max_rss_kb < 64 * 1024 + 100 * 1024  # well under the line's 64 MB on top of Python


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "/dev/urandom"])
def test_evaluate_refuses_what_is_not_a_regular_file(special: str, fifo: Path) -> None:
    path = str(fifo) if special == "fifo" else special
    result = cockpit("evaluate", "--samples", path, timeout=15)
    assert one_line_error(result).endswith("only regular files are read")
    assert result.stdout == ""


def test_evaluate_still_evaluates_a_good_file(tmp_path: Path) -> None:
    code, out, err = run_evaluate(tmp_path, GOOD + "\n" + sample())
    assert code == 0 and err == ""
    assert json.loads(out.splitlines()[-1])["summary"]["recommendation"] == "no_action"


# ----------------------------------------------------------- train --headless, disk full

ENOSPC_PROBE = """
import errno, os, sys
real = os.write
def full(fd, data):
    if fd > 2:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return real(fd, data)
os.write = full
from cockpit.cli import main
main(sys.argv[1:])
"""


def test_train_headless_on_a_full_disk_is_one_line(tmp_path: Path) -> None:
    # no root-free way to fill a real disk here: os.write fails with ENOSPC for every
    # file the process writes (the journal's writes go through os.write)
    result = subprocess.run(
        [sys.executable, "-c", ENOSPC_PROBE, "train", "--headless", "--quiet"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
        env={**os.environ, "COCKPIT_STATE_DIR": str(tmp_path / "state")})
    error = one_line_error(result)
    assert error.startswith("cockpit: cannot record the training incident: ")
    assert "No space left on device" in error


def test_evaluate_holds_a_bounded_number_of_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    from cockpit.decision import load_policy
    from cockpit.decision.headless import SampleError, parse_samples

    monkeypatch.setattr("cockpit.decision.headless.MAX_SAMPLES", 3)
    line = '{"t": "2025-01-21T14:25:00Z", "metric": "error_rate_pct", "value": 1}'
    with pytest.raises(SampleError, match=r"^samples.jsonl:4: more than 3 samples"):
        parse_samples([line] * 5, load_policy(), "samples.jsonl")
