#!/usr/bin/env python3
"""Run redis-py's own test suite against a server, one fresh server per test file.

    bench/redis_py_suite.py [--server redis|kv|both] [--kv-bin PATH] [--files F ...]

Steps:
  1. A venv (--venv, default /tmp/redis-py-venv; created if missing, reused if not)
     gets `redis>=8,<9` (--redis-spec) from PyPI, plus what the tests import at run
     time: pytest, pytest-asyncio>=0.24 (as in redis-py's dev_requirements.txt),
     pytest-timeout, packaging, mock. hiredis is NOT installed, so the library's
     pure-Python parser is what is tested (the hiredis-only tests skip). The
     installed redis version is printed. --no-install skips pip (offline reruns).
  2. redis-py's tests/ for exactly that version. Source (--source, default auto):
       sdist: `pip download --no-binary :all: --no-deps redis==X` from PyPI. The
              sdist carries tests/ (checked: 8.2.0 does) and pyproject.toml, whose
              [tool.pytest.ini_options] (asyncio_mode=auto, markers, timeout) the
              run needs. This is the default: it needs nothing but PyPI.
       git:   `git --git-dir=DIR archive <tag> tests pyproject.toml | tar -x`, tag
              vX (or X), from a clone (--git-dir; default the search-tool mirror
              /work/.mirror/redis+redis-py/repo when it exists). Used by auto only
              when the sdist cannot be had or has no tests/.
     --tests-dir DIR uses an extracted tests/ instead (its parent's pyproject.toml
     is used when there is one). Whatever the source, tests/ and pyproject.toml are
     copied to a staging dir holding no redis/ package, so `import redis` is the
     venv's installed release, never a source tree next to the tests.
  3. For each file (default list below; a default file absent at the tag is left
     out and said so), for each server: start a fresh server on a free loopback
     port, run
         python -m pytest tests/FILE --redis-url=redis://127.0.0.1:P/0
             --redis-mod-url=redis://127.0.0.1:P/0 -m "not onlycluster and ..."
             --timeout=30 --junit-xml=...
     with an overall limit per file (--file-timeout; on expiry pytest gets SIGINT,
     so it still writes its junit report, then SIGKILL), then stop the server.
  4. Counts come from the junit report, one per test: a test with a <failure> is
     failed, else one with an <error> (setup/teardown error) is an error, else
     <skipped> (xfail included) is skipped, else passed. pytest's own summary line
     counts a teardown error on top of the test's pass/fail, so its numbers can
     differ by that; it is kept in summary.*.json.

conftest.py handling (redis-py 8.x):
  - --protocol is not passed: conftest's default "" means "the library default",
    which is RESP3 in 8.x (redis.utils.DEFAULT_RESP_VERSION = 3); a server that
    answers HELLO 3 with NOPROTO is retried in RESP2 by the client itself.
  - --redis-mod-url defaults to localhost:6479; it is pointed at the server under
    test, so "modules" is empty/absent and module-version-gated tests skip
    instead of probing whatever listens on 6479.
  - Marker deselection (-m), as upstream's `invoke standalone-tests` does for
    onlycluster/multidb_integration, plus what needs infrastructure not run here:
    redismod (redis-stack modules), replica (a replica on port 6380), ssl (TLS on
    6666), cp_integration (credential providers), multidb_integration. Upstream
    runs fixed_client tests in a separate invocation without --redis-url; here
    they run in the same one (they build their own clients or mocks).
  - Version gates (skip_if_server_version_lt) read INFO from the server at
    session start, so redis-server 7.0.15 skips tests for newer commands; a
    server reporting a lower/higher redis_version gets a different test set.
  - Tests that hard-code localhost:6379 need a server there; none is started,
    so they fail for every server alike; TestPubSubRedisDown expects nothing on
    6390, and replica tests use 6380. A warning is printed when any of these
    ports is busy (other processes on the machine make those tests differ).
  - conftest's pytest_sessionstart reads INFO's redis_version, arch_bits and
    cluster_enabled and fails the whole session (INTERNALERROR, exit 3) on a
    missing one: no test runs. That is recorded as the server's result
    ("session start failed: KeyError: ..."; every test redis-server passes is
    "not-run" in the failures file), not as a harness error. --info-shim loads a
    small plugin (written into the staging dir) that fills in only the missing
    ones (cluster_enabled 0, arch_bits 64, redis_version --shim-version) and
    logs it, so the rest of the suite can measure such a server; cells say
    "(INFO shim)" when it had to.
  - The environment variables that point conftest at Redis Enterprise
    (RE_CLUSTER, REDIS_ENDPOINTS_CONFIG_PATH, RE_DB_NAME) are removed.

Servers:
  redis: /usr/bin/redis-server --port P --bind 127.0.0.1 --save "" --appendonly no
         --enable-debug-command yes --enable-module-command yes (as upstream's
         docker-compose runs it).
  kv:    KV_BIN --listen 127.0.0.1:P (or --port P if its --help has no --listen),
         plus --kv-arg ARG... .

Output: a markdown table (stdout and RESULTS_DIR/summary.TAG.md, TAG being
--server's value, plus ".info-shim" with --info-shim), RESULTS_DIR/
summary.TAG.json, and for kv RESULTS_DIR/
<file>.kv_failures.txt: each test that redis-server passes and kv does not, with
kv's outcome and the first line of its message. kv is compared with the
redis-server report of the same run, or else with one an earlier run left in
--work-dir for the same redis-py version (a note says so). Logs and junit
reports stay in --work-dir (default /tmp/redis-py-suite/work/VERSION/SERVER/).

Exit status: 0; 2 on a harness error (setup, a server that does not start,
pytest usage/collection errors, a missing report, redis-server's session
failing); 1 when --min-ratio R is given and kv passes less than R of the tests
redis-server passes (all files together). Failing tests alone never fail it.

Examples:
    nice -n 10 bench/redis_py_suite.py --server redis
    nice -n 10 bench/redis_py_suite.py --server both --info-shim
    bench/redis_py_suite.py --server kv --kv-bin target/release/examples/kv \\
        --files test_pubsub.py --min-ratio 0.9
"""
import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = [
    "test_connection.py",
    "test_connection_pool.py",
    "test_encoding.py",
    "test_pubsub.py",
    "test_monitor.py",
    "test_keyspace_notifications.py",
    "test_pipeline.py",
    "test_commands.py",
]
TEST_DEPS = ["pytest", "pytest-asyncio>=0.24.0", "pytest-timeout", "packaging", "mock"]
DESELECT = ["onlycluster", "redismod", "replica", "ssl", "cp_integration", "multidb_integration"]
MIRROR = Path("/work/.mirror/redis+redis-py/repo")
ENTERPRISE_ENV = ("RE_CLUSTER", "REDIS_ENDPOINTS_CONFIG_PATH", "RE_DB_NAME")


