"""Discovery and load-time validation of a project's steps and streams.

Steps are ``functions/**/*_step.py`` and streams ``streams/**/*_stream.py``. Files are imported
as ordinary modules (``functions.pets.create_pet_step``) with the project root on ``sys.path``,
so a step can import its flow's helpers. Every problem found at load time raises ConfigError
naming the file and the field; topics that are subscribed to but never emitted are warnings.

A Lambda function loads only the step it serves (``step_files``): the other steps' modules, and
whatever they import, are never imported there. ``motia dev``, ``motia check`` and ``motia
generate`` load every step, so a problem in any step still fails them.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeGuard, overload

import pydantic
from typing_extensions import TypeVar  # default=: PEP 696, in typing from Python 3.13

from .config import (
    StepKind,
    StreamConfig,
    config_error,
    is_config_model_error,
    is_config_of,
    is_multi_trigger,
    parse_step_config,
    parse_stream_config,
)
from .errors import ConfigError
from .source_hints import import_line, locate, lookalike_warnings

if TYPE_CHECKING:
    # Step models are created on first use (config.py): this module tells them apart by their
    # ``type``, so a function that serves one kind of step never creates the others.
    from .api_config import ApiRouteConfig
    from .config import StepConfigModel
    from .cron_config import CronConfig
    from .event_config import EventConfig
    from .noop_config import NoopConfig
    from .trigger_config import StateTriggerConfig, StreamTriggerConfig

STEP_GLOB = "*_step.py"
STREAM_GLOB = "*_stream.py"
AUTH_MODULE = "auth.py"

# The number of positional arguments each kind of handler takes.
_HANDLER_ARITY = {"api": 2, "event": 2, "cron": 1, "stream": 2, "state": 2}
_HANDLER_SHAPE = {"api": "handler(req, ctx)", "event": "handler(input, ctx)", "cron": "handler(ctx)",
                  "stream": "handler(change, ctx)", "state": "handler(change, ctx)"}


#: The config model of a step; a bare ``Step`` is a step of any kind. (Named as strings: the
#: models exist only under TYPE_CHECKING here, see above.)
ConfigT = TypeVar("ConfigT", bound="StepConfigModel", default="StepConfigModel", covariant=True)


@dataclass(frozen=True)
class Step(Generic[ConfigT]):
    """A loaded step; ``Step[ApiRouteConfig]`` is one whose ``config`` is an ``ApiRouteConfig``
    (``Project.api_steps``, ``is_step_of``), so its kind's fields are typed without a cast."""

    config: ConfigT
    handler: Callable[..., Any] | None
    file: Path
    #: What ``ctx.trigger`` says for this step: ``{"type", "index", ...}``.
    trigger: dict[str, Any] = field(default_factory=dict)
    #: True for a step declared with ``triggers: [...]``: its handler is always
    #: ``handler(input, ctx)`` (None for cron), as in Motia 1.0.
    unified: bool = False

    @property
    def name(self) -> str:
        return self.config.name


@overload
def is_step_of(step: Step, kind: Literal["api"]) -> TypeGuard[Step[ApiRouteConfig]]: ...
@overload
def is_step_of(step: Step, kind: Literal["event"]) -> TypeGuard[Step[EventConfig]]: ...
@overload
def is_step_of(step: Step, kind: Literal["cron"]) -> TypeGuard[Step[CronConfig]]: ...
@overload
def is_step_of(step: Step, kind: Literal["noop"]) -> TypeGuard[Step[NoopConfig]]: ...
@overload
def is_step_of(step: Step, kind: Literal["stream"]) -> TypeGuard[Step[StreamTriggerConfig]]: ...
@overload
def is_step_of(step: Step, kind: Literal["state"]) -> TypeGuard[Step[StateTriggerConfig]]: ...
def is_step_of(step: Step, kind: StepKind) -> bool:
    """True when ``step`` is of ``kind``: narrows ``step`` to a ``Step[that kind's config]``.

    Told by the config's ``type`` tag, not by isinstance, so asking never imports (creates) a
    step model class: a Lambda function creates only its own step type's (config.py)."""
    return is_config_of(step.config, kind)


