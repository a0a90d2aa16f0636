"""``pg.*`` actions: psycopg sessions and ``pg_dump``/``pg_restore``.

Verification files run in a read-only session and may return counts only;
``pg_dump`` gets its password through a private 0600 passfile (never argv nor
``PGPASSWORD``), writes under a temporary name, is fsynced and renamed, and
the archive is read back with ``pg_restore --list`` before the step succeeds.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cockpit.actions.executor import ActionResult, RunContext
from cockpit.actions.types import ResolvedAction, terminate_sql
from cockpit.connectors.actions.base import Call, Fail, Setup
from cockpit.connectors.actions.shell import ProcessRunner
from cockpit.connectors.readonly import ReadOnlyError, SqlRefused, check_read_only_sql
from cockpit.yamlfile import DataFileError, read_data_text

#: pg_dump waits at most this long for a table lock, then fails rather than queues.
LOCK_WAIT_TIMEOUT = "30s"
_INT_OIDS = frozenset({20, 21, 23, 26, 1700})  # int8, int2, int4, oid, numeric
_TEXT_OIDS = frozenset({25, 1043, 19, 1042})  # text, varchar, name, bpchar


#: A step's private folder for its passfile: ``cockpit-pg-<pid>-<random>`` in the temp
#: folder (0700), removed when the step ends; one a killed cockpit left is removed at start.
PRIVATE_PREFIX = "cockpit-pg-"
#: The incident folder's list of backups in progress (``start``/``end`` lines): what a
#: resume finds started and never ended is an interrupted backup's leftover.
BACKUPS_FILE = "backups.jsonl"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to clean after
    return True


def remove_stale_private_dirs(tmp: Path | None = None) -> list[Path]:
    """Remove the passfile folders of cockpits that were killed mid-step (ours only, their
    process gone); returns what was removed."""
    base = Path(tmp) if tmp is not None else Path(tempfile.gettempdir())
    removed: list[Path] = []
    for folder in base.glob(PRIVATE_PREFIX + "*"):
        match = re.fullmatch(re.escape(PRIVATE_PREFIX) + r"(\d+)-.+", folder.name)
        if match is None:
            continue
        try:
            info = folder.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        if _alive(int(match.group(1))):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def passfile_line(host: str, port: int, dbname: str, user: str, password: str) -> str:
    """One ``~/.pgpass`` line, with ``:`` and ``\\`` escaped as libpq expects."""
    def esc(value: str) -> str:
        return value.replace("\\", "\\\\").replace(":", "\\:")
    return ":".join(esc(v) for v in (host, str(port), dbname, user, password)) + "\n"


# ---------------------------------------------------------------- the executor


class PostgresActions:
    """The ``pg.*`` handlers: a connection per action, pg_dump through ``runner``."""

    def __init__(self, setup: Setup, runner: ProcessRunner) -> None:
        self.setup = setup
        self.config = setup.config
        self.read_only = setup.read_only
        self.runner = runner
        self.folder: Path | None = None
        """The incident's folder (set when the executor is bound): its backups list."""
        with contextlib.suppress(OSError):
            remove_stale_private_dirs()

    # ---------------------------------------------------------------- backups in progress

    def _note_backup(self, op: str, partial: Path, final: Path, **extra: object) -> None:
        """Append ``start``/``end`` for ``partial`` to the incident's backups list (0600)."""
        if self.folder is None:
            return
        from cockpit.paths import make_private_dir, open_private_append

        record = {"op": op, "partial": str(partial), "final": str(final), "pid": os.getpid(),
                  **extra}
        with contextlib.suppress(OSError):
            make_private_dir(self.folder)
            fd = open_private_append(self.folder / BACKUPS_FILE)
            try:
                os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)

    def remove_leftovers(self) -> list[dict[str, object]]:
        """Remove what interrupted backups of this incident left (a ``.NAME.partial-PID`` of a
        process that is gone); returns ``{path, size_bytes, pid}`` for each one removed."""
        if self.folder is None:
            return []
        started: dict[str, dict[str, object]] = {}
        try:
            with open(self.folder / BACKUPS_FILE, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if not isinstance(record, dict) or not isinstance(record.get("partial"), str):
                        continue
                    if record.get("op") == "start":
                        started[record["partial"]] = record
                    elif record.get("op") == "end":
                        started.pop(record["partial"], None)
        except OSError:
            return []
        removed: list[dict[str, object]] = []
        for partial_name, record in started.items():
            pid = record.get("pid")
            if not isinstance(pid, int) or _alive(pid):
                continue
            partial = Path(partial_name)
            outcome = "nothing left"
            with contextlib.suppress(OSError):
                info = partial.lstat()
                if stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
                    partial.unlink()
                    outcome = "leftover removed"
                    removed.append({"path": partial_name, "pid": pid, "size_bytes":
                                    info.st_size if stat.S_ISREG(info.st_mode) else 0})
            self._note_backup("end", partial, Path(str(record.get("final", ""))),
                              outcome=outcome)
        return removed

    def settings(self, database: str) -> Any:
        """The configured connection settings, pointed at ``database``."""
        from dataclasses import replace

        if self.config.postgres is None:
            raise Fail("PostgreSQL is not configured ([postgres] in the config)")
        return replace(self.config.postgres, dbname=database)

    @contextlib.contextmanager
    def connect(self, call: Call, database: str, *, read_only: bool) -> Iterator[Any]:
        """A connection to ``database`` with connect/statement timeouts within the step's time."""
        import psycopg

        from cockpit.connectors.postgres import connect_kwargs, describe_pg_error

        settings = self.settings(database)
        kwargs = connect_kwargs(settings, read_only=read_only or self.read_only)
        statement_ms = int(max(1.0, call.ctx.remaining()) * 1000)
        kwargs["options"] = kwargs["options"].replace(
            f"statement_timeout={int(settings.timeout_s * 1000)}",
            f"statement_timeout={statement_ms}")
        secrets = (settings.password.reveal(),) if settings.password else ()
        try:
            conn = psycopg.connect(**kwargs)
        except psycopg.Error as exc:
            raise Fail(describe_pg_error(exc, secrets)) from None
        try:
            yield conn
        except psycopg.Error as exc:
            raise Fail(describe_pg_error(exc, secrets)) from None
        except ReadOnlyError as exc:
            # the read-only session's cursor refused a statement before it was sent
            raise Fail(str(exc)) from None
        finally:
            conn.close()

    def sql_path(self, sql_file: str, ctx: RunContext) -> Path:
        """A verification file's path: absolute, or beside the runbooks, shipped or in the cwd."""
        from cockpit.paths import runbooks_dir

        path = Path(sql_file)
        if path.is_absolute():
            candidates = [path]
        else:
            bases = []
            if ctx.variables.get("runbooks_dir"):
                base = Path(ctx.variables["runbooks_dir"])
                bases += [base, base.parent]
            shipped = runbooks_dir()
            bases += [shipped.parent, shipped, Path.cwd()]
            candidates = [b / path for b in bases]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise Fail(f"{sql_file}: verification file not found")

    @staticmethod
    def is_problem(name: str, all_figures: bool) -> bool:
        """Whether a counts-only row is a problem count (0 = healthy) rather than a figure.

        A file whose header says ``one row per figure`` reports figures only;
        otherwise every row is a problem count except ``*_rows`` row counts,
        which are figures to compare with the numbers from before the incident.
        """
        return not all_figures and not name.endswith("_rows")

    def verify(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``pg.verify``: runs a counts-only file read-only; fails on any problem count."""
        p = action.params
        path = self.sql_path(p["sql_file"], call.ctx)
        try:
            sql = read_data_text(path, limit=1024 * 1024)  # a regular file, UTF-8, 1 MiB
        except DataFileError as exc:
            line = f":{exc.line}" if exc.line else ""
            raise Fail(f"{p['sql_file']}{line}: {exc.message}") from None
        try:
            # checked before connecting: a file that does not only read never leaves
            check_read_only_sql(sql)
        except SqlRefused as exc:
            raise Fail(f"{p['sql_file']}: refused SQL: {exc}; a verification file may only "
                       "read (nothing was sent)") from None
        all_figures = "one row per figure" in sql.lower()
        with self.connect(call, p["database"], read_only=True) as conn, conn.cursor() as cur:
            # the session is read-only and its cursor sends only the read-only allowlist
            cur.execute(sql)
            description = cur.description or []
            shape = [(col.name, col.type_code) for col in description]
            if len(shape) != 2 or shape[0][1] not in _TEXT_OIDS or shape[1][1] not in _INT_OIDS:
                cur.close()
                raise Fail(f"{p['sql_file']} is not counts-only: it must return "
                            "(check_name text, count integer) rows; nothing was shown")
            rows = [(str(name), int(count or 0)) for name, count in cur.fetchall()]
        # a check name must be written in the file: a name that came from a table could be
        # patient data wearing a label
        declared = set(re.findall(r"'((?:[^']|'')*)'", sql))
        strays = [name for name, _ in rows if name not in declared]
        if strays:
            raise Fail(f"{p['sql_file']} is not counts-only: {len(strays)} check name(s) are "
                        "not written in the file; nothing was shown")
        width = max(len("check_name"), *(len(name) for name, _ in rows)) if rows else 10
        lines = [f" {'check_name':<{width}} | count", f"-{'-' * width}-+------"]
        lines += [f" {name:<{width}} | {count:>5}" for name, count in rows]
        lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
        call.say("\n".join(lines))
        if all_figures:
            return call.ok(detail="figures only")
        bad = [f"{name}={count}" for name, count in rows
               if count and self.is_problem(name, all_figures)]
        if bad:
            return ActionResult(False, call.output(), (),
                                "checks found problems: " + ", ".join(bad))
        return call.ok()

    def terminate_connections(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``pg.terminate_connections``: from the maintenance database."""
        database = action.params["database"]
        # from a maintenance connection (the configured database), never the target itself
        maintenance = self.settings(database).dbname
        if self.config.postgres is not None:
            maintenance = self.config.postgres.dbname
        sql = terminate_sql(database)
        call.say(sql)
        with self.connect(call, maintenance, read_only=False) as conn:
            results = [bool(row[0]) for row in conn.execute(sql).fetchall()]
        done = sum(results)
        call.say(f"({len(results)} rows)")
        call.say(f"terminated {done} connection(s) to {database}"
                 + (f"; {len(results) - done} already gone" if done < len(results) else ""))
        return call.ok()

    def sql(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``pg.sql``: one statement; a read reports its row count only, never the rows.

        A statement of the read-only allowlist runs on a read-only session; anything else
        (a SELECT calling pg_terminate_backend included) needs a writing session, which a
        read-only cockpit never opens: it is refused before it is sent.
        """
        p = action.params
        statement = p["statement"]
        try:
            check_read_only_sql(statement)
            is_select = True
        except SqlRefused as exc:
            if self.read_only:
                raise Fail(f"read-only mode: refused SQL: {exc} (nothing was sent)") from None
            is_select = False
        with self.connect(call, p["database"], read_only=is_select) as conn:
            cur = conn.execute(statement)
            if is_select:
                # never the rows: they may hold patient data
                count = len(cur.fetchall())
                call.say(f"({count} row{'s' if count != 1 else ''})")
            else:
                call.say(cur.statusmessage or statement.split(" ", 1)[0].upper())
        return call.ok()

    def child_env(self, settings: Any, private: Path) -> dict[str, str]:
        """The environment of pg_dump/pg_restore: no inherited PG*/secret variables, the
        password (if any) in a private 0600 passfile, never in argv or PGPASSWORD."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PG") and k not in self.setup.secret_env_names()}
        env.update({"PGCONNECT_TIMEOUT": str(max(2, int(settings.timeout_s))),
                    "PGSSLMODE": settings.sslmode, "PGAPPNAME": "rollback-cockpit"})
        if self.read_only:
            env["PGOPTIONS"] = "-c default_transaction_read_only=on"
        if settings.password is not None:
            passfile = private / "pgpass"
            fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(passfile_line(settings.host, settings.port, "*", settings.user,
                                           settings.password.reveal()))
            env["PGPASSFILE"] = str(passfile)
        return env

    def backup(self, action: ResolvedAction, call: Call) -> ActionResult:
        """``pg.backup``: pg_dump to a temporary name, fsync, rename, read back."""
        from cockpit.paths import make_private_dir, temp_name

        p = action.params
        settings = self.settings(p["database"])
        final = Path(p["path"])
        if ".." in final.parts:
            raise Fail(f"{final}: '..' is refused in a backup path")
        if final.is_symlink():
            raise Fail(f"{final} is a symbolic link: refusing to write a backup through it")
        if final.exists():
            raise Fail(f"{final} already exists: refusing to overwrite a backup")
        tools = {tool: shutil.which(tool) for tool in ("pg_dump", "pg_restore")}
        for tool, found in tools.items():
            if found is None:
                raise Fail(f"{tool} is not installed (PostgreSQL client tools)")
        try:  # folders made here are owner-only; an existing one is left as it is
            make_private_dir(final.parent, tighten=False)
        except OSError as exc:
            raise Fail(f"cannot create {final.parent}: {exc.strerror or exc}") from None
        partial = temp_name(final)  # .NAME.partial-PID, beside it
        try:  # created owner-only before pg_dump writes into it: never world-readable
            os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                             0o600))
        except OSError as exc:
            raise Fail(f"cannot create {partial.name}: {exc.strerror or exc}") from None
        self._note_backup("start", partial, final)
        private = Path(tempfile.mkdtemp(prefix=f"{PRIVATE_PREFIX}{os.getpid()}-"))  # 0700
        try:
            env = self.child_env(settings, private)
            argv = [str(tools["pg_dump"]), "--host", settings.host, "--port", str(settings.port),
                    "--username", settings.user, "--dbname", settings.dbname, "--no-password",
                    "--format=custom", f"--lock-wait-timeout={LOCK_WAIT_TIMEOUT}",
                    "--file", str(partial)]
            call.say(f"pg_dump: dumping database \"{settings.dbname}\" to {final} "
                     f"(temporary {partial.name})")
            code = self.runner.stream(argv, call, env=env, label="pg_dump")
            shutil.rmtree(private, ignore_errors=True)  # the passfile: not a moment longer
            env.pop("PGPASSFILE", None)
            if code != 0:
                raise Fail(f"pg_dump failed (exit {code})" if code > 0 else
                            f"pg_dump stopped: {call.stop_reason() or 'killed'}")
            fd = os.open(partial, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                os.fchmod(fd, 0o600)
                os.fsync(fd)
            finally:
                os.close(fd)
            try:  # a hard link never replaces what appeared at the name meanwhile
                os.link(partial, final, follow_symlinks=False)
                partial.unlink()
            except FileExistsError:
                raise Fail(f"{final} appeared while dumping: refusing to overwrite it") from None
            except OSError:  # a file system without hard links: rename, checked just before
                if final.is_symlink() or final.exists():
                    raise Fail(f"{final} appeared while dumping: refusing to overwrite it") \
                        from None
                os.replace(partial, final)
            dir_fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
            listing = subprocess.run(  # noqa: S603 - argv list, no shell
                [str(tools["pg_restore"]), "--list", str(final)], capture_output=True, text=True,
                timeout=call.timeout(120.0), env=env, stdin=subprocess.DEVNULL, check=False)
            if listing.returncode != 0:
                first = (listing.stderr.strip().splitlines() or ["unreadable archive"])[0]
                raise Fail(f"pg_restore --list cannot read {final}: {first[:120]}")
            header = [line for line in listing.stdout.splitlines() if line.startswith(";")]
            entries = sum(1 for line in listing.stdout.splitlines()
                          if line.strip() and not line.startswith(";"))
            call.say(f"pg_restore --list {final}:")
            call.say("\n".join(header[:12]))
            size = final.stat().st_size
            call.say(f"{final.name}: {size / 1e6:.2f} MB, {entries} TOC entries, readable")
            return call.ok(facts=("backup_taken",))
        except subprocess.TimeoutExpired:
            raise Fail(f"pg_restore --list did not finish in time for {final}") from None
        finally:
            with contextlib.suppress(OSError):
                partial.unlink()
            shutil.rmtree(private, ignore_errors=True)
            self._note_backup("end", partial, final)