class HarnessError(Exception):
    pass


def log(msg):
    print(f"[redis_py_suite] {msg}", file=sys.stderr, flush=True)


def run(cmd, timeout, **kw):
    log("$ " + " ".join(str(c) for c in cmd))
    try:
        p = subprocess.run([str(c) for c in cmd], timeout=timeout, text=True,
                           capture_output=True, **kw)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"timed out after {timeout}s: {cmd[0]} ...")
    if p.returncode != 0:
        raise HarnessError(f"exit {p.returncode}: {' '.join(map(str, cmd))}\n"
                           f"{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return p.stdout


# ---------------------------------------------------------------- venv, tests

def setup_venv(args):
    venv = Path(args.venv)
    py = venv / "bin" / "python"
    if not py.exists():
        run([sys.executable, "-m", "venv", venv], timeout=300)
    if not args.no_install:
        run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-U",
             args.redis_spec, *TEST_DEPS], timeout=900)
    out = run([py, "-c", "import importlib.metadata as m\n"
               "for d in ('redis','pytest','pytest-asyncio','pytest-timeout'):"
               " print(d, m.version(d))"], timeout=60)
    versions = dict(line.split() for line in out.splitlines())
    return py, versions


def fresh_dir(path):
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def extract_sdist(py, version, cache):
    dl = cache / "sdist"
    dl.mkdir(parents=True, exist_ok=True)
    name = f"redis-{version}.tar.gz"
    if not (dl / name).exists():
        run([py, "-m", "pip", "download", "-q", "--disable-pip-version-check",
             "--no-binary", ":all:", "--no-deps", f"redis=={version}", "-d", dl],
            timeout=600)
    path = dl / name
    if not path.exists():
        raise HarnessError(f"pip download left no {name} in {dl}")
    out = fresh_dir(cache / "sdist-stage")
    prefix = f"redis-{version}/"
    with tarfile.open(path) as tf:
        members = [m for m in tf.getmembers()
                   if m.name.startswith(prefix + "tests/") or m.name == prefix + "pyproject.toml"]
        if not any(m.name.startswith(prefix + "tests/test_") for m in members):
            raise HarnessError(f"{name} holds no tests/")
        for m in members:
            m.name = m.name[len(prefix):]
        tf.extractall(out, members=members, filter="data") if hasattr(tarfile, "data_filter") \
            else tf.extractall(out, members=members)
    return out, f"sdist {name} from PyPI"


