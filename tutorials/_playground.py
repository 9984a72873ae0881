"""The site's playground: what the Run buttons need, vendored into the built site. No CDN.

At build time (nothing here touches the network):

* Pyodide's runtime files are copied from the npm package ``pyodide``, which
  ``npm ci --prefix .ci/pyodide`` installs (``.ci/run`` does) into
  ``site/playground/pyodide/``;
* replicalab's own wheel is built from the source tree, and the pure-Python
  packages it needs in the browser (attrs, networkx) are packed as wheels from
  the build environment's installed copies, into ``site/playground/wheels/``
  with a ``wheels.json`` listing them.

``tutorials/javascripts/playground.js`` then gives every python and pycon block
a Run button: it loads Pyodide from the site, unpacks the wheels, runs the
page's earlier blocks first, and shows the block's output (and any SVG) under
an editable copy of the code. Without the npm package the site builds as before,
just without Run buttons.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import shutil
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYODIDE = ROOT / ".ci" / "pyodide" / "node_modules" / "pyodide"
#: The runtime files loadPyodide fetches (the rest of the npm package is types and demos).
RUNTIME = ("pyodide.js", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
           "pyodide-lock.json")
#: Installed distributions the pages' code imports, besides replicalab itself. (Hypothesis,
#: which chapter 8 and ``replicalab.testing`` use, now ships a compiled module, so it is not
#: packed: those blocks say ``No module named 'hypothesis'`` in the browser.)
DEPENDENCIES = ("attrs", "networkx")
#: Fixed zip timestamps, so the same sources give the same wheel bytes.
EPOCH = (1980, 1, 1, 0, 0, 0)


def available() -> bool:
    return all((PYODIDE / name).is_file() for name in RUNTIME)


def pyodide_version() -> str:
    return json.loads((PYODIDE / "package.json").read_text())["version"]


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _wheel(path: Path, files: list[tuple[str, bytes]], dist_info: str) -> None:
    """Write a wheel of ``files`` (``(archive name, bytes)``) with a fresh RECORD."""
    record = [_record_line(name, data) for name, data in files] + [f"{dist_info}/RECORD,,"]
    files = [*files, (f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode())]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in sorted(files):
            info = zipfile.ZipInfo(name, EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            wheel.writestr(info, data)


def replicalab_wheel(out: Path) -> str:
    """replicalab's wheel, built from the source tree (every file of the package)."""
    version = importlib.metadata.version("replicalab")
    dist_info = f"replicalab-{version}.dist-info"
    files = [(p.relative_to(ROOT).as_posix(), p.read_bytes())
             for p in sorted((ROOT / "replicalab").rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    files += [
        (f"{dist_info}/METADATA",
         f"Metadata-Version: 2.1\nName: replicalab\nVersion: {version}\n".encode()),
        (f"{dist_info}/WHEEL",
         b"Wheel-Version: 1.0\nGenerator: replicalab-docs\nRoot-Is-Purelib: true\n"
         b"Tag: py3-none-any\n"),
    ]
    name = f"replicalab-{version}-py3-none-any.whl"
    _wheel(out / name, files, dist_info)
    return name


def installed_wheel(dist_name: str, out: Path) -> str | None:
    """A pure-Python distribution installed here, packed back into a wheel (None if absent)."""
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        return None
    base = Path(dist.locate_file(""))
    files = []
    dist_info = None
    for entry in dist.files or ():
        posix = entry.as_posix()
        if posix.startswith("..") or "__pycache__" in posix or posix.endswith(".pyc"):
            continue
        if posix.endswith((".so", ".pyd", ".dylib")):
            raise RuntimeError(f"{dist_name} is not pure Python: {posix}")
        if posix.endswith(".dist-info/RECORD"):
            dist_info = posix.rsplit("/", 1)[0]
            continue
        if posix.endswith((".dist-info/INSTALLER", ".dist-info/REQUESTED",
                           ".dist-info/direct_url.json")):
            continue
        path = base / entry
        if path.is_file():
            files.append((posix, path.read_bytes()))
    if dist_info is None:
        return None
    name = f"{dist.metadata['Name'].replace('-', '_')}-{dist.version}-py3-none-any.whl"
    _wheel(out / name, files, dist_info)
    return name


def vendor(site_dir: Path) -> dict:
    """Copy Pyodide and write the wheels under ``site_dir/playground``; what was written."""
    base = site_dir / "playground"
    runtime = base / "pyodide"
    wheels = base / "wheels"
    runtime.mkdir(parents=True, exist_ok=True)
    wheels.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME:
        shutil.copyfile(PYODIDE / name, runtime / name)
    names = [replicalab_wheel(wheels)]
    names += [n for n in (installed_wheel(d, wheels) for d in DEPENDENCIES) if n]
    manifest = {"pyodide": pyodide_version(), "wheels": names}
    (wheels / "wheels.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest
