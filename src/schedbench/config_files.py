"""Reading config files, with errors that say where: the file, and for YAML the line and column.

Snakemake's own reader says "Config file is not valid JSON or YAML" without a file or a line, reads a key
given twice as the last one, and reads the unquoted names ``yes``, ``no``, ``on``, ``off`` (YAML 1.1) as
booleans. The workflow reads every config file with :func:`read_config_file` too, before using it.

Config files are merged as Snakemake merges them (later files override earlier ones, key by key into nested
mappings), except that a key set to null in a later file is removed (:func:`merged_config`): a user's file can
narrow what config.yaml sets. The workflow merges the files again itself, in Snakemake's order, so that both agree.

``python -m schedbench.config_files config.yaml my-overrides.yaml`` checks files as the workflow would merge
them, without running anything.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from schedbench.config import SCHEMA_PATH, ConfigError, validate_config


def _where(mark) -> str:
    return f"{mark.name}, line {mark.line + 1}, column {mark.column + 1}"


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses what would silently change the config: a key given twice in one mapping
    (PyYAML keeps the last), and a key that YAML reads as something other than a name."""


def _construct_checked_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str):
            shown = key_node.value
            raise ConfigError(
                f"{_where(key_node.start_mark)}: the key {shown} is read by YAML as the "
                f"{type(key).__name__} {key!r}, not as a name; quote it to use it as one: '{shown}'")
        if key in seen:
            raise ConfigError(f"{_where(key_node.start_mark)}: {key}: duplicate key (give each key once)")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_checked_mapping)


def read_config_file(path: str | Path) -> dict:
    """The mapping a YAML config file holds; a :class:`ConfigError` naming the file (and line and column) when
    it is not valid YAML, is empty, is not a mapping at its top level, gives a key twice, or has a key YAML
    does not read as a name."""
    try:
        with open(path, encoding="utf-8") as handle:
            content = yaml.load(handle, Loader=_StrictLoader)  # the stream's name is the file's, in every mark
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read: {error.strerror}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(part for part in (error.context, error.problem) if part)
        raise ConfigError(f"{_where(mark)}: not valid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if content is None:
        raise ConfigError(f"{path}: the file is empty (or only comments); a config file needs at least one key")
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: the top level must be keys (like 'training:'), found a "
                          f"{type(content).__name__}")
    return content


def key_marks(path: str | Path) -> dict[tuple[str, ...], yaml.Mark]:
    """Where each key (and list item) of a YAML file starts, by its path of keys and indices."""
    with open(path, encoding="utf-8") as handle:
        root = yaml.compose(handle, Loader=yaml.SafeLoader)
    marks: dict[tuple[str, ...], yaml.Mark] = {}

    def walk(node, prefix):
        if isinstance(node, yaml.MappingNode):
            children = [(str(key.value), key.start_mark, value) for key, value in node.value]
        elif isinstance(node, yaml.SequenceNode):
            children = [(str(index), item.start_mark, item) for index, item in enumerate(node.value)]
        else:
            return
        for name, mark, child in children:
            marks[(*prefix, name)] = mark
            walk(child, (*prefix, name))

    walk(root, ())
    return marks


def locate(error: ConfigError, paths: list[str | Path], command_line_keys=()) -> ConfigError:
    """``error`` with each of its lines that starts with a key path (``training.epochs: ...``) followed by where
    that key is set: ``--config`` for a top-level key in ``command_line_keys`` (Snakemake applies those last),
    else the last of ``paths`` (the order Snakemake merges them) that sets it or the nearest key above it. A key
    no file sets (a default) stays as it is."""
    files = []
    for path in paths:
        try:
            files.append((path, key_marks(path)))
        except (OSError, yaml.YAMLError):
            continue
    lines = []
    for line in str(error).splitlines():
        key, separator, _ = line.strip().partition(": ")
        parts = tuple(key.split(".")) if separator and " " not in key else ()
        place = "--config" if parts and parts[0] in command_line_keys else None
        while parts and place is None:
            place = next((f"{path}, line {marks[parts].line + 1}, column {marks[parts].column + 1}"
                          for path, marks in reversed(files) if parts in marks), None)
            parts = parts[:-1]
        lines.append(f"{line} ({place})" if place else line)
    return ConfigError("\n".join(lines))


def check_config_file(path: str | Path) -> None:
    """For the Snakefile, before Snakemake reads ``path``: print what is wrong with it, naming the file (and
    line and column), and exit with status 1. A missing file is left to Snakemake, which names it."""
    if not Path(path).exists():
        return
    try:
        read_config_file(path)
    except ConfigError as error:
        print(f"schedbench: {error}", file=sys.stderr)
        sys.exit(1)


def _laid_over(base: dict, layer: dict, prefix: tuple = ()) -> tuple[dict, list[tuple[str, ...]]]:
    """``layer`` laid over ``base`` (neither is changed), and the key paths of the nulls in ``layer`` that remove
    nothing. A mapping is merged key by key into the mapping under the same key, a null removes the key, anything
    else (a list too) replaces what was there."""
    merged, idle = dict(base), []
    for key, value in layer.items():
        here = (*prefix, key)
        if value is None:
            if key in merged:
                del merged[key]
            else:
                idle.append(here)
        elif isinstance(value, dict):
            below = merged.get(key)
            merged[key], more = _laid_over(below if isinstance(below, dict) else {}, value, here)
            idle += more
        else:
            merged[key] = value
    return merged, idle


_IDLE_NULL = "null (or no value) removes a key an earlier config file sets, but none sets it; give it a value"


def merged_config(paths, command_line=None) -> dict:
    """The config ``paths`` give, each file laid over the ones before it, then ``command_line`` (Snakemake's
    ``--config`` keys, which it applies last): Snakemake's recursive merge, except that a null removes the key
    (Snakemake would keep the null). A :class:`ConfigError` names a file that cannot be read, and each null that
    removes nothing with its file, line and column: a misspelt key would otherwise be dropped silently."""
    config: dict = {}
    for path in paths:
        config, idle = _laid_over(config, read_config_file(path))
        if idle:
            marks = key_marks(path)
            raise ConfigError("\n".join(f"{_where(marks[key]) if key in marks else path}: {'.'.join(key)}: "
                                         f"{_IDLE_NULL}" for key in idle))
    config, idle = _laid_over(config, dict(command_line or {}))
    if idle:
        raise ConfigError("\n".join(f"--config {'.'.join(key)}=: {_IDLE_NULL}" for key in idle))
    return config


def load_config(*paths: str | Path, schema_path: str | Path = SCHEMA_PATH) -> dict:
    """The validated config of these files, each laid over the ones before it (:func:`merged_config`)."""
    return validate_config(merged_config(paths), schema_path)


def main(argv: list[str] | None = None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m schedbench.config_files CONFIG.yaml [OVERRIDES.yaml ...]", file=sys.stderr)
        return 2
    try:
        load_config(*paths)
    except ConfigError as error:
        print(f"schedbench: {locate(error, paths)}", file=sys.stderr)
        return 1
    print(f"schedbench: {' + '.join(paths)}: a valid configuration")
    return 0


if __name__ == "__main__":
    sys.exit(main())