def extract_git(git_dir, version, cache):
    tags = set(run(["git", f"--git-dir={git_dir}", "tag", "-l"], timeout=60).split())
    tag = next((t for t in (f"v{version}", version) if t in tags), None)
    if tag is None:
        raise HarnessError(f"no tag v{version} or {version} in {git_dir}")
    out = fresh_dir(cache / f"git-stage-{tag}")
    listing = run(["git", f"--git-dir={git_dir}", "ls-tree", "--name-only", tag], timeout=60).split()
    paths = ["tests"] + (["pyproject.toml"] if "pyproject.toml" in listing else [])
    archive = subprocess.run(["git", f"--git-dir={git_dir}", "archive", tag, *paths],
                             capture_output=True, timeout=300)
    if archive.returncode != 0:
        raise HarnessError(f"git archive {tag} failed: {archive.stderr.decode()[-500:]}")
    subprocess.run(["tar", "-x", "-C", out], input=archive.stdout, check=True, timeout=300)
    return out, f"git tag {tag} of {git_dir}"


def get_tests(args, py, version):
    """A staging dir holding tests/ (and pyproject.toml) and no redis/ package."""
    cache = Path(args.cache_dir) / version
    cache.mkdir(parents=True, exist_ok=True)
    if args.tests_dir:
        src = Path(args.tests_dir).resolve()
        if not (src / "conftest.py").exists():
            raise HarnessError(f"{src} has no conftest.py: not redis-py's tests/ dir")
        stage = fresh_dir(cache / ("given-" + hashlib.sha1(str(src).encode()).hexdigest()[:12]))
        shutil.copytree(src, stage / "tests", ignore=shutil.ignore_patterns("__pycache__"))
        if (src.parent / "pyproject.toml").exists():
            shutil.copy(src.parent / "pyproject.toml", stage / "pyproject.toml")
        return stage, f"--tests-dir {src}"
    git_dir = Path(args.git_dir) if args.git_dir else (MIRROR if MIRROR.exists() else None)
    errors = []
    if args.source in ("auto", "sdist"):
        try:
            return extract_sdist(py, version, cache)
        except HarnessError as e:
            errors.append(f"sdist: {e}")
    if args.source in ("auto", "git"):
        if git_dir is None:
            errors.append("git: no --git-dir given and no mirror")
        else:
            try:
                return extract_git(git_dir, version, cache)
            except (HarnessError, subprocess.SubprocessError) as e:
                errors.append(f"git: {e}")
    raise HarnessError("could not get redis-py's tests:\n  " + "\n  ".join(errors))


# ---------------------------------------------------------------- servers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_busy(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class Server:
    def __init__(self, kind, args, logpath):
        self.kind, self.args, self.logpath = kind, args, logpath
        self.proc = None
        self.port = None

    def command(self, port):
        if self.kind == "redis":
            return [self.args.redis_bin, "--port", str(port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no",
                    "--enable-debug-command", "yes", "--enable-module-command", "yes"]
        flag = ["--listen", f"127.0.0.1:{port}"] if self.args.kv_listen else ["--port", str(port)]
        return [self.args.kv_bin, *flag, *self.args.kv_arg]

    def start(self):
        for attempt in range(3):
            port = free_port()
            cmd = self.command(port)
            logf = open(self.logpath, "ab")
            logf.write(("$ " + " ".join(cmd) + "\n").encode())
            logf.flush()
            # Its own session, so a terminal's Ctrl-C reaches the harness only.
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.logpath.parent,
                                         start_new_session=True)
            logf.close()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self.proc.poll() is None:
                if ping(port):
                    self.port = port
                    return port
                time.sleep(0.05)
            self.stop()
        raise HarnessError(f"{self.kind} server did not answer PING; see {self.logpath}")

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


