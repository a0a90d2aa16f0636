"""``pg.*`` actions: psycopg sessions and ``pg_dump``/``pg_restore``.

Verification files run in a read-only session and may return counts only;
``pg_dump`` gets its password through a private 0600 passfile (never argv nor
``PGPASSWORD``), writes under a temporary name, is fsynced and renamed, and
the archive is read back with ``pg_restore --list`` before the step succeeds.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
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

#: pg_dump waits at most this long for a table lock, then fails rather than queues.
LOCK_WAIT_TIMEOUT = "30s"
_INT_OIDS = frozenset({20, 21, 23, 26, 1700})  # int8, int2, int4, oid, numeric
_TEXT_OIDS = frozenset({25, 1043, 19, 1042})  # text, varchar, name, bpchar


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
            sql = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise Fail(f"{p['sql_file']}: cannot read ({exc.strerror})") from None
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
        p = action.params
        settings = self.settings(p["database"])
        final = Path(p["path"])
        if final.exists():
            raise Fail(f"{final} already exists: refusing to overwrite a backup")
        tools = {tool: shutil.which(tool) for tool in ("pg_dump", "pg_restore")}
        for tool, found in tools.items():
            if found is None:
                raise Fail(f"{tool} is not installed (PostgreSQL client tools)")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Fail(f"cannot create {final.parent}: {exc.strerror}") from None
        partial = final.with_name(f".{final.name}.partial-{os.getpid()}")
        private = Path(tempfile.mkdtemp(prefix="cockpit-pg-"))  # 0700
        try:
            env = self.child_env(settings, private)
            argv = [str(tools["pg_dump"]), "--host", settings.host, "--port", str(settings.port),
                    "--username", settings.user, "--dbname", settings.dbname, "--no-password",
                    "--format=custom", f"--lock-wait-timeout={LOCK_WAIT_TIMEOUT}",
                    "--file", str(partial)]
            call.say(f"pg_dump: dumping database \"{settings.dbname}\" to {final} "
                     f"(temporary {partial.name})")
            code = self.runner.stream(argv, call, env=env, label="pg_dump")
            if code != 0:
                raise Fail(f"pg_dump failed (exit {code})" if code > 0 else
                            f"pg_dump stopped: {call.stop_reason() or 'killed'}")
            with open(partial, "rb") as handle:
                os.fsync(handle.fileno())
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

