"""Lambda cold start: what each AWS entry point costs before its first handler call, in a fresh interpreter.

Each case runs ``python -c <code>`` anew ``--runs`` times and takes the median of the time measured
inside the interpreter around the case's statements (``perf_counter``), as in
shared/reference/aws-toolchain-here.md §4; the whole process's wall time (interpreter start and exit
included) is reported beside it. Cases:

- ``import motia_runtime``;
- per entry point (api, queue, schedule, websocket, fanout, delivery, triggers): ``import`` of the
  module the function's ``Handler`` names, and ``import + init``: that, then what its first
  invocation builds before any AWS call: the runtime from the project (``bootstrap.runtime()``: the
  streams of ``bench/app`` and the function's own step, imported and validated, as the function's
  variables in the generated template say: ``MOTIA_STEP``, ``MOTIA_STEP_FILE``; the triggers
  function, ``MOTIA_STEP_FILES`` and ``MOTIA_STREAM_FILES``: the repository shelter's trigger steps,
  as bench/app has none, and no stream, which its first leave record imports)
  and, for api/queue/schedule, the step; for the fan-out
  and the big-room delivery, their subscriptions and pusher objects. boto3 (nor, but for the fan-out's pusher,
  botocore) is imported by none of this (clients are made on the first call); its cost is reported
  separately, as the SDK's;
- context: the api path on the repository's own app (the pets and OpenAI examples), boto3's import
  plus one DynamoDB client, and the floor any entry point pays: ``asyncio`` and ``pydantic`` with
  one model built.

Bytecode is compiled first (a layer and functions built by ``make build`` have it). ``--callgrind``
also counts the instructions of each ``import + init`` case in the layer venv (valgrind), up to the
case's end (the interpreter's teardown, which Lambda never runs, left out): a figure
the machine's load does not move.

Two interpreters: the project's dev venv (.venv, with every dev tool installed) and, with
``--layer-venv``, a venv holding only boto3 (which the Lambda runtime provides), with the runtime
layer on PYTHONPATH as ``motia build`` writes it (tools/layers.py, for this machine's architecture,
into the venv's folder).

Usage: python bench/coldstart.py [--runs 15] [--layer-venv DIR] [--callgrind] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "bench" / "app"
LAYER = REPO / "layers" / "motia_runtime"
LAYER_PATHS: list[Path] = []  # the built layers' python/ folders (make_layer_venv)

ENTRY_STEPS = {"api": "CreatePet", "queue": "PetProgress", "schedule": "NightlyReport", "websocket": None,
               "fanout": None, "delivery": None, "triggers": None}


def _case_code(body: str) -> str:
    return (f"import time as _t\n_t0 = _t.perf_counter()\n{body.strip()}\n"
            "print('COLD', (_t.perf_counter() - _t0) * 1000)\n")


def cases(root: Path) -> dict[str, str]:
    out = {"import motia_runtime": "import motia_runtime"}
    for entry, step in ENTRY_STEPS.items():
        out[f"{entry}: import"] = f"import motia_runtime.hosts.aws.{entry}"
        body = f"import motia_runtime.hosts.aws.{entry}\nfrom motia_runtime.hosts.aws import bootstrap\n"
        if entry in ("fanout", "delivery"):  # what its first invocation builds before any AWS call
            body += "bootstrap.subscriptions(); bootstrap.pusher()\n"
        elif entry == "websocket":  # the streams and authenticate, no step
            body += "bootstrap.runtime(steps=False)\n"
        else:  # the triggers function: the shelter's trigger steps (MOTIA_STEP_FILES)
            body += "bootstrap.runtime()\n"
        if step:
            kind = {"api": "api", "queue": "event", "schedule": "cron"}[entry]
            body += f"bootstrap.step({kind!r})\n"
        out[f"{entry}: import + init"] = body
    out["context: api import + init, repo app (pets, openai)"] = (
        "import motia_runtime.hosts.aws.api\nfrom motia_runtime.hosts.aws import bootstrap\nbootstrap.runtime()\n")
    out["context: import boto3 + DynamoDB client"] = "import boto3\nboto3.client('dynamodb', region_name='us-east-1')"
    out["floor: import asyncio, pydantic + one model"] = (
        "import asyncio, pydantic\nclass _M(pydantic.BaseModel):\n    x: int")
    return out


_TEMPLATE_ENV = """
import json, sys
from motia_runtime.project import load_project
from motia_runtime.tools.template import build_template
out = {}
for resource in build_template(load_project(sys.argv[1]))["Resources"].values():
    motia = resource.get("Metadata", {}).get("Motia", {})
    step = motia.get("step") or motia.get("role")  # the triggers function is keyed by its role
    variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
    if step and resource["Type"] == "AWS::Serverless::Function":
        # Not MOTIA_SECRETS: reading them is an AWS call at start, which no case makes (as boto3's clients).
        out[step] = {k: v for k, v in variables.items() if isinstance(v, str) and k != "MOTIA_SECRETS"}
