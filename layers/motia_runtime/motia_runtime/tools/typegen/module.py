"""The text of a project's typed module (``motia_types.py``), built from its loaded steps and streams.

Per stream: ``<Name>Data`` (what ``set`` accepts), ``<Name>Item`` (what ``get``/``set`` return:
the data with ``id``, ``_createdAt`` and ``__motia``) and an attribute of ``Streams``. Per step:
``<Step>Context`` (``ctx``: typed streams, ``emit`` limited to the declared topics with each
topic's data typed by its subscribers' ``input``), and by type ``<Step>Request`` /
``<Step>Body`` / ``<Step>PathParams`` / ``<Step>Response`` (API), ``<Step>Input`` (event),
``<Step>Change`` (stream and state triggers: a plain dict for now).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...config import ApiRouteConfig, CronConfig, EventConfig, NoopConfig, StateTriggerConfig, StreamTriggerConfig
from ...dispatch import is_async_handler
from ...errors import ConfigError
from ...project import Project, Step
from ...schema import Schema
from .schema_types import Mode, TypeWriter, pascal

HEADER = '''"""Typed handlers of this project: written by `motia types` from functions/ and streams/.

Do not edit: `motia types` rewrites it (`motia dev` and `motia check` too, once it exists).
Annotate a handler with its step's names, e.g.

    from motia_types import CreatePetContext, CreatePetRequest, CreatePetResponse

    async def handler(req: CreatePetRequest, ctx: CreatePetContext) -> CreatePetResponse: ...

