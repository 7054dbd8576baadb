"""`make build` on this repository: its time, and the size of what `sam deploy` uploads.

Runs ``motia build`` (with ``--sam`` when a SAM CLI is found: ``.venv-sam/bin/sam``, as ``make
build`` uses it) in the repository, for the architecture of ``[tool.motia]``:

- *cold layers*: the layers' stamp removed, so pip resolves and installs both layers again (pip's
  own download cache is whatever the machine has: warm after the first run);
- *warm*: again with nothing changed, the case of a developer's next ``make build`` (pip is skipped:
  its inputs are unchanged; code, bytecode, ``sam validate --lint`` and ``sam build`` run).

Sizes: each artifact zipped as ``sam deploy`` zips it (deflate): each function's code folder
(``.aws-sam/build/<Function>`` after ``sam build``, else ``.aws-sam/app``) and each layer folder.
``sam deploy`` uploads a zip once per distinct content (its S3 key is the zip's hash), so the
upload total counts identical function zips once; the sum with duplicates is reported beside it.

Usage: python bench/build.py [--sam PATH] [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MOTIA = Path(sys.executable).parent / "motia"


def zipped(folder: Path) -> tuple[int, str]:
    """(bytes, content hash) of the folder zipped with fixed dates, as sam deploy zips it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(path.relative_to(folder)), date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    data = buffer.getvalue()
    return len(data), hashlib.sha256(data).hexdigest()


def run_build(sam: str | None) -> float:
    command = [str(MOTIA), "build", *(["--sam", sam] if sam else ["--no-sam"])]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env={**os.environ, "SAM_CLI_TELEMETRY": "0"}, capture_output=True,
                            text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"motia build failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return round(seconds, 1)


def sizes(used_sam: bool) -> dict[str, object]:
    built = REPO / ".aws-sam" / "build"
    functions = sorted(p for p in built.iterdir() if p.is_dir()) if used_sam else []
    code = {p.name: zipped(p) for p in functions} or {"(all functions) .aws-sam/app": zipped(REPO / ".aws-sam/app")}
    layers = {p.name: zipped(p) for p in sorted((REPO / ".aws-sam" / "layers").iterdir()) if p.is_dir()}
    unique = {digest: size for size, digest in [*code.values(), *layers.values()]}
    return {
        "function_code_zip_bytes": {name: size for name, (size, _) in code.items()},
        "layer_zip_bytes": {name: size for name, (size, _) in layers.items()},
        "upload_bytes": sum(unique.values()),
        "upload_bytes_with_duplicates": sum(s for s, _ in code.values()) + sum(s for s, _ in layers.values()),
        "largest_function_code_bytes": max(s for s, _ in code.values()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sam", default=str(REPO / ".venv-sam" / "bin" / "sam"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sam = args.sam if Path(args.sam).exists() else None
    stamp = REPO / ".aws-sam" / "layers" / ".inputs.json"
    stamp.unlink(missing_ok=True)
    cold = run_build(sam)
    warm = run_build(sam)
    sys.path.insert(0, str(REPO / "layers" / "motia_runtime"))
    from motia_runtime.tools.template.settings import architecture

    result = {"architecture": architecture(REPO), "sam": bool(sam), "cold_layers_s": cold, "warm_s": warm,
              **sizes(bool(sam))}
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