# eq=False: never compared, and each method a dataclass generates is compiled at import (Python
# 3.11): ~0.6 M instructions of every Lambda cold start each (bench/optimisations.md, row 22).
@dataclass(frozen=True, eq=False)
class Project:
    root: Path
    steps: dict[str, Step]
    streams: dict[str, StreamConfig]
    stream_files: dict[str, Path] = field(default_factory=dict)
    authenticate: Callable[..., Any] | None = None
    warnings: list[str] = field(default_factory=list)
    # False when only some steps were loaded (``load_project(step_files=...)``): ``steps`` then
    # holds those, and whole-project checks and warnings were not made.
    complete: bool = True
    #: Streams known by name but not imported yet (``load_project(stream_files=...)``): each is
    #: imported by ``load_stream`` on first use.
    unloaded_streams: dict[str, Path] = field(default_factory=dict)
    streams_dir: str = "streams"

    def load_stream(self, name: str) -> StreamConfig | None:
        """The stream ``name``, importing its file if it was not yet (None: no such stream).

        If the file now declares another stream (a stale name-to-file list), every stream file
        is imported, so the stream is found wherever it moved."""
        if name in self.streams or name not in self.unloaded_streams:
            return self.streams.get(name)
        path = self.unloaded_streams.pop(name)
        config = _load_stream(path, self.root)
        self._add_stream(config, path)
        if config.name != name:
            for other, other_rel, module in _config_modules(self.root / self.streams_dir, STREAM_GLOB, self.root,
                                                            "stream"):
                if other not in self.stream_files.values():
                    with _pointing_at(other):
                        self._add_stream(parse_stream_config(module.config, other_rel), other)
            self.unloaded_streams.clear()
        return self.streams.get(name)

    def _add_stream(self, config: StreamConfig, path: Path) -> None:
        if config.name in self.streams and self.stream_files.get(config.name) != path:
            other = _relative(self.stream_files[config.name], self.root)
            raise locate(ConfigError(f"stream {config.name!r} is already defined in {other}",
                                     file=_relative(path, self.root), field="name"), path)
        self.streams[config.name] = config
        self.stream_files[config.name] = path

    @property
    def api_steps(self) -> list[Step[ApiRouteConfig]]:
        return [s for s in self.steps.values() if is_step_of(s, "api")]

    @property
    def event_steps(self) -> list[Step[EventConfig]]:
        """Every queue consumer: event steps and the stream and state trigger steps."""
        return [s for s in self.steps.values() if is_step_of(s, "event")]

    @property
    def cron_steps(self) -> list[Step[CronConfig]]:
        return [s for s in self.steps.values() if is_step_of(s, "cron")]

    @property
    def stream_trigger_steps(self) -> list[Step[StreamTriggerConfig]]:
        return [s for s in self.steps.values() if is_step_of(s, "stream")]

    @property
    def state_trigger_steps(self) -> list[Step[StateTriggerConfig]]:
        return [s for s in self.steps.values() if is_step_of(s, "state")]

    def subscribers(self, topic: str) -> list[Step[EventConfig]]:
        return [s for s in self.event_steps if topic in s.config.subscribes]


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    for part in parts:
        if not part.isidentifier():
            raise ConfigError(
                f"{part!r} is not a valid Python module name (use letters, digits and _)", file=_relative(path, root)
            )
    return ".".join(parts)


def _import(path: Path, root: Path) -> ModuleType:
    name = _module_name(path, root)
    rel = _relative(path, root)
    try:
        if name in sys.modules:
            return importlib.reload(sys.modules[name])
        return importlib.import_module(name)
    except ConfigError as exc:
        raise locate(exc, path) from None
    except pydantic.ValidationError as exc:
        if not is_config_model_error(exc):
            raise _import_error(exc, path, rel) from exc
        # A typed config (``ApiRouteConfig(...)``) is validated as the file runs, before the loader
        # sees it: named by field as a config dict's mistakes are, not as pydantic's own text.
        error = config_error(exc, rel, tagged=False)
        error.line = import_line(exc, path)
        raise error from None
    except Exception as exc:
        raise _import_error(exc, path, rel) from exc


def _import_error(exc: Exception, path: Path, rel: str) -> ConfigError:
    return ConfigError(f"cannot import: {type(exc).__name__}: {exc}", file=rel, line=import_line(exc, path))