# ---------------------------------------------------------------- pytest

SHIM_MODULE = "_redis_py_suite_info_shim"
SHIM_SOURCE = '''"""Written by bench/redis_py_suite.py for --info-shim: fills in the INFO fields
that redis-py's conftest.py reads at session start (redis_version, arch_bits,
cluster_enabled) when a server leaves them out, and says so. Nothing else."""
import sys

import pytest

DEFAULTS = %r


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    for name, mod in list(sys.modules.items()):
        if name.endswith("conftest") and hasattr(mod, "_get_info") and not hasattr(mod, "_shimmed"):
            orig = mod._get_info

            def _get_info(url, orig=orig):
                info = orig(url)
                added = {k: v for k, v in DEFAULTS.items() if k not in info}
                info.update(added)
                if added:
                    print(f"[info-shim] INFO lacked {sorted(added)}; used {added}", flush=True)
                return info

            mod._get_info = _get_info
            mod._shimmed = True
'''

def clean_env():
    env = {k: v for k, v in os.environ.items() if k not in ENTERPRISE_ENV}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTEST_ADDOPTS", None)
    return env


def pytest_cmd(py, test_file, port, junit, args):
    url = f"redis://127.0.0.1:{port}/0"
    return [str(py), "-m", "pytest", f"tests/{test_file}",
            f"--redis-url={url}", f"--redis-mod-url={url}",
            "-m", " and ".join(f"not {m}" for m in DESELECT),
            f"--timeout={args.test_timeout}", f"--junit-xml={junit}",
            "-o", "junit_logging=no", "-p", "no:cacheprovider", "-q", "-rN",
            *(["-p", SHIM_MODULE] if args.info_shim else []), *args.pytest_arg]


def run_pytest(cmd, cwd, logpath, file_timeout):
    """Returns (exit code, timed_out)."""
    with open(logpath, "w") as logf:
        logf.write("$ " + shlex.join(cmd) + f"\n(cwd {cwd})\n")
        logf.flush()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=logf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=clean_env(), start_new_session=True)
        try:
            return p.wait(timeout=file_timeout), False
        except BaseException as e:
            if not isinstance(e, subprocess.TimeoutExpired):
                # The harness is being stopped: so is pytest (its own session).
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                raise
            # SIGINT: pytest stops, and still writes the junit report.
            os.killpg(p.pid, signal.SIGINT)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            return p.returncode, True


def first_line(text):
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:300]
    return ""


RANK = {"passed": 0, "skipped": 1, "error": 2, "failed": 3}


def parse_junit(path):
    """{test id: (outcome, first line of message)}, one entry per test: pytest
    writes a second <testcase> of the same name for a teardown error, and the
    worse of the two outcomes is kept (failed > error > skipped > passed)."""
    results = {}
    root = ET.parse(path).getroot()
    for tc in root.iter("testcase"):
        tid = f"{tc.get('classname', '')}::{tc.get('name', '')}"
        kids = {c.tag: c for c in tc}
        if "failure" in kids:
            el, outcome = kids["failure"], "failed"
        elif "error" in kids:
            el, outcome = kids["error"], "error"
        elif "skipped" in kids:
            el, outcome = kids["skipped"], "skipped"
        else:
            el, outcome = None, "passed"
        msg = "" if el is None else first_line(el.get("message") or el.text)
        if tid not in results or RANK[outcome] > RANK[results[tid][0]]:
            results[tid] = (outcome, msg)
    return results


def counts(results):
    c = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for outcome, _ in results.values():
        c[outcome] += 1
    return c


def summary_line(logpath):
    try:
        lines = Path(logpath).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        s = line.strip("= ").strip()
        if re.search(r"\b(passed|failed|error|errors|skipped|deselected|no tests ran)\b", s) and " in " in s:
            return s
    return ""


