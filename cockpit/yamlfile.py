"""Loading YAML data files safely, with line numbers for every error.

Runbooks, the policy and scenarios are data written by people under
pressure; every mistake must be reported as ``FILE:LINE: message``.
This loader is PyYAML's safe loader plus two things: mappings remember the
line of each key (:class:`LineDict`), and a duplicate key is an error. With
``scalars=True`` every scalar value also comes wrapped in a :class:`Scalar` that
knows its line, for validators that report a bad *value* where it stands.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

#: The largest data file (runbook, scenario, policy, config) the cockpit reads: the shipped
#: ones are under 40 KB; anything near this is not a file a person wrote.
MAX_DATA_FILE_BYTES = 4 * 1024 * 1024


class DataFileError(ValueError):
    """A data file is malformed; ``str()`` is ``FILE:LINE: message``."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


class LineDict(dict[str, Any]):
    """A mapping from a YAML file that knows where it and each key stand (1-based lines)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """The line of ``key``, or of the mapping itself when the key is absent."""
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence from a YAML file that knows the line of each item."""

    line: int = 0
    item_lines: list[int]


class Scalar:
    """A scalar value with its (1-based) line; only with ``load_text(..., scalars=True)``."""

    __slots__ = ("line", "value")

    def __init__(self, value: Any, line: int) -> None:
        self.value = value
        self.line = line

    def __repr__(self) -> str:
        return f"Scalar({self.value!r}, line={self.line})"


def plain(node: Any) -> Any:
    """The value of a :class:`Scalar`, or ``node`` itself."""
    return node.value if isinstance(node, Scalar) else node


#: libyaml's parser when PyYAML was built with it (several times faster), else pure Python;
#: both give nodes with marks, which is all the line tracking needs.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[valid-type, misc]
    """Safe loader that records lines and refuses duplicate keys."""

    source_name = "<yaml>"


def _refuse_alias(loader: _Loader, node: yaml.Node) -> None:
    """An alias (``*name``) is the same node met twice: refused, so nested aliases cannot
    make a small file expand into billions of items for the validators to walk."""
    if node in loader.constructed_objects or node in loader.recursive_objects:
        raise _AliasFound


class _AliasFound(Exception):
    """Raised inside construction; :func:`load_text` reports the alias's own line."""


def _first_alias_line(text: str) -> int | None:
    for event in yaml.parse(text, Loader=_SafeBase):
        if isinstance(event, yaml.AliasEvent):
            return int(event.start_mark.line) + 1
    return None


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    if any(k.tag == "tag:yaml.org,2002:merge" for k, _ in node.value):
        raise DataFileError(loader.source_name, node.start_mark.line + 1,
                            "merge keys (<<) are not allowed in data files")
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        _refuse_alias(loader, key_node)
        _refuse_alias(loader, value_node)
        key = plain(loader.construct_object(key_node, deep=True))
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            raise DataFileError(loader.source_name, line, f"key {key!r} must be a string")
        if key in result:
            raise DataFileError(loader.source_name, line, f"duplicate key '{key}' "
                                f"(first at line {result.key_lines[key]})")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    for child in node.value:
        _refuse_alias(loader, child)
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class _ScalarLoader(_Loader):
    """:class:`_Loader` that also wraps every scalar in a :class:`Scalar`."""


def _construct_scalar(loader: _ScalarLoader, node: yaml.ScalarNode) -> Scalar:
    constructor = yaml.SafeLoader.yaml_constructors.get(node.tag)
    value = constructor(loader, node) if constructor is not None else loader.construct_scalar(node)
    return Scalar(value, node.start_mark.line + 1)


for _tag in ("str", "int", "float", "bool", "null", "timestamp"):
    _ScalarLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _construct_scalar)


def open_regular(path: str | Path, *, limit: int | None) -> int:
    """Open ``path`` for reading only if it is a regular file of at most ``limit`` bytes.

    Returns a blocking file descriptor (the caller closes it). A FIFO, a device
    (``/dev/zero``), a socket or a folder is refused without reading a byte: the open is
    non-blocking, so a FIFO with no writer cannot hang it. Raises :class:`DataFileError`.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise DataFileError(path, None, f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = ("a folder" if stat.S_ISDIR(info.st_mode) else
                    "a FIFO" if stat.S_ISFIFO(info.st_mode) else
                    "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else
                    "a socket" if stat.S_ISSOCK(info.st_mode) else "not a file")
            raise DataFileError(path, None, f"not a regular file ({kind}); only regular files "
                                "are read")
        if limit is not None and info.st_size > limit:
            raise DataFileError(path, None, f"too large: {info.st_size:,} bytes (the limit is "
                                f"{limit:,})")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_data_text(path: str | Path, *, limit: int = MAX_DATA_FILE_BYTES) -> str:
    """The UTF-8 text of the regular file ``path``, at most ``limit`` bytes.

    Errors are :class:`DataFileError` with the line where the problem stands: bytes that
    are not UTF-8, or a NUL byte (a binary file), are reported on their own line.
    """
    fd = open_regular(path, limit=limit)
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise DataFileError(path, None, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:  # it grew after the size check
        raise DataFileError(path, None, f"too large: more than {limit:,} bytes")
    nul = data.find(b"\0")
    if nul >= 0:
        raise DataFileError(path, data.count(b"\n", 0, nul) + 1,
                            "NUL byte: this is not a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataFileError(path, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x})") \
            from None


def load_text(text: str, source_name: str, *, scalars: bool = False) -> Any:
    """Parse YAML ``text``; errors name ``source_name`` and the line.

    ``scalars=True`` wraps every scalar in a :class:`Scalar` (with its line).
    """
    loader = _ScalarLoader(text) if scalars else _Loader(text)
    loader.source_name = source_name
    try:
        return loader.get_single_data()
    except DataFileError:
        raise
    except _AliasFound:
        raise DataFileError(source_name, _first_alias_line(text),
                            "aliases (*name) are not allowed in data files") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise DataFileError(source_name, line, f"YAML syntax error: {problem}") from None
    except yaml.reader.ReaderError as exc:
        # a control character: libyaml and PyYAML report its position, not its line
        line = text.count("\n", 0, max(0, exc.position)) + 1
        what = f"#x{exc.character:04x}" if isinstance(exc.character, int) else "a character"
        raise DataFileError(source_name, line,
                            f"unacceptable character {what}: control characters are not "
                            "allowed") from None
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())[:200]
        raise DataFileError(source_name, None, f"YAML error: {first}") from None
    except RecursionError:
        raise DataFileError(source_name, None, "nested too deeply") from None
    finally:
        loader.dispose()


def load_file(path: str | Path) -> Any:
    """Read (:func:`read_data_text`: a regular file under the limit) and parse ``path``."""
    return load_text(read_data_text(path), str(path))
