"""The tracker on a 3-node Redis Cluster that the test starts on loopback ports."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from redis.cluster import RedisCluster

from tests.tracker.helpers import (
    BROWSER_UA,
    RedisServer,
    asgi_client,
    delete_prefix,
    link,
    publish,
    read_events,
)
from tracker import keys
from tracker.events import KIND_CLICK, KIND_ORPHAN
from tracker.settings import RedisSettings, TrackerSettings

pytestmark = pytest.mark.anyio


def _port_pair_free(port: int) -> bool:
    """The port and its cluster bus port (+10000) are both free."""
    for p in (port, port + 10000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                return False
    return True


def _cluster_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        port = random.randint(20000, 29999)
        if port not in ports and _port_pair_free(port):
            ports.append(port)
    return ports


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.skip("redis-cli is not installed: cannot create a Redis Cluster")
    options = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
    nodes = [
        RedisServer(str(tmp_path / f"node{i}"), port, *options)
        for i, port in enumerate(_cluster_ports(3))
    ]
    try:
        for node in nodes:
            node.start()
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in nodes),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=30,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while True:
            infos = [
                subprocess.run(
                    [cli, "-p", str(n.port), "cluster", "info"], capture_output=True, text=True
                ).stdout
                for n in nodes
            ]
            if all("cluster_state:ok" in info for info in infos):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not become ready")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{nodes[0].port}/0"
    finally:
        for node in nodes:
            node.stop()


async def test_redirects_and_events_on_a_cluster(
    cluster: str, make_settings: Callable[..., TrackerSettings], prefix: str
) -> None:
    client = RedisCluster.from_url(cluster)
    codes = [f"code{i}" for i in range(12)]  # link keys spread over the slots of all nodes
    slots = {client.keyslot(keys.link(prefix, code)) for code in codes}
    assert len({client.get_node_from_key(keys.link(prefix, c)).name for c in codes}) > 1
    assert len(slots) > 1
    for i, code in enumerate(codes):
        publish(client, prefix, link(code, link_id=100 + i))
    settings = make_settings(
        redis=RedisSettings(url="", cluster_url=cluster, prefix=prefix), batch_size=5
    )
    vclids = []
    try:
        async with asgi_client(settings) as (app, http):
            for round_ in range(3):
                for code in codes:
                    response = await http.get(
                        f"/c/{code}", headers={"user-agent": f"{BROWSER_UA} {round_}"}
                    )
                    assert response.status_code == 302
                    query = urlsplit(response.headers["location"]).query
                    vclids.append(dict(parse_qsl(query))["vclid"])
            orphan = await http.get("/c/unknown", headers={"user-agent": BROWSER_UA})
            assert orphan.status_code == 404
            health = (await http.get("/healthz")).json()
            assert health["redis"] is True
        events = read_events(client, prefix)
        clicks = [e for e in events if e.kind == KIND_CLICK]
        assert sorted(e.click_id for e in clicks) == sorted(vclids)
        assert {e.link_id for e in clicks} == {100 + i for i in range(len(codes))}
        assert [e.code for e in events if e.kind == KIND_ORPHAN] == ["unknown"]
        assert app.metrics.redis_errors == 0
        assert app.metrics.events_written == len(vclids) + 1
    finally:
        for node in client.get_primaries():
            delete_prefix(client.get_redis_connection(node), prefix)
        client.close()