def run_file(kind, test_file, args, py, stage, work):
    d = work / kind
    d.mkdir(parents=True, exist_ok=True)
    stem = test_file[:-3] if test_file.endswith(".py") else test_file
    junit, log_path = d / f"{stem}.xml", d / f"{stem}.log"
    srv_log = d / f"{stem}.server.log"
    for p in (junit, srv_log):
        p.unlink(missing_ok=True)
    server = Server(kind, args, srv_log)
    port = server.start()
    t0 = time.monotonic()
    try:
        cmd = pytest_cmd(py, test_file, port, junit, args)
        code, timed_out = run_pytest(cmd, stage, log_path, args.file_timeout)
    finally:
        server.stop()
    secs = time.monotonic() - t0
    rec = {"exit": code, "timed_out": timed_out, "secs": round(secs, 1),
           "pytest_summary": summary_line(log_path), "log": str(log_path),
           "cmd": shlex.join(cmd)}
    text = log_path.read_text(errors="replace")
    shim = sorted(set(re.findall(r"^\[info-shim\] (.*)$", text, re.M)))
    if shim:
        rec["info_shim"] = shim
    internal = [l for l in text.splitlines() if l.startswith("INTERNALERROR>")]
    if junit.exists():
        try:
            rec["results"] = parse_junit(junit)
        except ET.ParseError as e:
            rec["error"] = f"unreadable junit report {junit}: {e}"
    if timed_out:
        rec["status"] = "timeout"
    elif code == 3 and internal:
        # e.g. conftest's pytest_sessionstart failing on what the server's INFO says
        last = next((l for l in reversed(internal) if re.search(r"\w+(Error|Exception)\b", l)),
                    internal[-1])
        rec["status"] = "session-error"
        rec["error"] = last[len("INTERNALERROR>"):].strip()
        rec["results"] = {}
    elif code in (0, 1) and "results" in rec:
        rec["status"] = "ok"
    else:
        rec["status"] = "harness-error"
        what = {2: "interrupted or collection errors", 3: "internal error",
                4: "usage error", 5: "no tests collected"}.get(code, "")
        rec.setdefault("error", f"pytest exit {code} {what}; see {log_path}")
    if "results" in rec:
        rec["counts"] = counts(rec["results"])
        m = re.search(r"(\d+) deselected", rec["pytest_summary"])
        rec["counts"]["deselected"] = int(m.group(1)) if m else 0
    log(f"{kind:5} {test_file}: {rec['status']} {rec.get('counts', '')} in {secs:.0f}s"
        f"  [{rec['pytest_summary'] or rec.get('error', '')}]")
    return rec


# ---------------------------------------------------------------- report

def compare(ref, kv, why_missing):
    """(tests redis passes, of those kv passes, [(id, kv outcome, msg)])"""
    passed = sorted(t for t, (o, _) in ref.items() if o == "passed")
    lost = []
    for t in passed:
        o, msg = kv.get(t, ("not-run", why_missing))
        if o != "passed":
            lost.append((t, o, msg))
    return len(passed), len(passed) - len(lost), lost


