"""Where the cockpit keeps and finds things: XDG paths in one place.

Every location can be overridden by an environment variable so tests and
operators never depend on the developer's own home directory.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "rollback-cockpit"


def runbooks_dir() -> Path:
    """Return the folder of shipped runbooks, policy and scenarios.

    ``$COCKPIT_RUNBOOKS_DIR`` wins; an installed wheel carries the data as
    ``cockpit/_runbooks``; a source checkout has it beside the package.
    """
    override = os.environ.get("COCKPIT_RUNBOOKS_DIR")
    if override:
        return Path(override)
    here = Path(__file__).resolve().parent
    packaged = here / "_runbooks"
    if packaged.is_dir():
        return packaged
    return here.parent / "runbooks"


def scenarios_dir() -> Path:
    """Return the folder of training scenario files."""
    return runbooks_dir() / "scenarios"


def state_dir() -> Path:
    """Return the folder holding incident journals (``$COCKPIT_STATE_DIR`` or XDG state home)."""
    override = os.environ.get("COCKPIT_STATE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_state_path

    return user_state_path(APP_NAME)


def config_file() -> Path | None:
    """Return the config file to read: ``$COCKPIT_CONFIG_FILE``, else the XDG one if it exists."""
    override = os.environ.get("COCKPIT_CONFIG_FILE")
    if override:
        return Path(override)
    from platformdirs import user_config_path

    candidate = user_config_path(APP_NAME) / "config.toml"
    return candidate if candidate.is_file() else None


# ------------------------------------------------------------------ private files and folders
#
# Everything the cockpit creates is the operator's alone: folders 0700, files 0600, whatever
# the umask. A file that replaces another (an export, a backup) is written under a temporary
# name in the same folder, fsynced and renamed over the target, so a reader never sees half a
# file and a symlink planted at the target is replaced, never followed.

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


class UnsafePathError(OSError):
    """A path the cockpit refuses to write: ``str()`` is the one-line reason."""


def make_private_dir(path: str | Path, *, tighten: bool = True) -> Path:
    """Create ``path`` (and missing parents) owner-only (0700).

    An existing folder is tightened to 0700 too when ``tighten`` (the cockpit's own folders:
    an incident's, the incidents root); a folder the operator named and the cockpit did not
    create is left as it is with ``tighten=False``. Refuses a symlink where the folder should
    be (:class:`UnsafePathError`).
    """
    folder = Path(path)
    if folder.is_symlink():
        raise UnsafePathError(f"{folder} is a symbolic link: refusing to use it as a folder")
    missing = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    folder.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    for created in missing:  # parents made here are the cockpit's: owner-only as well
        os.chmod(created, PRIVATE_DIR_MODE)
    if tighten and folder.stat().st_uid == os.getuid():
        os.chmod(folder, PRIVATE_DIR_MODE)
    return folder


def open_private_append(path: str | Path) -> int:
    """An fd appending to ``path`` (created 0600 if missing), never through a symlink."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, PRIVATE_FILE_MODE)
    except OSError as exc:
        if Path(path).is_symlink():
            raise UnsafePathError(f"{path} is a symbolic link: refusing to write through it") \
                from None
        raise exc
    os.fchmod(fd, PRIVATE_FILE_MODE)
    return fd


def fsync_dir(path: str | Path) -> None:
    """fsync a folder so a rename or a new name in it survives a crash (best effort)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_name(target: str | Path, tag: str = "partial") -> Path:
    """The temporary name of ``target`` while it is written: hidden, beside it, with our PID
    (``.name.partial-1234``) so a leftover says which process left it."""
    target = Path(target)
    return target.with_name(f".{target.name}.{tag}-{os.getpid()}")


def write_private(target: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``target`` atomically and owner-only (0600).

    A temporary file beside it (``O_EXCL | O_NOFOLLOW``), fsynced, renamed over ``target``,
    the folder fsynced. An existing file is replaced (its old mode is not kept); a symlink at
    ``target`` is replaced by the file, and what it pointed to is never touched.
    """
    target = Path(target)
    if target.is_dir() and not target.is_symlink():
        raise UnsafePathError(f"{target} is a folder")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    partial = temp_name(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(partial, flags, PRIVATE_FILE_MODE)
    try:
        try:
            os.fchmod(fd, PRIVATE_FILE_MODE)
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return target


def confine(path: str | Path, root: str | Path) -> Path:
    """``path`` (relative paths are taken from ``root``) if it stays inside ``root``.

    The check is on the path as written *and* as the file system resolves it, so neither
    ``..`` nor a symlinked folder leads out; :class:`UnsafePathError` otherwise.
    """
    base = Path(os.path.abspath(root))
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = base / candidate
    lexical = Path(os.path.normpath(candidate))
    if ".." in Path(path).parts or not lexical.is_relative_to(base):
        raise UnsafePathError(f"{path} is outside {base}: '..' and other folders are refused")
    if not Path(os.path.realpath(lexical)).is_relative_to(os.path.realpath(base)):
        raise UnsafePathError(f"{path} leads outside {base} through a symbolic link")
    return lexical
