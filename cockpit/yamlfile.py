"""Loading YAML data files safely, with line numbers for every error.

Runbooks, the policy and scenarios are data written by people under
pressure; every mistake must be reported as ``FILE:LINE: message``.
This loader is PyYAML's safe loader plus two things: mappings remember the
line of each key (:class:`LineDict`), and a duplicate key is an error. With
``scalars=True`` every scalar value also comes wrapped in a :class:`Scalar` that
knows its line, for validators that report a bad *value* where it stands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


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


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
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
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise DataFileError(source_name, line, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise DataFileError(source_name, None, f"YAML error: {exc}") from None
    finally:
        loader.dispose()


def load_file(path: str | Path) -> Any:
    """Read and parse the YAML file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(path, None, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise DataFileError(path, None, "not UTF-8 text") from None
    return load_text(text, str(path))
