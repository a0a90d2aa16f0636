"""Signed checkpoints: the journal's head (event count + hash) signed with an SSH key.

The hash chain shows a line altered, removed or reordered *inside* a journal, but not
lines cut off its end, nor a journal emptied. So the cockpit signs its head at every
status update, decision, export and close (``ssh-keygen -Y sign`` in the namespace
:data:`NAMESPACE`) and appends the signature to ``checkpoints.jsonl`` beside the journal
(owner-only). ``cockpit timeline verify`` then knows how long the journal was and what
its head was when each checkpoint was signed: a journal shorter than its last checkpoint
was truncated; one whose event at a checkpoint's count has another hash was rewritten.

Signing runs ``ssh-keygen`` (an argv list, with a timeout) in a background thread: a
checkpoint never stalls the caller (the war room's event loop). The key is the one the
caller passes (``[cockpit] signing_key``), or a per-host key the cockpit creates once
under its state folder (:func:`host_key`, ed25519, no passphrase, mode 0600).

A checkpoint line::

    {"n": 3, "count": 42, "head": "<64 hex>", "incident": "INC-...", "t": "...",
     "key": "ssh-ed25519 AAAA...", "sig": "-----BEGIN SSH SIGNATURE-----\\n..."}

The signed message is :func:`message` of the incident, count and head.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NAMESPACE = "rollback-cockpit-journal@cockpit"
CHECKPOINTS_NAME = "checkpoints.jsonl"
KEY_DIR = "keys"
KEY_NAME = "journal_ed25519"
SSH_TIMEOUT_S = 10.0
_FORMAT = "rollback-cockpit-journal/1"


class CheckpointError(Exception):
    """A checkpoint could not be signed or checked (no ssh-keygen, bad key, timeout)."""


def message(incident_id: str, count: int, head: str) -> bytes:
    """The bytes a checkpoint signs: format, incident, ``COUNT:HASH``."""
    return f"{_FORMAT} {incident_id} {count}:{head}\n".encode()


def head_ref(count: int, head: str) -> str:
    """The head as messages quote it: ``COUNT:HASH12`` (``cockpit timeline verify --head``)."""
    return f"{count}:{head[:12]}"


def parse_head_ref(text: str) -> tuple[int, str]:
    """Parse ``COUNT:HASH`` (HASH: at least 8 hex characters); ``ValueError`` if malformed."""
    count_text, sep, digest = text.strip().partition(":")
    digest = digest.strip().lower()
    if (not sep or not count_text.strip().isdigit() or len(digest) < 8 or len(digest) > 64
            or any(c not in "0123456789abcdef" for c in digest)):
        raise ValueError(f"not a journal head COUNT:HASH: {text!r}")
    return int(count_text), digest


def _ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        raise CheckpointError("ssh-keygen not found (install openssh-client)")
    return found


def _run(argv: list[str], data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ssh-keygen detached from the terminal: a key with a passphrase fails at once
    instead of prompting on the war room's screen (no controlling tty, no askpass)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SSH_ASKPASS")}
    env["SSH_ASKPASS_REQUIRE"] = "never"
    try:
        return subprocess.run(  # noqa: S603 - argv list of ssh-keygen, never a shell
            argv, input=data if data is not None else b"", capture_output=True,
            timeout=SSH_TIMEOUT_S, check=False, start_new_session=True, env=env)
    except subprocess.TimeoutExpired:
        raise CheckpointError(f"{Path(argv[0]).name} timed out after {SSH_TIMEOUT_S:g} s") from None
    except OSError as exc:
        raise CheckpointError(f"{argv[0]}: {exc.strerror or exc}") from None


def _first_line(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").replace("Enter passphrase:", "").strip()
    line = text.splitlines()[0] if text else "no output"
    return "".join(c for c in line if c.isprintable())[:200]


def host_key(state_dir: Path) -> Path:
    """Return this host's signing key under ``state_dir/keys`` (created once: ed25519, 0600)."""
    folder = Path(state_dir) / KEY_DIR
    key = folder / KEY_NAME
    if key.is_file() and key.with_suffix(".pub").is_file():
        return key
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    work = Path(tempfile.mkdtemp(prefix=".keygen-", dir=folder))
    try:
        made = work / KEY_NAME
        result = _run([_ssh_keygen(), "-q", "-t", "ed25519", "-N", "", "-C",
                       "rollback-cockpit journal checkpoints", "-f", str(made)])
        if result.returncode != 0:
            raise CheckpointError(f"ssh-keygen could not create a key: "
                                  f"{_first_line(result.stderr)}")
        os.chmod(made, 0o600)
        os.chmod(made.with_suffix(".pub"), 0o600)
        # the public half first: a key file present means its .pub is too
        try:
            os.link(made.with_suffix(".pub"), key.with_suffix(".pub"))
            os.link(made, key)
        except FileExistsError:
            pass  # another process created it meanwhile: use theirs
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not key.is_file():
        raise CheckpointError(f"{key}: the signing key could not be created")
    return key


