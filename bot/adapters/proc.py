"""The one subprocess helper: kustomize, helm and git, with argv, cwd, timeout and an output cap.

Every external program fluxbot runs goes through :func:`run`: an argv list (never a shell), an
explicit working directory, a wall-clock timeout, a cap on the bytes written to stdout (enforced by
the kernel with ``RLIMIT_FSIZE`` on the capture file via ``prlimit``, so a runaway build cannot
fill the disk) and an error that carries the first lines of stderr. Builds of untrusted content
also get an environment that points every proxy at a closed loopback port and allows git only the
``file`` transport, so remote bases cannot be fetched.

    >>> build_kustomization(Path("/tmp/render/apps"))   # doctest: +SKIP
    'apiVersion: v1\\nkind: Namespace\\n...'
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import resource
import shutil
import signal
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.app.log import get_logger
from bot.core.errors import BotError, ForgeError, RenderError

log = get_logger(__name__)

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024
STDERR_LINES = 8
_CLOSED = "http://127.0.0.1:9"
# kubectl's klog prefix ("E1202 14:57:10.080172   20818 run.go:72] "): time and pid change on
# every run and would make a sticky comment differ each time
_KLOG = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ [^ \]]+\] ")


def sandbox_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A minimal environment that keeps builds off the network."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": tempfile.gettempdir(),
        "LANG": "C.UTF-8",
        "HTTP_PROXY": _CLOSED,
        "HTTPS_PROXY": _CLOSED,
        "http_proxy": _CLOSED,
        "https_proxy": _CLOSED,
        "NO_PROXY": "",
        "GIT_ALLOW_PROTOCOL": "file",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "KUBECONFIG": os.devnull,
    }
    env.update(extra or {})
    return env


def _capped(argv: Sequence[str], max_output: int) -> tuple[list[str], bool]:
    """argv under ``prlimit --fsize`` when available (thread-safe, unlike ``preexec_fn``)."""
    tool = shutil.which("prlimit")
    if tool:
        return [tool, f"--fsize={max_output + 1}", "--", *argv], True
    return list(argv), False


@functools.cache
def netns_prefix() -> tuple[str, ...]:
    """``unshare`` argv giving a command an empty network namespace, if this host allows it.

    Defence in depth for offline builds (the closed proxy does not cover loopback, which Go
    programs reach directly); ``()`` where user/network namespaces are not permitted, e.g. in
    many containers, and the static refusal of remote references remains the guarantee.
    """
    tool = shutil.which("unshare")
    if tool is None:
        return ()
    prefix = (tool, "--net", "--map-root-user", "--")
    try:
        probe = subprocess.run(
            [*prefix, "true"], stdin=subprocess.DEVNULL, capture_output=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return prefix if probe.returncode == 0 else ()


def run(
    argv: Sequence[str],
    *,
    cwd: Path | str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_output: int = DEFAULT_MAX_OUTPUT,
    env: Mapping[str, str] | None = None,
    error: type[BotError] = RenderError,
    offline: bool = False,
) -> bytes:
    """Run ``argv`` and return its stdout; raise ``error`` (stderr included) on any failure.

    ``offline`` runs it without any network where the host allows (:func:`netns_prefix`).
    """
    name = Path(argv[0]).name
    if offline:
        argv = [*netns_prefix(), *argv]
    command, limited = _capped(argv, max_output)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(
                command,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=dict(env) if env is not None else None,
                start_new_session=True,
            )
        except OSError as exc:
            raise error(f"{name}: cannot start: {exc.strerror}") from None
        if not limited:  # no prlimit binary: cap the running process (a tiny window remains)
            with contextlib.suppress(OSError):
                lim = (max_output + 1, max_output + 1)
                resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, lim)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):  # the whole session: git children of kustomize too
                os.killpg(proc.pid, signal.SIGKILL)
            proc.kill()
            proc.wait()
            raise error(f"{name}: timed out after {timeout:g}s") from None
        size = out.seek(0, io.SEEK_END)
        if size > max_output:
            raise error(f"{name}: output larger than {max_output} bytes")
        if code != 0:
            err.seek(0)
            text = err.read(64 * 1024).decode("utf-8", "replace")
            lines = [_KLOG.sub("", line) for line in text.strip().splitlines()]
            detail = "; ".join(lines[:STDERR_LINES]) or f"exit status {code}"
            raise error(f"{name} failed: {detail}")
        out.seek(0)
        return out.read()


def kustomize_argv(directory: Path) -> list[str]:
    """``kustomize build`` when a kustomize binary exists, else ``kubectl kustomize``.

    ``LoadRestrictionsNone`` as kustomize-controller builds: files outside the kustomization's
    directory load. The directory is a copy of the repository's files only (no symlinks), and
    the renderer refuses absolute paths and paths leaving the repository before the build.
    """
    restrict = ["--load-restrictor", "LoadRestrictionsNone"]
    if shutil.which("kustomize"):
        return ["kustomize", "build", *restrict, str(directory)]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize", *restrict, str(directory)]
    raise RenderError("neither kustomize nor kubectl is on PATH")


def build_kustomization(
    directory: Path, *, timeout: float = DEFAULT_TIMEOUT, max_output: int = DEFAULT_MAX_OUTPUT
) -> str:
    """``kustomize build`` of a directory: no plugins, no network (see :func:`kustomize_argv`)."""
    out = run(
        kustomize_argv(directory),
        cwd=directory,
        timeout=timeout,
        max_output=max_output,
        env=sandbox_env(),
        offline=True,
    )
    return out.decode("utf-8", "replace")


def helm_available() -> bool:
    return shutil.which("helm") is not None


def helm_template(
    chart: str,
    *,
    release: str,
    namespace: str,
    values_file: Path,
    cwd: Path,
    version: str = "",
    repo: str = "",
    plain_http: bool = False,
    network: bool = True,
    cache_dir: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_output: int = DEFAULT_MAX_OUTPUT,
) -> str:
    """``helm template --skip-tests --include-crds`` of one chart (repo, ``oci://`` or a dir).

    With ``network`` helm may reach the chart's host (never a cluster: ``KUBECONFIG`` is empty);
    callers vet the host first. Without it (a chart directory on disk) every proxy points at a
    closed loopback port, as for kustomize builds.
    """
    argv = ["helm", "template", release, chart, "--namespace", namespace, "--skip-tests"]
    argv += ["--include-crds", "--values", str(values_file)]
    if version:
        argv += ["--version", version]
    if repo:
        argv += ["--repo", repo]
    if plain_http:
        argv.append("--plain-http")
    cache = cache_dir or cwd / ".helm"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cache),
        "LANG": "C.UTF-8",
        "KUBECONFIG": os.devnull,
        "HELM_CACHE_HOME": str(cache / "cache"),
        "HELM_CONFIG_HOME": str(cache / "config"),
        "HELM_DATA_HOME": str(cache / "data"),
        "HELM_REGISTRY_CONFIG": str(cache / "registry.json"),
    }
    if not network:
        env = sandbox_env(env)
    out = run(argv, cwd=cwd, timeout=timeout, max_output=max_output, env=env, offline=not network)
    return out.decode("utf-8", "replace")


# -- git --------------------------------------------------------------------------------------


def git(
    repo: Path, *args: str, timeout: float = DEFAULT_TIMEOUT, max_output: int = DEFAULT_MAX_OUTPUT
) -> bytes:
    """``git -C repo args...``; failures raise :class:`ForgeError`."""
    env = {k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG", "GIT_"))}
    env.setdefault("HOME", tempfile.gettempdir())
    return run(
        ["git", "-C", str(repo), *args],
        timeout=timeout,
        max_output=max_output,
        env=env,
        error=ForgeError,
    )


def git_tree(repo: Path, ref: str, *, max_bytes: int = 512 * 1024 * 1024) -> dict[str, str]:
    """Every UTF-8 text file of ``ref`` as ``{path: text}`` (see :func:`read_tree`)."""
    return read_tree(repo, ref, max_bytes=max_bytes)[0]


def read_tree(
    repo: Path, ref: str, *, max_bytes: int = 512 * 1024 * 1024
) -> tuple[dict[str, str], dict[str, str]]:
    """``({path: text}, {path: why not read})`` for the regular files of ``ref``.

    ``git archive`` reads the whole tree at once; when it fails (a blob missing from a partial
    or damaged clone) each blob is read on its own and the missing ones are named, so one
    absent file loses only itself. An empty tree is ``{}``; binary files and symlinks are named,
    not read.
    """
    listing = git(repo, "ls-tree", "-r", "-z", "--full-tree", ref).decode("utf-8", "replace")
    blobs: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for line in filter(None, listing.split("\0")):
        meta, _, path = line.partition("\t")
        mode, kind, sha = meta.split()
        if kind == "blob" and mode in ("100644", "100755"):
            blobs[path] = sha
        elif mode == "120000":
            skipped[path] = "symlink, not followed"
    if not blobs:
        return {}, skipped
    tree: dict[str, str] = {}
    try:
        data = git(repo, "archive", "--format=tar", ref, "--", max_output=max_bytes)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            contents = {
                m.name: h.read() for m in tar if m.isreg() and (h := tar.extractfile(m)) is not None
            }
    except (ForgeError, tarfile.TarError):
        contents = {}
        for path, sha in blobs.items():
            try:
                contents[path] = git(repo, "cat-file", "blob", sha, max_output=max_bytes)
            except ForgeError:
                skipped[path] = "blob missing from the repository, not read"
    for path, raw in contents.items():
        try:
            tree[path] = raw.decode("utf-8")
        except UnicodeDecodeError:
            skipped[path] = "binary file, not read"
    return tree, skipped


def worktree_files(repo: Path) -> dict[str, str]:
    """The working tree: tracked and untracked-but-not-ignored UTF-8 text files."""
    names = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    tree: dict[str, str] = {}
    for name in sorted(set(names.decode("utf-8", "replace").split("\0")) - {""}):
        path = repo / name
        if path.is_symlink() or not path.is_file():
            continue
        try:
            tree[name] = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue
    return tree


def changed_paths(repo: Path, base: str, head: str | None) -> list[str]:
    """Paths that differ between ``base`` and ``head`` (or the working tree when ``None``)."""
    args = ["diff", "--name-only", "-z", "--no-renames", base]
    if head is not None:
        args.append(head)
    names = set(git(repo, *args).decode("utf-8", "replace").split("\0"))
    if head is None:
        names |= set(
            git(repo, "ls-files", "-z", "--others", "--exclude-standard")
            .decode("utf-8", "replace")
            .split("\0")
        )
    return sorted(names - {""})


def materialise(tree: Mapping[str, str], root: Path) -> None:
    """Write ``{path: text}`` below ``root`` as regular files; refuses paths escaping it."""
    base = root.resolve()
    for name, text in tree.items():
        target = (base / name).resolve()
        if base not in target.parents:
            raise RenderError(f"refusing path outside the tree: {name!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