print(json.dumps(out))
"""
_template_envs: dict[Path, dict[str, dict[str, str]]] = {}


def template_env(root: Path, step: str) -> dict[str, str]:
    """The literal variables ``motia generate``'s template gives the step's function (MOTIA_STEP,
    MOTIA_STEP_FILE), so each case starts as that function would on Lambda. A subprocess: the
    bench app and the repository's app both have a ``functions`` package."""
    if root not in _template_envs:
        out = subprocess.run([sys.executable, "-c", _TEMPLATE_ENV, str(root)], capture_output=True, text=True,
                             check=True)
        _template_envs[root] = json.loads(out.stdout)
    return _template_envs[root].get(step, {})


def _env(python: Path, case: str, layer: bool) -> tuple[dict[str, str], Path]:
    # PYTHON*: none of the caller's (PYTHONDONTWRITEBYTECODE would make every run compile from source).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOTIA_", "PYTHON"))}
    root = REPO if "repo app" in case else APP
    env.update({
        "MOTIA_PROJECT_ROOT": str(root), "MOTIA_STATE_TABLE": "state", "MOTIA_STREAMS_TABLE": "streams",
        "MOTIA_CONNECTIONS_TABLE": "connections", "MOTIA_EVENT_BUS": "bus", "MOTIA_WS_ENDPOINT": "https://x/y",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        # Set by Lambda for its runtime interface (nothing here connects to it); the entry points
        # read it to know they run on Lambda (hosts/aws/_gc.py).
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
    })
    step = next((s for e, s in ENTRY_STEPS.items() if case.startswith(f"{e}:")), None)
    if step:
        env.update(template_env(APP, step))
    if case.startswith("triggers:"):
        # bench/app has no trigger step (so no triggers function): the repository's shelter has
        # two, and its triggers function starts as its template says (MOTIA_STEP_FILES).
        env.update(template_env(REPO, "triggers"))
        env["MOTIA_PROJECT_ROOT"] = str(REPO)
        root = REPO
    if "repo app" in case:
        env.update(template_env(REPO, "CreatePet"))
        env["MOTIA_PROJECT_ROOT"] = str(REPO)
    if layer:
        env["PYTHONPATH"] = os.pathsep.join(map(str, LAYER_PATHS))
    return env, root


def _once(python: Path, code: str, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """One fresh interpreter: the ms measured inside it and the whole process's wall time."""
    t = time.perf_counter()
    out = subprocess.run([str(python), "-c", code], env=env, cwd=cwd, capture_output=True, text=True)
    wall = (time.perf_counter() - t) * 1000
    if out.returncode != 0:
        raise RuntimeError(f"cold start case failed:\n{code}\n{out.stderr[-2000:]}")
    return float(next(line for line in out.stdout.splitlines() if line.startswith("COLD")).split()[1]), wall


def _summary(inside: list[float], wall: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(inside), 1), "min_ms": round(min(inside), 1),
            "max_ms": round(max(inside), 1), "wall_median_ms": round(statistics.median(wall), 1), "runs": len(inside)}


def make_layer_venv(path: Path) -> Path:
    """A venv with only boto3 (the Lambda runtime's), and the layers ``motia build`` writes."""
    python = path / "bin" / "python"
    stamp = path / ".bench-installed"
    if not stamp.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "boto3"], check=True)
        stamp.touch()
    from motia_runtime.tools.layers import Target, build_layers

    arch = {"aarch64": "arm64", "arm64": "arm64"}.get(os.uname().machine, "x86_64")
    layers = build_layers(APP, path / "layers", Target(arch))
    LAYER_PATHS[:] = [layers.runtime / "python", *([layers.deps / "python"] if layers.deps else [])]
    return python