def _check_handler(step: StepConfigModel, handler: object, rel: str,
                   unified: bool = False) -> Callable[..., Any] | None:
    if step.type == "noop":
        return None
    if handler is None:
        kind = {"api": "an API", "event": "an event"}.get(step.type, f"a {step.type}")
        raise ConfigError(f"{kind} step needs a module-level handler", file=rel, field="handler")
    if not callable(handler):
        raise ConfigError("handler must be a function", file=rel, field="handler")
    try:
        params = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return handler  # builtins and C callables: trust them
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    varargs = any(p.kind == p.VAR_POSITIONAL for p in params)
    expected = 2 if unified else _HANDLER_ARITY[step.type]
    required = [p for p in positional if p.default is p.empty]
    if len(required) > expected or (len(positional) < expected and not varargs):
        shape = "handler(input, ctx)" if unified else _HANDLER_SHAPE[step.type]
        what = "a step with triggers" if unified else f"a {step.type} step"
        raise ConfigError(f"{what}'s handler must be {shape}", file=rel, field="handler")
    return handler


def _route_key(config: ApiRouteConfig) -> tuple[str, str]:
    return config.method, re.sub(r":[A-Za-z0-9_]+", ":", config.path.rstrip("/") or "/")


def _config_modules(folder: Path, pattern: str, root: Path, kind: str,
                    files: Iterable[Path] | None = None) -> Iterator[tuple[Path, str, ModuleType]]:
    """Import each file matching ``pattern`` under ``folder`` (or each of ``files``), in a stable
    order; each must hold ``config``."""
    paths = sorted(files) if files is not None else sorted(folder.rglob(pattern)) if folder.is_dir() else []
    for path in paths:
        rel = _relative(path, root)
        module = _import(path, root)
        if not hasattr(module, "config"):
            raise ConfigError(f"a {kind} file needs a module-level config", file=rel, field="config")
        yield path, rel, module


@contextlib.contextmanager
def _pointing_at(path: Path) -> Iterator[None]:
    """A ConfigError about ``path``'s config gets the line it is on."""
    try:
        yield
    except ConfigError as exc:
        raise locate(exc, path) from None


def _load_stream(path: Path, root: Path) -> StreamConfig:
    """Import one stream file and validate its config."""
    (_, rel, module), = _config_modules(path.parent, STREAM_GLOB, root, "stream", [path])
    with _pointing_at(path):
        return parse_stream_config(module.config, rel)


def load_project(root: Path | str, *, functions_dir: str = "functions", streams_dir: str = "streams",
                 step_files: Iterable[Path | str] | None = None,
                 stream_files: Mapping[str, Path | str] | None = None) -> Project:
    """Import and validate every step and stream under ``root``.

    With ``step_files`` (paths, relative to ``root`` or absolute), only those steps are imported,
    with every stream: the project is then ``complete=False``, without the topic warnings,
    which need every step. With ``stream_files`` (each stream's name and file), no stream is
    imported until it is used (``Project.load_stream``)."""
    root = Path(root).resolve()
    files = None if step_files is None else [(root / f).resolve() for f in step_files]
    lazy = None if stream_files is None else {name: (root / f).resolve() for name, f in stream_files.items()}
    for path in [*(files or []), *(lazy or {}).values()]:
        if not path.is_relative_to(root) or not path.is_file():
            raise ConfigError("not a file of the project", file=str(path))
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    importlib.invalidate_caches()

    streams: dict[str, StreamConfig] = {}
    loaded_files: dict[str, Path] = {}
    authenticate = None
    streams_path = root / streams_dir
    for path, rel, module in _config_modules(streams_path, STREAM_GLOB, root, "stream", None if lazy is None else []):
        with _pointing_at(path):
            stream = parse_stream_config(module.config, rel)
        if stream.name in streams:
            other = _relative(loaded_files[stream.name], root)
            raise locate(ConfigError(f"stream {stream.name!r} is already defined in {other}", file=rel,
                                     field="name"), path)
        streams[stream.name] = stream
        loaded_files[stream.name] = path
    auth_path = streams_path / AUTH_MODULE
    if auth_path.is_file():
        module = _import(auth_path, root)
        authenticate = getattr(module, "authenticate", None)
        if authenticate is not None and not callable(authenticate):
            raise locate(ConfigError("authenticate must be a function", file=_relative(auth_path, root),
                                     field="authenticate"), auth_path)

    steps: dict[str, Step] = {}
    routes: dict[tuple[str, str], Step] = {}
    functions_path = root / functions_dir
    for path, rel, module in _config_modules(functions_path, STEP_GLOB, root, "step", files):
        with _pointing_at(path):  # a ConfigError about this file gets its line
            for step in _steps_of(module, path, rel, streams.keys() | (lazy or {}).keys()):
                config = step.config
                if config.name in steps:
                    other = _relative(steps[config.name].file, root)
                    raise ConfigError(f"step name {config.name!r} is already used by {other}", file=rel,
                                      field="name")
                if config.type == "api":
                    key = _route_key(config)
                    if key in routes:
                        other = _relative(routes[key].file, root)
                        raise ConfigError(f"route {config.method} {config.path} is already served by {other}",
                                          file=rel, field="path")
                    routes[key] = step
                steps[config.name] = step

    if files is not None or lazy is not None:
        return Project(root, steps, streams, loaded_files, authenticate, [], complete=False,
                       unloaded_streams=lazy or {}, streams_dir=streams_dir)
    warnings = _layout_warnings(root, functions_path, streams_path, auth_path, steps)
    return Project(root, steps, streams, loaded_files, authenticate, warnings + _topic_warnings(steps, root),
                   streams_dir=streams_dir)


