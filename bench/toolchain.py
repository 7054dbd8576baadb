"""What the scenarios need outside Python, installed outside the repository: Debian's wrk and redis, the Node
clients (the kit's and ours) and the Motia peer's npm project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from machine import pinned
from settings import BENCH, KIT, TMP, log


def ensure_apt(binaries: dict[str, str]) -> None:
    """apt-get install Debian's packages for missing binaries (the suite runs as root here)."""
    missing = [pkg for binary, pkg in binaries.items() if shutil.which(binary) is None]
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    log(f"apt-get install {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run([*sudo, "apt-get", "install", "-y", *missing], env=env, capture_output=True).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update"], env=env, capture_output=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", *missing], env=env, capture_output=True)


def npm_install(folder: Path, package_json: dict[str, Any], files: list[Path]) -> None:
    """A package folder outside the repository with the clients (kit's and ours) and their packages."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clients").mkdir(exist_ok=True)
    for f in files:
        target = folder / "clients" / f.name if f.suffix in (".mjs", ".sh") else folder / f.name
        shutil.copyfile(f, target)
    wanted = json.dumps(package_json, indent=1)
    stamp = folder / ".bench-installed"
    if stamp.exists() and stamp.read_text() == wanted:
        return
    (folder / "package.json").write_text(wanted)
    log(f"npm install in {folder} (outside the repository)")
    t = time.time()
    out = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=folder, capture_output=True, text=True,
                         env={**os.environ, "REDISMS_DISABLE_POSTINSTALL": "1"})
    if out.returncode != 0:
        raise RuntimeError(f"npm install failed in {folder}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    log(f"npm install: {time.time() - t:.0f} s")
    stamp.write_text(wanted)


def client_files() -> list[Path]:
    ours = sorted((BENCH / "clients").glob("*.mjs"))
    kit = [KIT / "clients" / n for n in ("stats.mjs", "official-loss.mjs")]
    return kit + ours


def clients_folder() -> Path:
    """Motia's own Node client and `ws`, at the kit's versions: enough to drive either server."""
    folder = TMP / "clients"
    kit_pkg = json.loads((KIT / "package.json").read_text())
    deps = {k: v for k, v in kit_pkg["dependencies"].items() if k in ("ws", "@motiadev/stream-client-node")}
    npm_install(folder, {"name": "motia-bench-clients", "private": True, "type": "module", "dependencies": deps},
                client_files())
    return folder


def peer_folder() -> Path:
    """The kit's project (package.json, motia.config.ts, steps) installed as its run.sh does."""
    folder = TMP / "peer"
    (folder / "steps").mkdir(parents=True, exist_ok=True)
    for f in (KIT / "steps").glob("*.ts"):
        shutil.copyfile(f, folder / "steps" / f.name)
    for name in ("motia.config.ts", "tsconfig.json"):
        shutil.copyfile(KIT / name, folder / name)
    npm_install(folder, json.loads((KIT / "package.json").read_text()),
                [p for p in [KIT / "package-lock.json"] if p.exists()])
    return folder


def node(folder: Path, script: str, *args: Any, env: dict[str, str] | None = None,
         timeout_s: float = 1800, cpus: frozenset[int] | None = None) -> dict[str, Any]:
    out = subprocess.run(pinned(["node", f"clients/{script}", *map(str, args)], cpus), cwd=folder,
                         capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout_s)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"node {script} {args} failed ({out.returncode}):\n{out.stdout[-2000:]}\n"
                           f"{out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[0])
    return result
