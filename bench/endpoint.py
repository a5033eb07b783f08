"""The HTTP endpoint under load: `trainflow models serve prod` against the model in-process.

A model trained by `dvc repro` on the regression benchmark's houses table
(examples/regression.yaml) is registered twice (v0.1.0, then v0.2.0 with another seed) and
v0.1.0 promoted to prod. `trainflow models serve prod` serves it on 127.0.0.1;
BENCH_ENDPOINT_CLIENTS client threads (4), each on a keep-alive connection, post requests of
32 raw rows (TF Serving's `{"instances": [...]}`) for BENCH_ENDPOINT_SECONDS (10) in a
bounded, closed loop (a client sends its next request when the last is answered). The
baseline, in the same run, calls the same version's serving signature in this process on the
same 32 rows turned into its inputs as the endpoint turns them
(`flows.serving.instances.model_inputs`), one call after another: what a request costs
without HTTP, JSON and the server's threads.

Figures: in-process calls/s / endpoint requests/s, and the endpoint's p50 and p99 latency /
the in-process call's (reference figures: the price of serving over HTTP); then the same load
while `trainflow models promote v0.2.0` moves prod and the endpoint swaps to it: failed
requests (goal 0), with both versions seen answering.
"""

from __future__ import annotations

import http.client
import json
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bench.common import BIN, base_env, env_int, figure, repeats, say
from bench.regression import houses, workspace

ROWS_PER_REQUEST = 32
IDENTITY = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
REGISTER = (
    "from tasks.common.params import load_params; "
    "from flows.registry.register import register; print(register(load_params()).version)"
)


def command(repo: Path, *args: str) -> str:
    """A command's stdout; its stderr's end in the error when it fails."""
    done = subprocess.run(args, cwd=repo, env=base_env(**IDENTITY), capture_output=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)[:200]}: {done.stderr.decode()[-2000:]}")
    return done.stdout.decode()


def trainflow(repo: Path, *args: str) -> str:
    return command(repo, str(BIN / "trainflow"), *args)


def register(repo: Path) -> str:
    return command(repo, str(BIN / "python"), "-c", REGISTER).split()[-1]


def two_versions(root: Path) -> Path:
    """A workspace with v0.1.0 in prod and v0.2.0 registered beside it."""
    from tasks.common.params import write_overrides

    houses().to_parquet(root / "houses.parquet", index=False)
    overrides = [f"data.source={root / 'houses.parquet'}", "data.target=price"]
    overrides += ["train.epochs=5", "register.artifact=houses", "evaluate.gate.min_r2=-1000"]
    overrides += ["evaluate.compare_champion=false"]
    repo = workspace(root / "repo", overrides)
    command(repo, str(BIN / "dvc"), "repro")
    assert register(repo) == "v0.1.0"
    trainflow(repo, "models", "promote", "v0.1.0")
    write_overrides(repo / "params.yaml", ["train.seed=7"])
    command(repo, str(BIN / "dvc"), "repro")
    assert register(repo) == "v0.2.0"
    return repo


def request_rows() -> list[dict]:
    """32 raw rows as a client sends them: JSON objects, missing values as null."""
    rows = houses(ROWS_PER_REQUEST, seed=3).drop(columns="price")
    return json.loads(rows.to_json(orient="records"))


def in_process(repo: Path, rows: list[dict], seconds: float) -> list[float]:
    """Latencies of calling v0.1.0's serving signature on `rows`, back to back."""
    from flows.serving.instances import model_inputs
    from flows.serving.served import load_version
    from tasks.common.params import load_params

    with tempfile.TemporaryDirectory() as into:
        served = load_version(repo, load_params(repo / "params.yaml"), "v0.1.0", Path(into))
        body = {"instances": rows}
        served.predict(model_inputs(body, served.signature))  # warm-up (tracing)
        latencies, stop = [], time.perf_counter() + seconds
        while time.perf_counter() < stop:
            started = time.perf_counter()
            served.predict(model_inputs(body, served.signature))
            latencies.append(time.perf_counter() - started)
    return latencies