class Signer:
    """Signs checkpoint messages with one SSH private key (``ssh-keygen -Y sign``)."""

    def __init__(self, key: Path) -> None:
        self.key = Path(key)

    def public_key(self) -> str:
        """The public key (``ssh-ed25519 AAAA...``), read from ``KEY.pub``."""
        try:
            parts = self.key.with_suffix(".pub").read_text(encoding="utf-8").split()
        except OSError as exc:
            raise CheckpointError(f"{self.key}.pub: {exc.strerror or exc}") from None
        return " ".join(parts[:2])

    def sign(self, data: bytes) -> str:
        """Return the armored SSH signature of ``data``."""
        result = _run([_ssh_keygen(), "-Y", "sign", "-f", str(self.key), "-n", NAMESPACE],
                      data)
        signature = result.stdout.decode("ascii", "replace")
        if result.returncode != 0 or "BEGIN SSH SIGNATURE" not in signature:
            raise CheckpointError(f"ssh-keygen could not sign with {self.key} (it needs a key "
                                  "without a passphrase, or one in ssh-agent): "
                                  f"{_first_line(result.stderr)}")
        return signature


@dataclass(frozen=True)
class Checkpoint:
    """One signed checkpoint as stored."""

    n: int
    count: int
    head: str
    incident: str
    t: str
    key: str
    sig: str

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint as ``checkpoints.jsonl`` stores it."""
        return {"n": self.n, "count": self.count, "head": self.head,
                "incident": self.incident, "t": self.t, "key": self.key, "sig": self.sig}


@dataclass(frozen=True)
class CheckpointFile:
    """What :func:`read_checkpoints` found: the checkpoints and any unreadable lines."""

    checkpoints: tuple[Checkpoint, ...]
    bad_lines: tuple[int, ...]
    torn: bool


def read_checkpoints(folder: Path) -> CheckpointFile:
    """Read ``folder/checkpoints.jsonl`` (none when missing); a torn last line is noted."""
    path = Path(folder) / CHECKPOINTS_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return CheckpointFile((), (), False)
    chunks = raw.split(b"\n")
    tail = chunks.pop()
    out: list[Checkpoint] = []
    bad: list[int] = []
    for index, chunk in enumerate(chunks, start=1):
        try:
            record = json.loads(chunk.decode("utf-8"))
            out.append(Checkpoint(
                n=int(record["n"]), count=int(record["count"]), head=str(record["head"]),
                incident=str(record["incident"]), t=str(record["t"]), key=str(record["key"]),
                sig=str(record["sig"])))
        except (ValueError, KeyError, TypeError, AttributeError):
            bad.append(index)
    return CheckpointFile(tuple(out), tuple(bad), bool(tail))


def check_signature(checkpoint: Checkpoint, allowed_signers: Path | None = None) -> str | None:
    """Check one checkpoint's signature; return what is wrong, or ``None`` when good.

    With ``allowed_signers`` (an ssh ``allowed_signers`` file) the signer must be listed
    there; without it the signature need only be valid for the key it names."""
    data = message(checkpoint.incident, checkpoint.count, checkpoint.head)
    tool = _ssh_keygen()
    with tempfile.TemporaryDirectory(prefix="cockpit-verify-") as work:
        sig = Path(work) / "checkpoint.sig"
        sig.write_text(checkpoint.sig, encoding="ascii", errors="replace")
        if allowed_signers is None:
            result = _run([tool, "-Y", "check-novalidate", "-n", NAMESPACE, "-s", str(sig)],
                          data)
            if result.returncode != 0:
                return "bad signature (the checkpoint was altered or not signed by the cockpit)"
            return None
        found = _run([tool, "-Y", "find-principals", "-s", str(sig),
                      "-f", str(allowed_signers)])
        principal = found.stdout.decode("utf-8", "replace").strip().splitlines()
        if found.returncode != 0 or not principal:
            return f"signed by a key not in {Path(allowed_signers).name}"
        result = _run([tool, "-Y", "verify", "-f", str(allowed_signers), "-I", principal[0],
                       "-n", NAMESPACE, "-s", str(sig)], data)
        if result.returncode != 0:
            return "bad signature (the checkpoint was altered)"
    return None


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Checkpointer:
    """Signs a journal's head in a background thread and appends it to ``checkpoints.jsonl``.

    :meth:`request` returns at once; the worker signs the latest head asked for (heads
    asked for while it was signing collapse into the newest one) and appends the
    checkpoint when done. A failure is kept in :attr:`error` and passed to ``on_error``;
    the journal itself is unaffected."""

    def __init__(self, folder: Path, incident_id: str, signer: Signer | Callable[[], Signer],
                 *, on_error: Callable[[str], None] | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / CHECKPOINTS_NAME
        self.incident_id = incident_id
        self._signer = signer
        self._on_error = on_error
        self._cond = threading.Condition()
        self._pending: tuple[int, str] | None = None
        self._busy = False
        self._signed: tuple[int, str] | None = None
        self._thread: threading.Thread | None = None
        self._n = len(read_checkpoints(self.folder).checkpoints)
        self.error = ""

    def request(self, count: int, head: str) -> None:
        """Ask for ``count``/``head`` to be signed (non-blocking)."""
        if count <= 0:
            return
        with self._cond:
            if self._signed == (count, head) or self._pending == (count, head):
                return
            self._pending = (count, head)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, daemon=True,
                                                name=f"checkpoint-{self.incident_id}")
                self._thread.start()
            self._cond.notify_all()

    def wait(self, timeout: float = SSH_TIMEOUT_S) -> bool:
        """Wait until every requested head is signed (or failed); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy,
                                       timeout)

    def _signer_now(self) -> Signer:
        if isinstance(self._signer, Signer):
            return self._signer
        self._signer = self._signer()
        return self._signer

    def _work(self) -> None:
        while True:
            with self._cond:
                if self._pending is None:
                    self._cond.notify_all()
                    return
                count, head = self._pending
                self._pending = None
                self._busy = True
            try:
                self._sign_one(count, head)
            except (CheckpointError, OSError) as exc:
                self.error = str(exc)
                if self._on_error is not None:
                    self._on_error(self.error)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _sign_one(self, count: int, head: str) -> None:
        signer = self._signer_now()
        signature = signer.sign(message(self.incident_id, count, head))
        checkpoint = Checkpoint(self._n + 1, count, head, self.incident_id, _now_text(),
                                signer.public_key(), signature)
        line = (json.dumps(checkpoint.to_dict(), sort_keys=True) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        self._n = checkpoint.n
        with self._cond:
            self._signed = (count, head)