def top_imports(python: Path, env: dict[str, str], cwd: Path, statement: str, n: int = 8) -> list[tuple[str, float]]:
    """The modules with the largest self time under ``-X importtime`` (one run: attribution only)."""
    out = subprocess.run([str(python), "-X", "importtime", "-c", statement], env=env, cwd=cwd, capture_output=True,
                         text=True)
    rows = []
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            self_us, _cumulative, name = (p.strip() for p in line[len("import time:"):].split("|"))
            rows.append((name, int(self_us) / 1000))
    return sorted(rows, key=lambda r: -r[1])[:n]


def precompile(python: Path) -> None:
    """Bytecode for the package and the apps, as a built layer and function have it: ``make build``
    compiles it after ``sam build``, which ships none (a function without it compiles every module
    at each cold start: the api case measured ~440-520 ms, see bench/optimisations.md). Timestamp
    mode here, where sources are edited; the build's unchecked-hash bytecode loads the same way."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([str(python), "-m", "compileall", "-q", str(LAYER), *map(str, LAYER_PATHS), str(APP),
                    str(REPO / "functions"), str(REPO / "streams")], env=env, capture_output=True, check=False)


def instructions(python: Path, code: str, env: dict[str, str], cwd: Path) -> int | None:
    """Instructions executed by the whole process (valgrind callgrind): the same count whatever else
    the machine is doing, so it compares before/after where milliseconds here cannot."""
    if shutil.which("valgrind") is None:
        return None
    # Ends with os._exit: the interpreter's teardown (a last full collection, modules cleared) is
    # not in the timed window and Lambda never runs it, and it differs by case (the floor's ~41 M,
    # ~7 M where the cold start froze its objects), so counting it compared unlike with unlike.
    code = f"{code.strip()}\nimport os as _os\n_os._exit(0)\n"
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", str(python), "-c", code],
                         env=env, cwd=cwd, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", out.stderr)
    return int(found.group(1)) if found else None


def run(runs: int, layer_venv: Path | None, callgrind: bool = False, only: str = "") -> dict[str, object]:
    interpreters = {"dev venv": Path(sys.executable)}
    if layer_venv is not None:
        interpreters["layer venv"] = make_layer_venv(layer_venv)
    jobs = []
    for label, python in interpreters.items():
        precompile(python)
        for case, body in cases(APP).items():
            if not only or only in case:
                env, root = _env(python, case, layer=label == "layer venv")
                jobs.append((label, case, python, _case_code(body), env, root))
    # Round robin: run r of every case, then run r + 1. A burst of other work on the machine then
    # lands on all cases alike instead of on the one case whose 15 runs it happened to overlap
    # (case by case, one case's median moved 90 ms between two runs a minute apart).
    samples: dict[tuple[str, str], tuple[list[float], list[float]]] = {(j[0], j[1]): ([], []) for j in jobs}
    for _ in range(runs):
        for label, case, python, code, env, root in jobs:
            inside, wall = _once(python, code, env, root)
            samples[label, case][0].append(inside)
            samples[label, case][1].append(wall)
    results: dict[str, object] = {"runs": runs, "interpreters": {}}
    api_case = "api: import + init"
    for label, python in interpreters.items():
        rows = {}
        for job_label, case, _python, _code, env, root in jobs:
            if job_label != label:
                continue
            rows[case] = _summary(*samples[label, case])
            if callgrind and label == "layer venv" and (": import + init" in case or case.startswith("floor")):
                body = cases(APP)[case]
                rows[case]["instructions_m"] = round((instructions(python, body, env, root) or 0) / 1e6)
            print(f"  cold start [{label}] {case}: {rows[case]['median_ms']} ms", file=sys.stderr)
        env, root = _env(python, api_case, layer=label == "layer venv")
        results["interpreters"][label] = {  # type: ignore[index]
            "python": str(python), "cases": rows,
            "top_self_imports_api": top_imports(python, env, root, _case_code(cases(APP)[api_case])),
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--layer-venv", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--callgrind", action="store_true", help="also count instructions (valgrind), layer venv")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this")
    args = parser.parse_args()
    results = run(args.runs, args.layer_venv, args.callgrind, args.only)
    text = json.dumps(results, indent=1)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