class Load:
    """`clients` threads posting `body` until stopped: latencies, versions, failures."""

    def __init__(self, port: int, body: bytes, clients: int) -> None:
        self.port, self.body = port, body
        self.latencies: list[float] = []
        self.versions: set[str] = set()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client) for _ in range(clients)]

    def _client(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                connection.request("POST", "/v1/models/houses:predict", self.body, headers)
                answer = connection.getresponse()
                payload = answer.read()
            except (OSError, http.client.HTTPException) as err:
                self.failures.append(repr(err))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                continue
            if answer.status != 200:
                self.failures.append(f"{answer.status}: {payload[:200]!r}")
                continue
            self.latencies.append(time.perf_counter() - started)
            self.versions.add(answer.getheader("X-Model-Version"))
        connection.close()

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def serving_version(port: int) -> str | None:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/v1/models/houses")
        return json.loads(connection.getresponse().read())["registry"]["version"]
    except (OSError, ValueError, KeyError):
        return None


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.2)
    raise RuntimeError(f"endpoint bench: timed out waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> dict:
    seconds = env_int("BENCH_ENDPOINT_SECONDS", 10)
    clients = env_int("BENCH_ENDPOINT_CLIENTS", 4)
    rows = request_rows()
    body = json.dumps({"instances": rows}).encode()
    with tempfile.TemporaryDirectory(prefix="bench-endpoint-") as name:
        repo = two_versions(Path(name))
        port = free_port()
        command = [str(BIN / "trainflow"), "models", "serve", "prod", "--port", str(port)]
        server = subprocess.Popen(
            [*command, "--poll", "0.5"],
            cwd=repo,
            env=base_env(**IDENTITY),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(lambda: serving_version(port), 120, "the endpoint to answer")
            rates, p50s, p99s = [], [], []
            detail: dict = {"clients": clients, "rows_per_request": ROWS_PER_REQUEST}
            detail |= {"seconds": seconds, "requests_per_s": [], "calls_per_s": []}
            for turn in range(repeats()):
                direct = in_process(repo, rows, seconds)
                with Load(port, body, clients) as load:
                    time.sleep(seconds)
                if load.failures:
                    raise RuntimeError(f"endpoint bench: failed requests {load.failures[:3]}")
                calls, requests = len(direct) / seconds, len(load.latencies) / seconds
                rates.append(calls / requests)
                p50s.append(statistics.median(load.latencies) / statistics.median(direct))
                p99s.append(percentile(load.latencies, 0.99) / percentile(direct, 0.99))
                detail["requests_per_s"].append(round(requests, 1))
                detail["calls_per_s"].append(round(calls, 1))
                say("endpoint", f"round {turn + 1}: {requests:.0f} requests/s", seconds)
                print(f"endpoint: in-process {calls:.0f} calls/s", flush=True)
            detail["p50_ms"] = round(1000 * statistics.median(load.latencies), 2)
            detail["p99_ms"] = round(1000 * percentile(load.latencies, 0.99), 2)
            with Load(port, body, clients) as swapping:
                time.sleep(1)
                trainflow(repo, "models", "promote", "v0.2.0")
                wait_for(lambda: "v0.2.0" in swapping.versions, 120, "an answer by v0.2.0")
                time.sleep(1)
            swap = {"versions": sorted(swapping.versions), "failures": swapping.failures[:5]}
            swap["requests"] = len(swapping.latencies)
        finally:
            server.terminate()
            server.wait(30)
    return {
        "name": "endpoint",
        "figures": [
            figure("in-process calls/s / endpoint requests/s", rates, None, detail),
            figure("endpoint p50 latency / in-process call", p50s, None),
            figure("endpoint p99 latency / in-process call", p99s, None),
            figure("failed requests while prod swaps version", [len(swapping.failures)], 0, swap),
        ],
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