and mypy or pyright report a stream, field or topic the project does not declare.
"""

# ruff: noqa
# fmt: off
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, Never, NotRequired, Protocol, TypeAlias, TypedDict

'''
# What every module imports from motia_runtime.typed; a project with plain ``def`` handlers also
# imports the blocking shapes (SYNC_NAMES).
TYPED_NAMES = ["StreamMarker", "TypedContext", "TypedStream"]
SYNC_NAMES = ["SyncTypedContext", "SyncTypedStream"]
# Every other name the header imports: no step, stream or schema may take one.
_HEADER_NAMES = ["annotations", "Awaitable", "Callable", "Mapping", "Any", "Literal", "Never", "NotRequired",
                 "Protocol", "TypeAlias", "TypedDict"]


class _Module:
    def __init__(self, project: Project) -> None:
        self.project = project
        # A plain ``def`` handler is run in a thread with a ctx whose calls block (sync_context.py):
        # its step's Context is SyncTypedContext over SyncStreams, and its handler returns directly.
        self.sync_steps = {s.name for s in project.steps.values() if s.handler is not None
                           and not is_async_handler(s.handler)}
        self.types = TypeWriter()
        self._roots: list[dict[str, Any]] = []  # kept alive: the writer keys $defs by id()
        self.sections: list[tuple[str, list[str]]] = []
        self._claim_names()

    def _claim_names(self) -> None:
        """Take every name the module promises (``<Step>Request``, ``<Name>Item``, ``Streams``...)
        before any schema's TypedDict is named: a model of the same name (a body model called
        ``CreatePetRequest``) then gets a suffix instead of the promised name, which it took (and
        the module defined twice). Two steps or streams whose names give the same names
        (``create-pet`` and ``create_pet``: ``CreatePet...``) are a ConfigError naming both."""
        owners: dict[str, tuple[str, Path | None]] = {}
        root = self.project.root

        def claim(name: str, owner: str, file: Path | None, field: str) -> None:
            if name in owners:
                other, other_file = owners[name]
                where = f" ({other_file.relative_to(root).as_posix()})" if other_file else ""
                raise ConfigError(f"{owner} and {other}{where} both give motia_types.py the name {name}: rename one",
                                  file=file.relative_to(root).as_posix() if file else None, field=field)
            owners[name] = (owner, file)
            self.types.reserve(name)

        for name in [*_HEADER_NAMES, *TYPED_NAMES, *SYNC_NAMES]:
            claim(name, "motia_runtime.typed", None, "name")
        for name in ["Streams", "Context", *(["SyncStreams"] if self.sync_steps else [])]:
            claim(name, f"the module's {name}", None, "name")
        for stream in sorted(self.project.streams):
            base, file = pascal(stream), self.project.stream_files.get(stream)
            for suffix in ["Data", "Item", "Stream", *(["SyncStream"] if self.sync_steps else [])]:
                claim(base + suffix, f"stream {stream!r}", file, "name")
        for step in sorted(self.project.steps.values(), key=lambda s: s.name):
            config, base, owner = step.config, pascal(step.name), f"step {step.name!r}"
            if isinstance(config, NoopConfig):
                continue
            suffixes = ["Context", "Handler", "Emit"]
            if isinstance(config, ApiRouteConfig):
                statuses = [str(status) for status in sorted(config.response_schema)] or ["Any"]
                suffixes += ["Body", "PathParams", "Request", "Response", *(f"Response{s}" for s in statuses)]
            elif isinstance(config, (StreamTriggerConfig, StateTriggerConfig)):
                suffixes.append("Change")
            elif isinstance(config, EventConfig):
                suffixes.append("Input")
            for suffix in suffixes:
                claim(base + suffix, owner, step.file, "name")
            for topic in sorted(config.emit_topics):
                claim(f"{base}Emit{pascal(topic)}", f"{owner}'s topic {topic!r}", step.file, "emits")

    def schema_expr(self, schema: Schema | None, hint: str, mode: Mode) -> str:
        if schema is None:
            return "Any"
        root = schema.json_schema()
        self._roots.append(root)
        return self.types.expr(root, hint, mode, root, pydantic=not schema.is_json_schema)

    def _flush(self) -> list[str]:
        blocks, self.types.blocks = self.types.blocks, []
        return blocks

    def alias(self, name: str, expr: str) -> str:  # ``name``: one of the claimed names
        return f"{name}: TypeAlias = {expr!r}" if expr != "Any" else f"{name}: TypeAlias = Any"

    # -- streams ---------------------------------------------------------------------------------
    def streams(self) -> None:
        attrs = []
        for name, config in sorted(self.project.streams.items()):
            base = pascal(name)
            data = self.schema_expr(config.schema_, f"{base}Data", "input")
            item_root = config.schema_.json_schema()
            self._roots.append(item_root)
            item_name = f"{base}Item"
            fields = self._item_fields(item_root, config.schema_)
            blocks = self._flush()
            blocks.append(f"{item_name} = TypedDict({item_name!r}, {{{fields}}})")
            if data != f"{base}Data":
                blocks.append(self.alias(f"{base}Data", data))
            blocks.append(self.alias(f"{base}Stream", f"TypedStream[{base}Data, {item_name}]"))
            if self.sync_steps:
                blocks.append(self.alias(f"{base}SyncStream", f"SyncTypedStream[{base}Data, {item_name}]"))
            self.sections.append((f"stream {name}", blocks))
            attrs.append((name, base))
        body = "\n".join(f"    @property\n    def {name}(self) -> {base}Stream: ..." for name, base in attrs)
        blocks = [
            f'class Streams(Protocol):\n    """``ctx.streams``."""\n\n{body or "    pass"}',
            self.alias("Context", "TypedContext[Any, Streams]")
            + "  # any step's ctx: for helpers several steps call",
        ]
        if self.sync_steps:
            body = "\n".join(f"    @property\n    def {name}(self) -> {base}SyncStream: ..." for name, base in attrs)
            blocks.append(f'class SyncStreams(Protocol):\n    """``ctx.streams`` of a plain def handler."""\n\n'
                          f'{body or "    pass"}')
        self.sections.append(("ctx.streams: one attribute per stream", blocks))

    def _item_fields(self, root: dict[str, Any], schema: Schema) -> str:
        """The item's fields in the output view, plus what the framework adds."""
        if not isinstance(root.get("properties"), dict):
            extra = ""
        else:
            writer_fields = []
            required = set(root.get("required") or [])
            for prop, sub in root["properties"].items():
                present = prop in required or not schema.is_json_schema  # pydantic dumps every field
                t = self.types.expr(sub, pascal(prop), "output", root, pydantic=not schema.is_json_schema)
                writer_fields.append(f"{prop!r}: {(t if present else f'NotRequired[{t}]')!r}")
            extra = ", ".join(writer_fields) + ", "
        return extra + "'id': 'str', '_createdAt': 'NotRequired[int]', '__motia': 'StreamMarker'"

    # -- steps -----------------------------------------------------------------------------------
    def emits(self, step: Step, base: str) -> str:
        members = []
        for topic in sorted(step.config.emit_topics):
            subscribers = self.project.subscribers(topic)
            inputs = {id(s.config.input.spec): s.config.input for s in subscribers
                      if type(s.config) is EventConfig and s.config.input is not None}
            # One schema all subscribers share types the data; several different ones cannot be
            # met by one type here, so the runtime's validation is left to check them.
            data = self.schema_expr(next(iter(inputs.values())), pascal(topic) + "Data", "input") \
                if len(inputs) == 1 else "Any"
            fifo = any(isinstance(s.config, EventConfig) and s.config.infrastructure.queue.type == "fifo"
                       for s in subscribers)
            name = f"{base}Emit{pascal(topic)}"
            group = "str" if fifo else "NotRequired[str]"
            members.append(name)
            self.types.add_block(f"{name} = TypedDict({name!r}, {{'topic': {f'Literal[{topic!r}]'!r}, "
                                 f"'data': {data!r}, 'messageGroupId': {group!r}}})")
        return " | ".join(members) or "Never"

    def step(self, step: Step) -> None:
        config = step.config
        if isinstance(config, NoopConfig):  # a diagram node: nothing to type
            return
        base = pascal(step.name)
        lines: list[str] = []
        emit = self.emits(step, base)
        sync = step.name in self.sync_steps
        context = f"SyncTypedContext[{base}Emit, SyncStreams]" if sync else f"TypedContext[{base}Emit, Streams]"

        def returns(result: str) -> str:
            return result if sync else f"Awaitable[{result}]"
        if isinstance(config, ApiRouteConfig):
            body = self.schema_expr(config.body_schema, f"{base}Body", "output")
            params = f"{base}PathParams"
            fields = "".join(f"    {p}: str\n" for p in config.path_params) or "    pass\n"
            self.types.add_block(f"class {params}(TypedDict):\n{fields.rstrip()}")
            request = f"{base}Request"
            self.types.add_block(
                f"class {request}(TypedDict):\n    pathParams: {params}\n"
                f"    queryParams: dict[str, str | list[str]]\n    body: {body}\n"
                f"    headers: dict[str, str]\n    rawBody: str")
            responses = []
            for status, schema in sorted(config.response_schema.items()):
                out = self.schema_expr(schema, f"{base}Response{status}Body", "output")
                name = f"{base}Response{status}"
                self.types.add_block(f"class {name}(TypedDict):\n    status: Literal[{status}]\n    body: {out}\n"
                                     f"    headers: NotRequired[Mapping[str, str]]")
                responses.append(name)
            if not responses:  # nothing declared: any status, any body
                name = f"{base}ResponseAny"
                self.types.add_block(f"class {name}(TypedDict):\n    status: int\n    body: NotRequired[Any]\n"
                                     f"    headers: NotRequired[Mapping[str, str]]")
                responses.append(name)
            lines.append(self.alias(f"{base}Body", body))
            lines.append(self.alias(f"{base}Response", " | ".join(responses)))
            lines.append(self.alias(f"{base}Context", context))
            lines.append(self.alias(f"{base}Handler",
                                    f"Callable[[{request}, {base}Context], {returns(f'{base}Response')}]"))
            what = f"api {config.method} {config.path}"
        elif isinstance(config, (StreamTriggerConfig, StateTriggerConfig)):
            # The change a trigger hands over ({"groupId", "id", "new_value", ...}) is not typed yet.
            lines.append(self.alias(f"{base}Change", "dict[str, Any]"))
            lines.append(self.alias(f"{base}Context", context))
            lines.append(self.alias(f"{base}Handler", f"Callable[[{base}Change, {base}Context], {returns('None')}]"))
            what = (f"stream trigger on {config.stream_name}" if isinstance(config, StreamTriggerConfig)
                    else "state trigger")
        elif isinstance(config, EventConfig):
            data = self.schema_expr(config.input, f"{base}Input", "output")
            lines.append(self.alias(f"{base}Input", data))
            lines.append(self.alias(f"{base}Context", context))
            lines.append(self.alias(f"{base}Handler", f"Callable[[{base}Input, {base}Context], {returns('None')}]"))
            what = f"event on {', '.join(config.subscribes)}"
        elif isinstance(config, CronConfig):
            lines.append(self.alias(f"{base}Context", context))
            lines.append(self.alias(f"{base}Handler", f"Callable[[{base}Context], {returns('None')}]"))
            what = f"cron {config.cron}"
        else:
            return
        blocks = self._flush()
        blocks.insert(len(blocks), self.alias(f"{base}Emit", emit))
        rel = step.file.relative_to(self.project.root).as_posix()
        self.sections.append((f"step {step.name} ({what}, {rel})", blocks + lines))

    def render(self) -> str:
        self.streams()
        for step in sorted(self.project.steps.values(), key=lambda s: s.name):
            self.step(step)
        names = TYPED_NAMES + (SYNC_NAMES if self.sync_steps else [])
        out = [HEADER + f"from motia_runtime.typed import {', '.join(sorted(names))}\n"]
        for title, blocks in self.sections:
            out.append(f"\n# -- {title} " + "-" * max(3, 96 - len(title)) + "\n")
            out.append("\n\n".join(blocks) + "\n")
        return "\n".join(out)


def render_module(project: Project) -> str:
    return _Module(project).render()