def cell(rec):
    if rec is None:
        return "—"
    if rec.get("status") == "session-error":
        return f"session start failed: {rec['error']}"
    if "counts" not in rec:
        return "harness error"
    c = rec["counts"]
    s = f"{c['passed']} / {c['failed']} / {c['error']} / {c['skipped']}"
    if c.get("deselected"):
        s += f" ({c['deselected']} deselected)"
    if rec.get("status") == "timeout":
        s += " (file timed out)"
    elif rec.get("status") == "harness-error":
        s += " (harness error)"
    if rec.get("info_shim"):
        s += " (INFO shim)"
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", choices=["redis", "kv", "both"], default="both")
    ap.add_argument("--redis-bin", default="/usr/bin/redis-server")
    ap.add_argument("--kv-bin", default=str(ROOT / "target/release/examples/kv"))
    ap.add_argument("--kv-arg", action="append", default=[],
                    help="extra argument for kv (repeatable; --kv-arg=--threads)")
    ap.add_argument("--pytest-arg", action="append", default=[],
                    help="extra pytest argument (repeatable; --pytest-arg=--tb=short)")
    ap.add_argument("--files", nargs="+",
                    help="test files under tests/ (default: " + " ".join(DEFAULT_FILES) + ")")
    ap.add_argument("--venv", default="/tmp/redis-py-venv")
    ap.add_argument("--redis-spec", default="redis>=8,<9", help="pip requirement for redis-py")
    ap.add_argument("--no-install", action="store_true", help="use the venv as it is")
    ap.add_argument("--source", choices=["auto", "sdist", "git"], default="auto")
    ap.add_argument("--git-dir", help=f"redis-py git dir (default {MIRROR} if present)")
    ap.add_argument("--tests-dir", help="an extracted redis-py tests/ dir")
    ap.add_argument("--cache-dir", default="/tmp/redis-py-suite/cache")
    ap.add_argument("--work-dir", default="/tmp/redis-py-suite/work",
                    help="junit reports and logs (per redis-py version and server)")
    ap.add_argument("--results-dir", default=str(ROOT / "bench/results/redis_py"))
    ap.add_argument("--test-timeout", type=int, default=30, help="pytest-timeout, per test")
    ap.add_argument("--file-timeout", type=int, default=900, help="seconds per file and server")
    ap.add_argument("--info-shim", action="store_true",
                    help="fill in INFO fields conftest.py needs at session start "
                         "(cluster_enabled, arch_bits, redis_version) when a server lacks them")
    ap.add_argument("--shim-version", default="7.0.15",
                    help="redis_version the shim reports when INFO has none (default %(default)s)")
    ap.add_argument("--min-ratio", type=float,
                    help="exit 1 if kv passes less than this share of what redis passes")
    args = ap.parse_args()
    explicit_files = args.files is not None
    files = args.files or DEFAULT_FILES
    files = [f if f.endswith(".py") else f + ".py" for f in files]
    files = [f[len("tests/"):] if f.startswith("tests/") else f for f in files]
    kinds = ["redis", "kv"] if args.server == "both" else [args.server]

    try:
        if "redis" in kinds and not os.access(args.redis_bin, os.X_OK):
            raise HarnessError(f"no redis-server at {args.redis_bin}")
        if "kv" in kinds:
            if not os.access(args.kv_bin, os.X_OK):
                raise HarnessError(f"no kv binary at {args.kv_bin} (build it: cargo build --release --example kv)")
            h = subprocess.run([args.kv_bin, "--help"], capture_output=True, text=True, timeout=10)
            args.kv_listen = "--listen" in (h.stdout + h.stderr)
        py, versions = setup_venv(args)
        version = versions["redis"]
        print(f"redis-py {version} (pytest {versions['pytest']}, pytest-asyncio "
              f"{versions['pytest-asyncio']}, pytest-timeout {versions['pytest-timeout']})", flush=True)
        stage, source = get_tests(args, py, version)
        print(f"tests from {source}, staged at {stage}", flush=True)
        where = run([py, "-c", "import redis; print(redis.__file__)"], timeout=60, cwd=stage).strip()
        if not where.startswith(str(Path(args.venv).resolve())) and not where.startswith(args.venv):
            raise HarnessError(f"`import redis` in {stage} finds {where}, not the venv's")
        if args.info_shim:
            defaults = {"redis_version": args.shim_version, "arch_bits": 64, "cluster_enabled": 0}
            (stage / f"{SHIM_MODULE}.py").write_text(SHIM_SOURCE % (defaults,))
        present = []
        for f in files:
            if (stage / "tests" / f).exists():
                present.append(f)
            elif explicit_files:
                raise HarnessError(f"tests/{f} does not exist in redis-py {version}")
            else:
                print(f"note: tests/{f} does not exist in redis-py {version}; left out")
        # Ports some tests hard-code: 6379 (a server expected there), 6380 (a
        # replica), 6390 (expected to have nothing listening).
        busy = [p for p in (6379, 6380, 6390) if port_busy(p)]
        if busy:
            print(f"warning: something listens on 127.0.0.1 port(s) {busy}; tests that "
                  "hard-code these ports will not behave as they do on a clean machine")
    except HarnessError as e:
        log(f"harness error: {e}")
        return 2

    servers = {}
    for kind in kinds:
        b = Path(args.redis_bin if kind == "redis" else args.kv_bin)
        servers[kind] = {"bin": str(b), "sha256": hashlib.sha256(b.read_bytes()).hexdigest()[:16],
                         "mtime": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(b.stat().st_mtime))}
    print("servers: " + ", ".join(f"{k} {v['bin']} (sha256 {v['sha256']}, {v['mtime']})"
                                  for k, v in servers.items()), flush=True)
    work = Path(args.work_dir) / version
    results_dir = Path(args.results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    table, harness_errors, summary = {}, [], {}
    for f in present:
        table[f] = {}
        for kind in kinds:
            try:
                rec = run_file(kind, f, args, py, stage, work)
            except HarnessError as e:
                log(f"harness error: {e}")
                rec = {"status": "harness-error", "error": str(e)}
            # A session that kv's answers break is kv's result; redis-server's is
            # the reference, so there it is the harness's problem.
            if rec["status"] == "harness-error" or (kind == "redis" and rec["status"] == "session-error"):
                harness_errors.append(f"{kind} {f}: {rec['status']}: {rec.get('error')}")
            table[f][kind] = rec

    # kv against redis-server: this run's report, or one an earlier run left.
    total_ref = total_kv = 0
    notes = []
    for f in present:
        kvrec = table[f].get("kv")
        if not kvrec or "results" not in kvrec:
            continue
        ref = table[f].get("redis")
        if ref is None or "results" not in ref:
            junit = work / "redis" / (f[:-3] + ".xml")
            if junit.exists():
                ref = {"results": parse_junit(junit)}
                notes.append(f"{f}: redis-server baseline from an earlier run ({junit})")
            else:
                notes.append(f"{f}: no redis-server report to compare with")
                continue
        why = ("session start failed: " + kvrec["error"]) if kvrec["status"] == "session-error" \
            else ("file timed out first" if kvrec["status"] == "timeout" else "not in kv's report")
        y, x, lost = compare(ref["results"], kvrec["results"], why)
        kvrec["vs_redis"] = (x, y)
        total_ref += y
        total_kv += x
        out = results_dir / f"{f}.kv_failures.txt"
        with open(out, "w") as fh:
            fh.write(f"# redis-py {version} tests/{f}: {len(lost)} tests redis-server passes "
                     f"and kv does not (kv passes {x} of {y})\n")
            for t, o, msg in lost:
                fh.write(f"{t}\t{o}\t{msg}\n")

    lines = [f"redis-py {version}, tests from {source}; cells are passed / failed / errors / skipped",
             "", "| file | " + " | ".join(("redis-server" if k == "redis" else "kv") for k in kinds)
             + (" | kv passes of redis's passes |" if "kv" in kinds else " |"),
             "|---|" + "---|" * len(kinds) + ("---|" if "kv" in kinds else "")]
    for f in present:
        row = [f] + [cell(table[f].get(k)) for k in kinds]
        if "kv" in kinds:
            vs = (table[f].get("kv") or {}).get("vs_redis")
            row.append(f"{vs[0]} of {vs[1]}" if vs else "—")
        lines.append("| " + " | ".join(row) + " |")
    if "kv" in kinds and total_ref:
        lines.append(f"| **all** |" + " |" * len(kinds)
                     + f" {total_kv} of {total_ref} ({100 * total_kv / total_ref:.1f} %) |")
    lines += [""] + [f"note: {n}" for n in notes]
    text = "\n".join(lines).rstrip() + "\n"
    print()
    print(text)
    tag = args.server + (".info-shim" if args.info_shim else "")
    (results_dir / f"summary.{tag}.md").write_text(text)
    for f in present:
        summary[f] = {k: {key: v for key, v in rec.items() if key != "results"}
                      for k, rec in table[f].items()}
    (results_dir / f"summary.{tag}.json").write_text(
        json.dumps({"redis_py": version, "source": source, "deselected_markers": DESELECT,
                    "servers": servers, "files": summary}, indent=1) + "\n")

    if harness_errors:
        log("harness errors:\n  " + "\n  ".join(harness_errors))
        return 2
    if args.min_ratio is not None and "kv" in kinds:
        ratio = total_kv / total_ref if total_ref else 0.0
        if ratio < args.min_ratio:
            log(f"kv passes {ratio:.3f} of redis-server's passes, below --min-ratio {args.min_ratio}")
            return 1
    return 0


def on_sigterm(signum, frame):
    # Unwind through the finally blocks that stop the server and pytest.
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("stopped")
        sys.exit(130)