def missing_functions(root: Path | str, functions_dir: str = "functions") -> str | None:
    """Why ``root`` is not a project (no ``functions/`` folder), or None when it has one."""
    root = Path(root).resolve()
    if (root / functions_dir).is_dir():
        return None
    # Run from inside a project (functions/pets/): name the project above, the likely intent.
    above = next((p for p in root.parents if (p / functions_dir).is_dir()), None)
    if above is not None:
        import shlex  # here, not at the top: a Lambda's cold start imports this module, never this branch

        return (f"no {functions_dir}/ folder in {root}: the project is {above}? "
                f"Run it there, or pass --root {shlex.quote(str(above))}")
    return (f"no {functions_dir}/ folder in {root}: not a Motia project? "
            f"(steps are {functions_dir}/**/{STEP_GLOB}; pass --root)")


def not_a_project(root: Path | str) -> str | None:
    """Why the commands that load a project refuse ``root`` (neither ``functions/`` nor
    ``streams/``: the wrong folder, most likely), or None. A project of streams alone (client
    events, presence) is one."""
    if (Path(root) / "streams").is_dir():
        return None
    return missing_functions(root)


def _layout_warnings(root: Path, functions: Path, streams: Path, auth: Path, steps: dict[str, Step]) -> list[str]:
    """Files that look like steps or streams but are not loaded, and a project with no steps."""
    warnings = lookalike_warnings(root, functions, streams, STEP_GLOB, STREAM_GLOB, ignore={auth})
    if not steps:
        reason = missing_functions(root, functions.name) or f"no {STEP_GLOB} files under {functions.name}/"
        warnings.append(f"no steps: {reason}")
    return warnings


def _steps_of(module: ModuleType, path: Path, rel: str, streams: Collection[str]) -> list[Step]:
    """The step a file declares, or one per trigger for a ``triggers: [...]`` config."""
    raw = module.config
    handler = getattr(module, "handler", None)
    if is_multi_trigger(raw):
        from .triggers import expand_step_config  # only for steps with triggers (cold start)

        configs = expand_step_config(raw, rel)
        unified = True
    else:
        config = parse_step_config(raw, rel)
        configs = [(config, {"type": config.type, "index": 0})]
        unified = False
    out = []
    for i, (config, info) in enumerate(configs):
        if is_config_of(config, "stream") and config.stream_name not in streams:
            known = ", ".join(sorted(streams)) or "none"
            field = f"triggers.{i}.streamName" if unified else "streamName"
            raise ConfigError(f"no stream named {config.stream_name!r} (streams: {known})", file=rel, field=field)
        out.append(Step(config, _check_handler(config, handler, rel, unified), path, info, unified))
    return out


def _topic_warnings(steps: dict[str, Step], root: Path) -> list[str]:
    emitted: set[str] = set()
    for step in steps.values():
        emitted |= {e.topic for e in step.config.emits} | {e.topic for e in step.config.virtual_emits}
    warnings = []
    subscribers: dict[str, list[Step]] = defaultdict(list)
    for step in steps.values():
        if step.config.type == "event":  # not the stream and state triggers: fed by changes, not emits
            for topic in step.config.subscribes:
                subscribers[topic].append(step)
    for topic, subs in sorted(subscribers.items()):
        if topic not in emitted:
            for step in subs:
                warnings.append(
                    f"{_relative(step.file, root)}: subscribes: topic {topic!r} is not emitted by any step"
                )
    return warnings
