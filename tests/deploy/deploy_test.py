#!/usr/bin/env python3
"""Deployment checks: deploy/ (Kustomize) and docker/ (image, compose).

  ManifestTest   renders every kustomization under deploy/ (kustomize_lite;
                 also `kubectl kustomize` when installed, which must agree) and
                 checks each workload: security context, gRPC probes on the
                 health listener, grace period over the drain time, resources,
                 secrets as whole-Secret file mounts, the sidecar and shared
                 topologies; `files-gateway --check-config` on each config.
  DockerfileTest docker/Dockerfile's stages and sources, docker/compose.yaml.
  RootfsTest     runs the Dockerfile's stage-rootfs steps on the built
                 binaries and starts the emulator and the gateway from those
                 root file systems under chroot as user 65532 (integration).

Environment: FILESGW_SOURCE_DIR (repository), FILESGW_BINARY_DIR (build tree,
optional: the --check-config and rootfs parts skip without it).
"""

import copy
import json
import os
import re
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kustomize_lite  # noqa: E402

SOURCE = os.environ.get("FILESGW_SOURCE_DIR", os.path.normpath(os.path.join(HERE, "..", "..")))
BINARY = os.environ.get("FILESGW_BINARY_DIR", "")
DEPLOY = os.path.join(SOURCE, "deploy")
DOCKER = os.path.join(SOURCE, "docker")

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}


def kustomizations():
    found = []
    for root, _, files in os.walk(DEPLOY):
        if "kustomization.yaml" in files:
            found.append(os.path.relpath(root, DEPLOY))
    return sorted(found)


def duration_seconds(text):
    """'20s', '1m30s', '500ms', '2h' (the gateway's durations) in seconds."""
    text = str(text).strip()
    total, pos = 0.0, 0
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for m in re.finditer(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text):
        if m.start() != pos:
            raise ValueError(f"bad duration {text!r}")
        total += float(m.group(1)) * units[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"bad duration {text!r}")
    return total


def quantity(text, cpu=False):
    text = str(text)
    if cpu:
        return float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 1e3, "M": 1e6, "G": 1e9}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def address_port(address):
    return int(address.rsplit(":", 1)[1])


def is_local_listener(address):
    if address.startswith("unix:") or address.startswith("unix-abstract:"):
        return True
    host = address.rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


class Workload:
    """One pod template of a rendered kustomization, with the gateway's config."""

    def __init__(self, objects, obj):
        self.objects = objects
        self.obj = obj
        self.pod = obj["spec"]["template"]["spec"]
        self.labels = obj["spec"]["template"]["metadata"].get("labels", {})
        self.containers = self.pod.get("containers", [])
        self.init_containers = self.pod.get("initContainers", [])
        self.gateway = None
        for c in self.containers + self.init_containers:
            if any(a.startswith("--config") for a in c.get("args", [])):
                self.gateway = c
        self.volumes = {v["name"]: v for v in self.pod.get("volumes", [])}
        self.config_path = None
        self.config_text = None
        self.config = None
        if self.gateway is not None:
            self._load_config()

    @property
    def name(self):
        return f"{self.obj['kind']}/{self.obj['metadata']['name']}"

    def _load_config(self):
        args = self.gateway["args"]
        for i, a in enumerate(args):
            if a.startswith("--config="):
                self.config_path = a.split("=", 1)[1]
            elif a == "--config":
                self.config_path = args[i + 1]
        mount, rel = self.mount_for(self.config_path)
        if mount is None:
            return
        volume = self.volumes.get(mount["name"], {})
        cm_name = volume.get("configMap", {}).get("name")
        for o in self.objects:
            if o["kind"] == "ConfigMap" and o["metadata"]["name"] == cm_name and \
                    o["metadata"].get("namespace") == self.obj["metadata"].get("namespace"):
                self.config_text = o.get("data", {}).get(rel)
        if self.config_text is not None:
            self.config = yaml.safe_load(self.config_text)

    def mount_for(self, path, container=None):
        """The gateway's volumeMount holding `path`, and the path inside it."""
        best = None
        for m in (container or self.gateway).get("volumeMounts", []):
            prefix = m["mountPath"].rstrip("/") + "/"
            if path.startswith(prefix) and (best is None or len(prefix) > len(best[1])):
                best = (m, prefix)
        if best is None:
            return None, None
        return best[0], path[len(best[1]):]

    def secret_volume(self, mount):
        volume = self.volumes.get(mount["name"], {})
        if "secret" in volume:
            return True
        sources = volume.get("projected", {}).get("sources", [])
        return bool(sources) and all("secret" in s for s in sources)

    def config_files(self):
        """(key, path) of every file the config names: API keys, passwords, TLS."""
        cfg = self.config or {}
        files = []
        for name, profile in (cfg.get("profiles") or {}).items():
            for key in ("api_key_file", "password_file"):
                if key in (profile or {}):
                    files.append((f"profiles.{name}.{key}", profile[key]))
        for key, value in (cfg.get("tls") or {}).items():
            if key.endswith("_file"):
                files.append((f"tls.{key}", value))
        if (cfg.get("redis") or {}).get("password_file"):
            files.append(("redis.password_file", cfg["redis"]["password_file"]))
        return files


def check_security(w):
    """Restricted pod security, resources, and no secret in the environment,
    for every container of a workload (the gateway's and Redis's)."""
    p = []
    pod_sc = w.pod.get("securityContext", {})
    # Security context, every container.
    for c in w.containers + w.init_containers:
        sc = c.get("securityContext", {})
        where = f"{w.name} container {c['name']}"
        if sc.get("allowPrivilegeEscalation") is not False:
            p.append(f"{where}: allowPrivilegeEscalation must be false")
        if sc.get("readOnlyRootFilesystem") is not True:
            p.append(f"{where}: readOnlyRootFilesystem must be true")
        if "ALL" not in (sc.get("capabilities", {}).get("drop") or []):
            p.append(f"{where}: capabilities must drop ALL")
        if sc.get("capabilities", {}).get("add"):
            p.append(f"{where}: adds capabilities")
        if sc.get("privileged"):
            p.append(f"{where}: privileged")
        if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot", False)):
            p.append(f"{where}: runAsNonRoot must be true (container or pod)")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            p.append(f"{where}: runs as uid 0")
        seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            p.append(f"{where}: seccompProfile RuntimeDefault expected")
        res = c.get("resources", {})
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(kind, {}):
                    p.append(f"{where}: resources.{kind}.{r} not set")
        for r in ("cpu", "memory"):
            try:
                if quantity(res["requests"][r], r == "cpu") > \
                        quantity(res["limits"][r], r == "cpu"):
                    p.append(f"{where}: {r} request above its limit")
            except KeyError:
                pass
        # Secrets never come from the environment.
        for e in c.get("env", []):
            if "secretKeyRef" in e.get("valueFrom", {}) or e["name"] in (
                    "FILES_API_KEY", "FILES_PASSWORD", "FILESGW_REDIS_PASSWORD"):
                p.append(f"{where}: secret in environment variable {e['name']}")
        for e in c.get("envFrom", []):
            if "secretRef" in e:
                p.append(f"{where}: envFrom a Secret")
    if w.pod.get("automountServiceAccountToken") is not False:
        p.append(f"{w.name}: automountServiceAccountToken must be false")

    return p


def check_workload(w, topology=True):
    """Problems with one workload, as strings (empty: all good). `topology`:
    also the sidecar or shared-service checks (overlays; the base is only a
    building block)."""
    p = []
    if w.gateway is None:
        return [f"{w.name}: no files-gateway container (one with --config)"]
    if w.config is None:
        return [f"{w.name}: --config {w.config_path} is not a file of a mounted ConfigMap"]
    cfg = w.config
    pod_sc = w.pod.get("securityContext", {})

    p.extend(check_security(w))

    # Probes: gRPC on the health listener, which must not be loopback.
    health = cfg.get("health_listen")
    if not health:
        p.append(f"{w.name}: config has no health_listen for the kubelet's probes")
    elif is_local_listener(health):
        p.append(f"{w.name}: health_listen {health} is not reachable by the kubelet")
    for probe in ("startupProbe", "readinessProbe"):
        if probe not in w.gateway:
            p.append(f"{w.name}: gateway has no {probe}")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        spec = w.gateway.get(probe)
        if spec is None:
            continue
        if set(spec) & {"exec", "httpGet", "tcpSocket"} or "grpc" not in spec:
            p.append(f"{w.name}: {probe} must be a grpc probe")
        elif health and spec["grpc"].get("port") != address_port(health):
            p.append(f"{w.name}: {probe} port {spec['grpc'].get('port')} is not the "
                     f"health_listen port {address_port(health)}")

    # Termination: grace > preStop sleep + drain_timeout.
    drain = duration_seconds(cfg.get("drain_timeout", "20s"))
    pre_stop = w.gateway.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    grace = w.pod.get("terminationGracePeriodSeconds", 30)
    if not grace > drain + pre_stop:
        p.append(f"{w.name}: terminationGracePeriodSeconds {grace} is not above preStop "
                 f"{pre_stop}s + drain_timeout {drain:g}s")

    # Secrets: files under whole-Secret read-only mounts of the gateway only.
    for profile in (cfg.get("profiles") or {}).values():
        for key in ("api_key_env", "password_env"):
            if key in (profile or {}):
                p.append(f"{w.name}: config takes a secret from the environment ({key})")
    for key, path in w.config_files():
        mount, _ = w.mount_for(path)
        if mount is None:
            p.append(f"{w.name}: {key} {path} is on no mounted volume")
            continue
        if not w.secret_volume(mount):
            p.append(f"{w.name}: {key} {path} is not on a Secret volume")
        if mount.get("subPath"):
            p.append(f"{w.name}: {key}: subPath mounts never see a rotated Secret")
        if mount.get("readOnly") is not True:
            p.append(f"{w.name}: {key}: Secret mount must be readOnly")
    secret_volumes = {n for n, v in w.volumes.items() if "secret" in v or "projected" in v}
    for c in w.containers + w.init_containers:
        if c is w.gateway:
            continue
        for m in c.get("volumeMounts", []):
            if m["name"] in secret_volumes:
                p.append(f"{w.name}: container {c['name']} mounts the gateway's Secret "
                         f"{m['name']}")

    if not topology:
        return p
    if is_local_listener(cfg.get("listen", "127.0.0.1:50051")):
        p.extend(check_sidecar(w))
    else:
        p.extend(check_shared(w))
    return p


def check_sidecar(w):
    p = []
    if w.gateway not in w.init_containers:
        return [f"{w.name}: a sidecar gateway must be an initContainer (native sidecar)"]
    if w.gateway.get("restartPolicy") != "Always":
        p.append(f"{w.name}: sidecar initContainer needs restartPolicy: Always")
    if not w.containers:
        p.append(f"{w.name}: no application container next to the sidecar")
    listen = w.config.get("listen", "")
    if listen.startswith("unix:"):
        sock = listen[len("unix:"):]
        mount, _ = w.mount_for(sock)
        if mount is None:
            return p + [f"{w.name}: socket {sock} is on no volume of the gateway"]
        if "emptyDir" not in w.volumes.get(mount["name"], {}):
            p.append(f"{w.name}: socket volume {mount['name']} is not an emptyDir")
        for c in w.containers:
            if not any(m["name"] == mount["name"] for m in c.get("volumeMounts", [])):
                p.append(f"{w.name}: app container {c['name']} does not mount the socket "
                         f"volume {mount['name']}")
    return p


def selects(selector, labels):
    match = selector.get("matchLabels", selector) if isinstance(selector, dict) else {}
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def check_shared(w):
    p = []
    cfg = w.config
    ns = w.obj["metadata"].get("namespace")
    same_ns = [o for o in w.objects if o["metadata"].get("namespace") == ns]
    if w.gateway not in w.containers:
        p.append(f"{w.name}: the shared gateway must be a regular container")
    if not cfg.get("callers"):
        p.append(f"{w.name}: listening on {cfg.get('listen')} without callers")
    tls = cfg.get("tls") or {}
    if not (tls.get("cert_file") and tls.get("key_file")):
        p.append(f"{w.name}: the shared service must serve TLS (tls.cert_file, tls.key_file)")
    if not any(c.get("token_sha256") or c.get("certificate") for c in cfg.get("callers") or []):
        p.append(f"{w.name}: no caller has a bearer token hash or certificate identity")
    if w.obj["spec"].get("replicas", 1) < 2:
        p.append(f"{w.name}: fewer than 2 replicas")
    grpc_port = address_port(cfg["listen"])

    hpas = [o for o in same_ns if o["kind"] == "HorizontalPodAutoscaler"
            and o["spec"]["scaleTargetRef"]["name"] == w.obj["metadata"]["name"]
            and o["spec"]["scaleTargetRef"]["kind"] == w.obj["kind"]]
    if not hpas:
        p.append(f"{w.name}: no HorizontalPodAutoscaler")
    elif hpas[0]["spec"].get("minReplicas", 1) < 2:
        p.append(f"{w.name}: HPA minReplicas below 2")
    pdbs = [o for o in same_ns if o["kind"] == "PodDisruptionBudget"
            and selects(o["spec"].get("selector", {}), w.labels)]
    if not pdbs:
        p.append(f"{w.name}: no PodDisruptionBudget selecting its pods")
    services = [o for o in same_ns if o["kind"] == "Service"
                and selects(o["spec"].get("selector", {}), w.labels)]
    container_ports = {cp.get("name"): cp["containerPort"] for cp in w.gateway.get("ports", [])}
    if not any(container_ports.get(sp.get("targetPort"), sp.get("targetPort")) == grpc_port
               for s in services for sp in s["spec"].get("ports", [])):
        p.append(f"{w.name}: no Service sends to the gRPC port {grpc_port}")
    policies = [o for o in same_ns if o["kind"] == "NetworkPolicy"
                and selects(o["spec"].get("podSelector", {}), w.labels)]
    if not policies:
        p.append(f"{w.name}: no NetworkPolicy selecting its pods")
    for pol in policies:
        if "Ingress" not in pol["spec"].get("policyTypes", ["Ingress"]):
            p.append(f"{w.name}: NetworkPolicy {pol['metadata']['name']} does not restrict ingress")
        admitted = False
        for rule in pol["spec"].get("ingress", []):
            peers = rule.get("from")
            if not peers:
                p.append(f"{w.name}: NetworkPolicy rule admits every source")
                continue
            for peer in peers:
                if "ipBlock" in peer or not peer.get("podSelector", {}).get("matchLabels"):
                    p.append(f"{w.name}: NetworkPolicy admits a peer without a pod label: {peer}")
            if any(pt.get("port") in (grpc_port, "grpc") for pt in rule.get("ports", [])):
                admitted = True
        if not admitted:
            p.append(f"{w.name}: NetworkPolicy admits nobody to the gRPC port")
    if cfg.get("redis"):
        p.extend(check_redis_client(w, same_ns, hpas))
    return p


REDIS_PORT = 6379


def is_redis(w):
    return w.gateway is None and any(
        cp.get("name") == "redis" or cp.get("containerPort") == REDIS_PORT
        for c in w.containers for cp in c.get("ports", []))


def redis_conf(w):
    """The redis.conf of a Redis workload ({directive: [args]}), from the
    ConfigMap its command names, or None."""
    for c in w.containers:
        for arg in c.get("command", []) + c.get("args", []):
            if not arg.endswith(".conf"):
                continue
            mount, rel = w.mount_for(arg, c)
            cm_name = w.volumes.get(mount["name"], {}).get("configMap", {}).get("name") \
                if mount else None
            for o in w.objects:
                if o["kind"] == "ConfigMap" and o["metadata"]["name"] == cm_name:
                    conf = {}
                    for line in o.get("data", {}).get(rel, "").splitlines():
                        words = shlex.split(line, comments=True)
                        if words:
                            conf.setdefault(words[0].lower(), []).append(words[1:])
                    return conf
    return None


def check_redis(w):
    """The optional Redis (overlays/shared-redis): restricted like the gateway,
    one instance, nothing persisted, its password from a Secret file, reachable
    only by gateway pods."""
    p = check_security(w)
    ns = w.obj["metadata"].get("namespace")
    same_ns = [o for o in w.objects if o["metadata"].get("namespace") == ns]
    if w.obj["spec"].get("replicas", 1) != 1:
        p.append(f"{w.name}: Redis must be one replica (state is per instance)")
    if w.obj["spec"].get("strategy", {}).get("type") != "Recreate":
        p.append(f"{w.name}: strategy must be Recreate (never two Redis at once)")
    for c in w.containers:
        if "readinessProbe" not in c:
            p.append(f"{w.name}: container {c['name']} has no readinessProbe")
    for v in w.volumes.values():
        if "persistentVolumeClaim" in v or "hostPath" in v:
            p.append(f"{w.name}: volume {v['name']} persists data (persistence is off)")
    conf = redis_conf(w)
    if conf is None:
        return p + [f"{w.name}: no redis.conf from a ConfigMap on its command line"]
    if conf.get("save") != [[""]]:
        p.append(f"{w.name}: redis.conf must turn RDB snapshots off (save \"\")")
    if conf.get("appendonly", [["no"]]) != [["no"]]:
        p.append(f"{w.name}: redis.conf must turn the append-only file off")
    if "requirepass" in conf or any("user" == k for k in conf):
        p.append(f"{w.name}: a password in the ConfigMap (include it from a Secret)")
    included = [args[0] for args in conf.get("include", []) if args]
    redis = w.containers[0]
    if not any(w.mount_for(path, redis)[0] is not None and
               w.secret_volume(w.mount_for(path, redis)[0]) for path in included):
        p.append(f"{w.name}: redis.conf includes no file from a Secret (requirepass)")
    policies = [o for o in same_ns if o["kind"] == "NetworkPolicy"
                and selects(o["spec"].get("podSelector", {}), w.labels)]
    if not policies:
        p.append(f"{w.name}: no NetworkPolicy selecting the Redis pods")
    gateway_labels = [gw.labels for gw in workloads(w.objects) if gw.gateway is not None]
    for pol in policies:
        if "Ingress" not in pol["spec"].get("policyTypes", ["Ingress"]):
            p.append(f"{w.name}: NetworkPolicy {pol['metadata']['name']} does not restrict ingress")
        for rule in pol["spec"].get("ingress", []):
            peers = rule.get("from")
            if not peers:
                p.append(f"{w.name}: Redis NetworkPolicy rule admits every source")
                continue
            for peer in peers:
                if set(peer) != {"podSelector"}:
                    p.append(f"{w.name}: Redis NetworkPolicy admits a peer beyond this "
                             f"namespace's pods: {peer}")
                elif not any(selects(peer["podSelector"], labels) for labels in gateway_labels):
                    p.append(f"{w.name}: Redis NetworkPolicy admits pods that are not the "
                             f"gateway's: {peer}")
            ports = [pt.get("port") for pt in rule.get("ports", [])]
            if not ports or any(pt not in (REDIS_PORT, "redis") for pt in ports):
                p.append(f"{w.name}: Redis NetworkPolicy opens ports other than {REDIS_PORT}: "
                         f"{ports or 'all'}")
    return p


def check_redis_client(w, same_ns, hpas):
    """The gateway's `redis:` settings against the rendered objects: the URL
    names the Redis Service and port, expected_replicas the HPA's maximum."""
    import urllib.parse
    p = []
    redis = w.config["redis"]
    url = urllib.parse.urlsplit(str(redis.get("url", "")))
    if url.scheme not in ("redis", "rediss"):
        return [f"{w.name}: redis.url {redis.get('url')} is not redis:// or rediss://"]
    if url.username or url.password:
        p.append(f"{w.name}: redis.url carries a password (use redis.password_file)")
    if not redis.get("password_file"):
        p.append(f"{w.name}: redis.password_file not set (Redis requires a password)")
    ns = w.obj["metadata"].get("namespace")
    host = url.hostname or ""
    service_name = host.split(".")[0]
    if "." in host and not host.startswith(f"{service_name}.{ns}.svc"):
        p.append(f"{w.name}: redis.url host {host} is not a Service of namespace {ns}")
    services = [o for o in same_ns if o["kind"] == "Service"
                and o["metadata"]["name"] == service_name]
    if not services:
        return p + [f"{w.name}: redis.url host {host}: no Service {service_name}"]
    port = url.port or REDIS_PORT
    if not any(sp.get("port") == port for sp in services[0]["spec"].get("ports", [])):
        p.append(f"{w.name}: redis.url port {port} is not a port of Service {service_name}")
    backends = [r for r in workloads(w.objects) if is_redis(r)
                and selects(services[0]["spec"].get("selector", {}), r.labels)]
    if not backends:
        p.append(f"{w.name}: Service {service_name} selects no Redis workload")
    if hpas and redis.get("expected_replicas") != hpas[0]["spec"].get("maxReplicas"):
        p.append(f"{w.name}: redis.expected_replicas {redis.get('expected_replicas')} is not "
                 f"the HPA's maxReplicas {hpas[0]['spec'].get('maxReplicas')} (the fallback "
                 "share would overrun the account's budget)")
    return p


def render_all():
    return {k: kustomize_lite.render(os.path.join(DEPLOY, k)) for k in kustomizations()}


def workloads(objects):
    return [Workload(objects, o) for o in objects if o["kind"] in WORKLOAD_KINDS]


def gateway_binary():
    path = os.path.join(BINARY, "server", "files-gateway") if BINARY else ""
    return path if path and os.access(path, os.X_OK) else None


def supports(binary, flag):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    return flag in out.stdout + out.stderr


def make_tls_files(directory):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=files-gateway", "-keyout", os.path.join(directory, "tls.key"),
                    "-out", os.path.join(directory, "tls.crt")],
                   check=True, capture_output=True, timeout=60)
    shutil.copy(os.path.join(directory, "tls.crt"), os.path.join(directory, "ca.crt"))


def check_config(binary, config_text, mounts, workdir):
    """Runs --check-config on `config_text` with each absolute path under a
    mount point moved into `workdir`. mounts: {mountPath: kind} where kind is
    'secret' (files made up: an API key, a password, a TLS pair) or a dict of
    files. Returns (exit code, output)."""
    text = config_text
    for mount_path in sorted(mounts, key=len, reverse=True):
        local = os.path.join(workdir, mount_path.lstrip("/"))
        os.makedirs(local, exist_ok=True)
        content = mounts[mount_path]
        if content == "secret":
            make_tls_files(local)
            for name in ("api-key", "password"):
                with open(os.path.join(local, name), "w") as f:
                    f.write("made-up-secret\n")
        else:
            for name, data in content.items():
                with open(os.path.join(local, name), "w") as f:
                    f.write(data)
        text = re.sub(r"(?<![\w/])" + re.escape(mount_path.rstrip("/") + "/"),
                      local.rstrip("/") + "/", text)
    path = os.path.join(workdir, "config-under-test.yaml")
    with open(path, "w") as f:
        f.write(text)
    out = subprocess.run([binary, "--config", path, "--check-config"], capture_output=True,
                         text=True, timeout=60, env={"PATH": os.environ.get("PATH", "/usr/bin")})
    return out.returncode, out.stdout + out.stderr


class ManifestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rendered = render_all()

    def test_every_kustomization_renders_and_has_a_gateway(self):
        self.assertIn("overlays/shared", self.rendered)
        self.assertIn("overlays/sidecar", self.rendered)
        for k, objects in self.rendered.items():
            with self.subTest(kustomization=k):
                ws = [w for w in workloads(objects) if w.gateway is not None]
                self.assertTrue(ws, f"{k}: no workload runs files-gateway")

    def test_workload_invariants(self):
        for k, objects in self.rendered.items():
            for w in workloads(objects):
                with self.subTest(kustomization=k, workload=w.name):
                    if is_redis(w):
                        self.assertEqual(check_redis(w), [])
                    else:
                        self.assertEqual(check_workload(w, k.startswith("overlays/")), [])

    def test_topologies(self):
        shared = [w for w in workloads(self.rendered["overlays/shared"]) if w.gateway]
        self.assertTrue(shared and not is_local_listener(shared[0].config["listen"]))
        sidecar = [w for w in workloads(self.rendered["overlays/sidecar"]) if w.gateway]
        self.assertTrue(sidecar and sidecar[0].gateway in sidecar[0].init_containers)
        self.assertIn("startupProbe", sidecar[0].gateway)

    def test_checks_catch_violations(self):
        """Each invariant, broken on purpose, is reported."""
        def broken(kustomization, change):
            objects = copy.deepcopy(self.rendered[kustomization])
            w = [w for w in workloads(objects) if w.gateway][0]
            change(w)
            return "\n".join(check_workload(Workload(objects, w.obj)))

        def set_config(key, value):
            def change(w):
                cm = next(o for o in w.objects if o["kind"] == "ConfigMap"
                          and o["metadata"]["name"] == w.volumes[
                              w.mount_for(w.config_path)[0]["name"]]["configMap"]["name"])
                cfg = yaml.safe_load(cm["data"]["config.yaml"])
                cfg[key] = value
                cm["data"]["config.yaml"] = yaml.safe_dump(cfg)
            return change

        cases = {
            "readOnlyRootFilesystem": ("overlays/shared", lambda w: w.gateway[
                "securityContext"].pop("readOnlyRootFilesystem")),
            "allowPrivilegeEscalation": ("overlays/sidecar", lambda w: w.gateway[
                "securityContext"].update(allowPrivilegeEscalation=True)),
            "drop ALL": ("overlays/shared", lambda w: w.gateway["securityContext"].pop(
                "capabilities")),
            "must be a grpc probe": ("overlays/shared", lambda w: w.gateway.update(
                readinessProbe={"tcpSocket": {"port": 8086}})),
            "is not the health_listen port": ("overlays/sidecar", lambda w: w.gateway[
                "startupProbe"]["grpc"].update(port=9464)),
            "terminationGracePeriodSeconds": ("overlays/shared", set_config(
                "drain_timeout", "40s")),
            "secret in environment variable": ("overlays/sidecar", lambda w: w.gateway.setdefault(
                "env", []).append({"name": "FILES_API_KEY", "valueFrom": {"secretKeyRef": {
                    "name": "x", "key": "api-key"}}})),
            "subPath": ("overlays/shared", lambda w: next(
                m for m in w.gateway["volumeMounts"] if m["name"] == "credentials").update(
                    subPath="api-key")),
            "is not on a Secret volume": ("overlays/shared", lambda w: w.volumes[
                "credentials"].pop("secret") and w.volumes["credentials"].update(emptyDir={})),
            "restartPolicy: Always": ("overlays/sidecar", lambda w: w.gateway.pop(
                "restartPolicy")),
            "has no startupProbe": ("overlays/sidecar", lambda w: w.gateway.pop(
                "startupProbe")),
            "fewer than 2 replicas": ("overlays/shared", lambda w: w.obj["spec"].update(
                replicas=1)),
            "resources.limits.memory": ("overlays/shared", lambda w: w.gateway["resources"][
                "limits"].pop("memory")),
            "must serve TLS": ("overlays/shared", set_config("tls", None)),
            "no NetworkPolicy": ("overlays/shared", lambda w: w.objects.remove(next(
                o for o in w.objects if o["kind"] == "NetworkPolicy"))),
            "no HorizontalPodAutoscaler": ("overlays/shared", lambda w: w.objects.remove(next(
                o for o in w.objects if o["kind"] == "HorizontalPodAutoscaler"))),
            "without a pod label": ("overlays/shared", lambda w: next(
                o for o in w.objects if o["kind"] == "NetworkPolicy")["spec"]["ingress"][0][
                    "from"].append({"namespaceSelector": {}})),
        }
        for expected, (k, change) in cases.items():
            with self.subTest(violation=expected):
                self.assertIn(expected, broken(k, change))

    def test_redis_overlay(self):
        """overlays/shared-redis: the shared service plus one Redis, and the
        gateway configured for it; the plain shared overlay has neither."""
        objects = self.rendered["overlays/shared-redis"]
        redis = [w for w in workloads(objects) if is_redis(w)]
        self.assertEqual(len(redis), 1)
        gateway = [w for w in workloads(objects) if w.gateway is not None]
        self.assertEqual(len(gateway), 1)
        self.assertEqual(gateway[0].config["redis"]["url"], "redis://files-gateway-redis:6379")
        self.assertEqual(redis_conf(redis[0])["maxmemory-policy"], [["noeviction"]])
        # The rest of the config is the shared service's.
        shared = [w for w in workloads(self.rendered["overlays/shared"]) if w.gateway][0]
        self.assertNotIn("redis", shared.config)
        self.assertFalse([w for w in workloads(self.rendered["overlays/shared"]) if is_redis(w)])
        self.assertEqual({k: v for k, v in gateway[0].config.items() if k != "redis"},
                         shared.config)
        # Redis pods are not selected by the gateway's Service, PDB or policy.
        for o in objects:
            selector = (o["spec"].get("selector") if o["kind"] in ("Service",
                                                                   "PodDisruptionBudget")
                        else o["spec"].get("podSelector") if o["kind"] == "NetworkPolicy"
                        else None)
            if selector is not None and o["metadata"]["name"].startswith("files-gateway") \
                    and not o["metadata"]["name"].startswith("files-gateway-redis"):
                with self.subTest(selector_of=f"{o['kind']}/{o['metadata']['name']}"):
                    self.assertFalse(selects(selector, redis[0].labels))

    def test_redis_checks_catch_violations(self):
        def broken(change):
            objects = copy.deepcopy(self.rendered["overlays/shared-redis"])
            change(objects)
            problems = []
            for w in workloads(objects):
                problems += check_redis(w) if is_redis(w) else check_workload(w)
            return "\n".join(problems)

        def find(objects, kind, name="files-gateway-redis"):
            return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)

        def redis_pod(objects):
            return find(objects, "Deployment")["spec"]["template"]["spec"]

        def set_conf(directive, value):
            def change(objects):
                cm = next(o for o in objects if o["kind"] == "ConfigMap"
                          and o["metadata"]["name"].startswith("files-gateway-redis-config"))
                cm["data"]["redis.conf"] += f"\n{directive} {value}\n"
                if directive == "save":
                    cm["data"]["redis.conf"] = cm["data"]["redis.conf"].replace('save ""', "")
            return change

        def set_redis_config(key, value):
            def change(objects):
                cm = next(o for o in objects if o["kind"] == "ConfigMap"
                          and o["metadata"]["name"].startswith("files-gateway-config"))
                cfg = yaml.safe_load(cm["data"]["config.yaml"])
                cfg["redis"][key] = value
                cm["data"]["config.yaml"] = yaml.safe_dump(cfg)
            return change

        cases = {
            "one replica": lambda o: find(o, "Deployment")["spec"].update(replicas=2),
            "Recreate": lambda o: find(o, "Deployment")["spec"].pop("strategy"),
            "readOnlyRootFilesystem": lambda o: redis_pod(o)["containers"][0][
                "securityContext"].pop("readOnlyRootFilesystem"),
            "persists data": lambda o: redis_pod(o)["volumes"][-1].update(
                persistentVolumeClaim={"claimName": "redis"}),
            "snapshots off": set_conf("save", "900 1"),
            "append-only file off": set_conf("appendonly", "yes"),
            "a password in the ConfigMap": set_conf("requirepass", "hunter2"),
            "no NetworkPolicy selecting the Redis pods": lambda o: o.remove(
                find(o, "NetworkPolicy")),
            "beyond this namespace": lambda o: find(o, "NetworkPolicy")["spec"]["ingress"][0][
                "from"][0].update(namespaceSelector={}),
            "not the gateway's": lambda o: find(o, "NetworkPolicy")["spec"]["ingress"][0][
                "from"][0]["podSelector"]["matchLabels"].update(
                    {"app.kubernetes.io/name": "my-app"}),
            "admits every source": lambda o: find(o, "NetworkPolicy")["spec"]["ingress"][0].pop(
                "from"),
            "no Service nope": set_redis_config("url", "redis://nope:6379"),
            "is not a port of Service": set_redis_config("url",
                                                         "redis://files-gateway-redis:6380"),
            "carries a password": set_redis_config("url", "redis://:pw@files-gateway-redis:6379"),
            "maxReplicas": set_redis_config("expected_replicas", 2),
            "redis.password_file /elsewhere/password is on no mounted volume": set_redis_config(
                "password_file", "/elsewhere/password"),
        }
        self.assertEqual(broken(lambda o: None), "")
        for expected, change in cases.items():
            with self.subTest(violation=expected):
                self.assertIn(expected, broken(change))

    def test_matches_kubectl_kustomize(self):
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            self.skipTest("kubectl is not installed: rendered with kustomize_lite only")
        version = subprocess.run([kubectl, "version", "--client"], capture_output=True,
                                 text=True, timeout=60)
        if "Kustomize Version: v5" not in version.stdout and \
                "Kustomize Version: v4" not in version.stdout:
            self.skipTest(f"kubectl's Kustomize is too old for patches/labels: "
                          f"{version.stdout.strip()}")
        for k, mine in self.rendered.items():
            with self.subTest(kustomization=k):
                out = subprocess.run([kubectl, "kustomize", os.path.join(DEPLOY, k)],
                                     capture_output=True, text=True, timeout=120)
                self.assertEqual(out.returncode, 0, out.stderr)
                theirs = [d for d in yaml.safe_load_all(out.stdout) if d is not None]
                self.assertEqual(mine, theirs)

    def test_check_config_accepts_every_rendered_config(self):
        binary = gateway_binary()
        if binary is None:
            self.skipTest("FILESGW_BINARY_DIR has no server/files-gateway")
        if not supports(binary, "--check-config"):
            self.skipTest("files-gateway does not know --check-config yet: configs not run")
        redis_flags = supports(binary, "--redis-url")
        for k, objects in self.rendered.items():
            for w in workloads(objects):
                if w.gateway is None:
                    continue
                with self.subTest(kustomization=k, workload=w.name), \
                        tempfile.TemporaryDirectory() as tmp:
                    if "redis" in (w.config or {}) and not redis_flags:
                        self.skipTest("files-gateway has no Redis support (--redis-url) yet: "
                                      f"{k}'s config not run")
                    mounts = {}
                    for m in w.gateway.get("volumeMounts", []):
                        if w.secret_volume(m):
                            mounts[m["mountPath"]] = "secret"
                    code, out = check_config(binary, w.config_text, mounts, tmp)
                    self.assertEqual(code, 0, out)
                    # ... and the same check refuses a broken one.
                    code, out = check_config(binary, w.config_text + "\nlistne: x\n", mounts,
                                             tmp)
                    self.assertEqual(code, 2, out)
                    self.assertIn("listne", out)

    def test_check_config_accepts_the_compose_config(self):
        binary = gateway_binary()
        if binary is None:
            self.skipTest("FILESGW_BINARY_DIR has no server/files-gateway")
        if not supports(binary, "--check-config"):
            self.skipTest("files-gateway does not know --check-config yet: configs not run")
        with open(os.path.join(DOCKER, "dev", "config.yaml")) as f:
            text = f.read()
        with open(os.path.join(DOCKER, "dev", "api-key")) as f:
            key = f.read()
        with tempfile.TemporaryDirectory() as tmp:
            code, out = check_config(binary, text, {"/run/secrets": {"files_api_key": key}}, tmp)
            self.assertEqual(code, 0, out)


# ---------------------------------------------------------------- Dockerfile


def dockerfile_instructions(text):
    """[(INSTRUCTION, arguments)] with continuation lines joined."""
    out, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def dockerfile_stages(text):
    """Stages in order: {name, base, instructions}; ARG defaults substituted."""
    args, stages = {}, []
    for word, rest in dockerfile_instructions(text):
        if word == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif word == "FROM":
            parts = rest.split()
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)),
                          parts[0])
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else str(len(stages))
            stages.append({"name": name, "base": base, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((word, rest))
    return stages


def ignore_patterns(path=None):
    """The root .dockerignore: [(regex, exclude)], in file order. The context
    of docker/Dockerfile is the repository root, and every builder (Docker,
    BuildKit, Podman, Buildah) reads <context>/.dockerignore."""
    with open(path or os.path.join(SOURCE, ".dockerignore")) as f:
        lines = [line.strip() for line in f]
    return [dockerignore_rule(line) for line in lines if line and not line.startswith("#")]


def dockerignore_rule(line):
    """One .dockerignore line as (compiled regex, exclude), with the semantics
    of moby's patternmatcher: the pattern is cleaned (leading and trailing
    slashes dropped), `*` and `?` stop at `/`, `**` spans directories, and a
    pattern matching a directory excludes everything under it."""
    exclude = not line.startswith("!")
    pattern = os.path.normpath(line.lstrip("!").strip()).strip("/")
    regex, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            regex += ".*"
            i += 2
        elif pattern[i] == "*":
            regex += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            regex += "[^/]"
            i += 1
        else:
            regex += re.escape(pattern[i])
            i += 1
    return re.compile(regex + "(?:/.*)?"), exclude


def ignored(relpath, rules):
    """Whether the builder leaves `relpath` (relative to the context) out: the
    last rule that matches decides, as in Docker."""
    out = False
    for regex, exclude in rules:
        if regex.fullmatch(relpath):
            out = exclude
    return out


def tracked_files():
    """Files git tracks in the repository (None outside a git checkout)."""
    try:
        listing = subprocess.run(["git", "-C", SOURCE, "ls-files", "-z"], capture_output=True,
                                 check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [f for f in listing.decode().split("\0") if f]


def check_dockerfile(text, patterns=None):
    p = []
    stages = dockerfile_stages(text)
    names = [s["name"] for s in stages]
    if len(stages) < 2:
        return ["not a multi-stage build"]
    build = stages[0]
    if not re.fullmatch(r"(docker\.io/(library/)?)?debian:bookworm(-slim)?(@sha256:[0-9a-f]{64})?",
                        build["base"]):
        p.append(f"build stage is not FROM debian:bookworm: {build['base']}")
    runs = " ; ".join(rest for word, rest in build["instructions"] if word == "RUN")
    if not re.search(r"(^|[\s;&])\.ci/build\b[^;&]*--gateway-only", runs):
        p.append("build stage does not run .ci/build --gateway-only (the CI script)")
    if patterns is None:
        patterns = ignore_patterns()
    tracked = tracked_files()
    for i, stage in enumerate(stages):
        for word, rest in stage["instructions"]:
            if word not in ("COPY", "ADD"):
                continue
            flags = [t for t in rest.split() if t.startswith("--")]
            paths = [t for t in rest.split() if not t.startswith("--")]
            source_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")),
                                None)
            if word == "ADD":
                p.append(f"stage {stage['name']}: ADD (use COPY)")
            if source_stage is not None:
                if source_stage not in names[:i]:
                    p.append(f"stage {stage['name']}: COPY --from={source_stage}: no such "
                             "earlier stage")
                continue
            for src in paths[:-1]:
                full = os.path.normpath(os.path.join(SOURCE, src))
                rel = os.path.relpath(full, SOURCE)
                if not os.path.exists(full):
                    p.append(f"stage {stage['name']}: COPY source {src} does not exist")
                elif rel != "." and ignored(rel, patterns):
                    p.append(f"stage {stage['name']}: COPY source {src} is excluded by "
                             ".dockerignore")
                elif os.path.isdir(full) and tracked is not None:
                    # A directory (`COPY . .`): every source file under it
                    # must reach the build.
                    prefix = "" if rel == "." else rel + "/"
                    lost = [f for f in tracked if f.startswith(prefix) and ignored(f, patterns)]
                    if lost:
                        p.append(f"stage {stage['name']}: COPY {src}: .dockerignore excludes "
                                 f"{len(lost)} tracked files, e.g. {', '.join(lost[:3])}")
    for target in ("emulator", "gateway"):
        if target not in names:
            p.append(f"no {target} stage")
    if names[-1] != "gateway":
        p.append("the default (last) stage is not the gateway")
    for stage in stages[1:]:
        users = [rest for word, rest in stage["instructions"] if word == "USER"]
        if not users:
            p.append(f"stage {stage['name']}: no USER (runs as root)")
        elif users[-1].split(":")[0] in ("0", "root"):
            p.append(f"stage {stage['name']}: USER {users[-1]} is root")
        entry = [rest for word, rest in stage["instructions"] if word == "ENTRYPOINT"]
        if not entry:
            p.append(f"stage {stage['name']}: no ENTRYPOINT")
        else:
            try:
                json.loads(entry[-1])
            except ValueError:
                p.append(f"stage {stage['name']}: ENTRYPOINT is not exec (JSON) form")
        if stage["base"] not in ("scratch",) and "bookworm" not in stage["base"]:
            p.append(f"stage {stage['name']}: base {stage['base']} is neither scratch nor "
                     "bookworm")
    return p


def stage_rootfs_steps(text):
    """[(out_dir, [programs])] from the build stage's docker/stage-rootfs calls."""
    steps = []
    for word, rest in dockerfile_stages(text)[0]["instructions"]:
        if word != "RUN":
            continue
        for command in re.split(r"&&|;", rest):
            argv = shlex.split(command)
            if argv and argv[0].endswith("docker/stage-rootfs"):
                steps.append((argv[1], argv[2:]))
    return steps


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(DOCKER, "Dockerfile")) as f:
            cls.text = f.read()

    def test_dockerfile(self):
        self.assertEqual(check_dockerfile(self.text), [])

    def test_dockerfile_checks_catch_violations(self):
        cases = {
            "is root": self.text.replace("USER 65532:65532", "USER root"),
            "does not exist": self.text.replace("COPY .ci/install-deps", "COPY .ci/no-such"),
            "no emulator stage": self.text.replace("AS emulator", "AS emu").replace(
                "--from=build /out/emulator", "--from=build /out/emulator"),
            "not FROM debian:bookworm": self.text.replace("debian:bookworm", "ubuntu:24.04"),
            "does not run .ci/build": self.text.replace(".ci/build --gateway-only",
                                                        "cmake --build /build"),
        }
        for expected, text in cases.items():
            with self.subTest(violation=expected):
                self.assertIn(expected, "\n".join(check_dockerfile(text)))

    def test_dockerignore_keeps_build_trees_out_and_sources_in(self):
        # The root .dockerignore is what a build with the root as context
        # reads (compose's `context: ..`, `podman build -f docker/Dockerfile .`).
        self.assertFalse(os.path.exists(os.path.join(DOCKER, "Dockerfile.dockerignore")),
                         "one ignore file only: the root .dockerignore")
        rules = ignore_patterns()
        for path in ("build/server/files-gateway", "build-fuzz/corpus/x", "build-asan/a",
                     ".git/HEAD", ".git", ".ci/tools/node_modules/.bin/buf",
                     "clients/node/node_modules/x/index.js", "proto/__pycache__/g.pyc",
                     "tests/python/x.pyc"):
            with self.subTest(excluded=path):
                self.assertTrue(ignored(path, rules))
        for path in ("docker/Dockerfile", ".ci/install-deps", ".ci/build", "CMakeLists.txt",
                     "server/main.cc", "tests/deploy/deploy_test.py", "docker/stage-rootfs",
                     "buildinfo.txt", "clients/go/build.go"):
            with self.subTest(included=path):
                self.assertFalse(ignored(path, rules))
        tracked = tracked_files()
        if tracked is None:
            self.skipTest("not a git checkout: cannot list the tracked files")
        self.assertGreater(len(tracked), 100)
        lost = [f for f in tracked if ignored(f, rules)]
        self.assertEqual(lost, [], "tracked files the image build would not see")

    def test_dockerignore_checks_catch_a_lost_source(self):
        rules = ignore_patterns()
        cases = {
            "tests": "excludes",              # part of `COPY . .`
            "**/*.cc": "excludes",
            ".ci": "is excluded by .dockerignore",   # COPY .ci/install-deps
        }
        for line, expected in cases.items():
            with self.subTest(pattern=line):
                broken = rules + [dockerignore_rule(line)]
                self.assertIn(expected, "\n".join(check_dockerfile(self.text, broken)))
        # An exception brings a path back, as in Docker.
        back = rules + [dockerignore_rule("tests"), dockerignore_rule("!tests")]
        self.assertEqual(check_dockerfile(self.text, back), [])

    def test_ci_runs_the_same_build_script(self):
        with open(os.path.join(SOURCE, ".ci", "test")) as f:
            self.assertRegex(f.read(), r"(?m)^\s*\.ci/build\b")
        # The gateway-only mode configures with the options .ci/build passes.
        with open(os.path.join(SOURCE, ".ci", "build")) as f:
            script = f.read()
        with open(os.path.join(SOURCE, "CMakeLists.txt")) as f:
            cmake = f.read()
        for option in re.findall(r"-D(FILESGW_BUILD_\w+|FILESGW_WERROR)=", script):
            with self.subTest(option=option):
                self.assertRegex(cmake, rf"(option|set)\({option}\b")

    def test_rootfs_steps_stage_every_program(self):
        steps = dict(stage_rootfs_steps(self.text))
        programs = {os.path.basename(p) for ps in steps.values() for p in ps}
        self.assertEqual(programs, {"files-gateway", "files-emulator", "redis-server"})
        stages = dockerfile_stages(self.text)
        for stage in stages[1:]:
            copies = [rest for word, rest in stage["instructions"] if word == "COPY"]
            with self.subTest(stage=stage["name"]):
                self.assertTrue(copies)
                src = [t for t in copies[0].split() if not t.startswith("--")][0]
                self.assertIn(src.rstrip("/"), steps)
                entry = json.loads([r for w, r in stage["instructions"] if w == "ENTRYPOINT"][0])
                self.assertIn(os.path.basename(entry[0]),
                              {os.path.basename(p) for p in steps[src.rstrip("/")]})

    def compose_files(self):
        with open(os.path.join(DOCKER, "compose.yaml")) as f:
            compose = yaml.safe_load(f)
        with open(os.path.join(DOCKER, "compose.healthcheck.yaml")) as f:
            health = yaml.safe_load(f)
        with open(os.path.join(DOCKER, "dev", "config.yaml")) as f:
            config = yaml.safe_load(f)
        return compose, health, config

    def test_compose(self):
        compose, health, config = self.compose_files()
        self.assertEqual(check_compose(compose, health, config, self.text), [])

    def test_compose_checks_catch_violations(self):
        compose, health, config = self.compose_files()

        def broken(change):
            c, h = copy.deepcopy(compose), copy.deepcopy(health)
            change(c, h)
            return "\n".join(check_compose(c, h, config, self.text))

        cases = {
            "configs:": lambda c, h: c.update(
                {"configs": {"x": {"file": "./dev/config.yaml"}}}),
            "healthcheck in compose.yaml": lambda c, h: c["services"]["gateway"].update(
                healthcheck=h["services"]["gateway"]["healthcheck"]),
            "not exec form": lambda c, h: h["services"]["gateway"]["healthcheck"].update(
                test=["CMD-SHELL", "files-gateway --probe=127.0.0.1:8086"]),
            "not the health_listen port": lambda c, h: h["services"]["gateway"][
                "healthcheck"].update(test=["CMD", "/usr/local/bin/files-gateway",
                                            "--probe=127.0.0.1:50051"]),
            "not in the image": lambda c, h: h["services"]["gateway"]["healthcheck"].update(
                test=["CMD", "/usr/bin/grpc_health_probe", "-addr=:8086"]),
            "does not exist": lambda c, h: c["services"]["gateway"]["volumes"].append(
                "./dev/missing.yaml:/etc/missing.yaml:ro"),
            "not read-only": lambda c, h: c["services"]["gateway"]["volumes"].__setitem__(
                0, c["services"]["gateway"]["volumes"][0][:-3]),
            "read_only": lambda c, h: c["services"]["emulator"].pop("read_only"),
            "cap_drop": lambda c, h: c["services"]["gateway"].update(cap_drop=[]),
        }
        for expected, change in cases.items():
            with self.subTest(violation=expected):
                self.assertIn(expected, broken(change))

    def test_compose_under_podman_compose(self):
        """Debian's podman-compose renders the podman commands from compose.yaml
        (--dry-run, with `true` standing in for podman: no engine here)."""
        tool = shutil.which("podman-compose")
        if tool is None:
            self.skipTest("podman-compose is not installed (.ci/install-deps installs it)")
        version = subprocess.run([tool, "--podman-path", "/bin/true", "version"],
                                 capture_output=True, text=True, timeout=60).stdout

        def dry_run(*files):
            argv = [tool, "--podman-path", shutil.which("true"), "--dry-run"]
            for f in files:
                argv += ["-f", os.path.join(DOCKER, f)]
            out = subprocess.run(argv + ["up", "--no-build"], capture_output=True, text=True,
                                 timeout=60, cwd=SOURCE)
            self.assertEqual(out.returncode, 0, out.stderr)
            runs = {}
            for line in out.stdout.splitlines():
                argv = shlex.split(line)
                if len(argv) > 1 and argv[1] in ("create", "run"):
                    name = next(a for a in argv if a.startswith("--name="))
                    runs[name.split("_")[-2]] = argv
            return runs

        runs = dry_run("compose.yaml")
        self.assertEqual(set(runs), {"emulator", "gateway"})
        for name, argv in runs.items():
            with self.subTest(service=name):
                self.assertIn("--read-only", argv)
                self.assertIn("65532:65532", argv[argv.index("-u") + 1])
                self.assertEqual(argv[argv.index("--cap-drop") + 1], "ALL")
                self.assertFalse([a for a in argv if a.startswith("--healthcheck")])
        gateway = runs["gateway"]
        mounts = [gateway[i + 1] for i, a in enumerate(gateway) if a == "-v"]
        self.assertEqual(len(mounts), 2, mounts)
        with open(os.path.join(DOCKER, "dev", "config.yaml")) as f:
            key_file = yaml.safe_load(f)["profiles"]["default"]["api_key_file"]
        targets = {}
        for m in mounts:
            src, dst, mode = m.split(":")
            self.assertEqual(mode, "ro")
            self.assertTrue(os.path.isfile(src), src)
            targets[dst] = src
        self.assertIn(key_file, targets)
        config_path = gateway[gateway.index("--config") + 1]
        self.assertEqual(os.path.realpath(targets[config_path]),
                         os.path.join(os.path.realpath(DOCKER), "dev", "config.yaml"))
        self.assertIn("127.0.0.1:50051:50051", gateway)
        # Why the health check is a separate file: 1.0.3 hands even an
        # exec-form test to /bin/sh, which the image does not have.
        if "1.0.3" in version:
            gateway = dry_run("compose.yaml", "compose.healthcheck.yaml")["gateway"]
            command = gateway[gateway.index("--healthcheck-command") + 1]
            self.assertTrue(command.startswith("/bin/sh -c"), command)


def check_compose(compose, health, config, dockerfile):
    """Problems with docker/compose.yaml (+ compose.healthcheck.yaml) as strings:
    the subset that Docker Compose v2 and podman-compose 1.0.3 both run alike."""
    p = []
    stages = dockerfile_stages(dockerfile)
    stage_names = {s["name"] for s in stages}
    entry = {}
    for s in stages:
        for word, rest in s["instructions"]:
            if word == "ENTRYPOINT":
                entry[s["name"]] = json.loads(rest)
    for section in ("configs", "secrets"):
        if section in compose:
            p.append(f"compose.yaml: top-level {section}: (podman-compose 1.0.3 ignores "
                     "configs:; use read-only bind mounts)")
    services = compose.get("services", {})
    if set(services) != {"gateway", "emulator"}:
        p.append(f"compose.yaml: services {sorted(services)}, expected gateway and emulator")
    for name, service in services.items():
        build = service.get("build", {})
        context = os.path.normpath(os.path.join(DOCKER, build.get("context", ".")))
        if context != os.path.normpath(SOURCE):
            p.append(f"{name}: build context {context} is not the repository root "
                     "(where .dockerignore is)")
        if not os.path.isfile(os.path.join(context, build.get("dockerfile", "Dockerfile"))):
            p.append(f"{name}: dockerfile {build.get('dockerfile')} does not exist")
        if build.get("target") not in stage_names:
            p.append(f"{name}: target {build.get('target')} is no Dockerfile stage")
        if not service.get("read_only"):
            p.append(f"{name}: read_only root file system not set")
        if str(service.get("user", "0")).split(":")[0] in ("0", "root"):
            p.append(f"{name}: runs as root")
        if "ALL" not in service.get("cap_drop", []):
            p.append(f"{name}: cap_drop does not drop ALL")
        if "healthcheck" in service:
            p.append(f"{name}: healthcheck in compose.yaml (podman-compose 1.0.3 runs it "
                     "under /bin/sh, which the image lacks): put it in compose.healthcheck.yaml")
        if "configs" in service or "secrets" in service:
            p.append(f"{name}: configs/secrets: use read-only bind mounts")
        for volume in service.get("volumes", []):
            parts = str(volume).split(":")
            if len(parts) != 3 or parts[2] != "ro":
                p.append(f"{name}: volume {volume} is not read-only (SRC:DST:ro)")
            if not os.path.exists(os.path.join(DOCKER, parts[0])):
                p.append(f"{name}: volume source {parts[0]} does not exist")
    gateway = services.get("gateway", {})
    drain = duration_seconds(config.get("drain_timeout", "20s"))
    if duration_seconds(gateway.get("stop_grace_period", "10s")) <= drain:
        p.append("gateway: stop_grace_period is not above drain_timeout")
    # Every file the config names is mounted.
    targets = {str(v).split(":")[1] for v in gateway.get("volumes", []) if ":" in str(v)}
    command = gateway.get("command", [])
    if "--config" in command and command[command.index("--config") + 1] not in targets:
        p.append("gateway: the --config file is not mounted")
    for profile in (config.get("profiles") or {}).values():
        if profile.get("api_key_file") and profile["api_key_file"] not in targets:
            p.append(f"gateway: api_key_file {profile['api_key_file']} is not mounted")
    # The health check override: exec form, the image's own binary, the
    # health_listen port.
    check = (health.get("services", {}).get("gateway", {}).get("healthcheck") or {})
    test = check.get("test")
    if not isinstance(test, list) or not test or test[0] != "CMD":
        p.append(f"compose.healthcheck.yaml: test {test} is not exec form ([\"CMD\", ...])")
    else:
        binary = entry.get(gateway.get("build", {}).get("target"), [None])[0]
        if test[1] != binary:
            p.append(f"compose.healthcheck.yaml: {test[1]} is not in the image (its binary "
                     f"is {binary})")
        probe = [a for a in test[2:] if a.startswith("--probe=")]
        health_port = address_port(config.get("health_listen", ":0"))
        if not probe or address_port(probe[0].split("=", 1)[1]) != health_port:
            p.append(f"compose.healthcheck.yaml: probe {probe} is not the health_listen port "
                     f"{health_port}")
    return p


class RedisConfigTest(unittest.TestCase):
    """overlays/shared-redis's redis.conf run by Debian's redis-server (the
    package the operator's image is built from): a password is required, and
    nothing is written to disk, not even on shutdown."""

    def test_redis_conf_requires_the_password_and_persists_nothing(self):
        server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        if server is None or cli is None:
            self.skipTest("redis-server/redis-cli not installed (Debian: redis-server)")
        with open(os.path.join(DEPLOY, "overlays", "shared-redis", "redis.conf")) as f:
            conf = f.read()
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            password = "made-up-" + os.urandom(8).hex()
            data = os.path.join(tmp, "data")
            os.mkdir(data)
            with open(os.path.join(tmp, "redis-auth.conf"), "w") as f:
                f.write(f"requirepass {password}\n")   # the Secret's redis-auth.conf
            # Only where it runs changes: loopback, a free port, temporary paths.
            conf = re.sub(r"(?m)^port .*$", f"port {port}", conf)
            conf = re.sub(r"(?m)^bind .*$", "bind 127.0.0.1", conf)
            conf = re.sub(r"(?m)^dir .*$", f"dir {data}", conf)
            conf = re.sub(r"(?m)^include /run/secrets/files-gateway-redis/",
                          f"include {tmp}/", conf)
            with open(os.path.join(tmp, "redis.conf"), "w") as f:
                f.write(conf)
            proc = subprocess.Popen([server, os.path.join(tmp, "redis.conf")],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                def redis(*args, auth=True):
                    argv = [cli, "-h", "127.0.0.1", "-p", str(port), "--no-auth-warning"]
                    if auth:
                        argv += ["-a", password]
                    return subprocess.run(argv + list(args), capture_output=True, text=True,
                                          timeout=10).stdout

                log = []
                for line in proc.stdout:   # until it serves (or exits)
                    log.append(line)
                    if "Ready to accept connections" in line:
                        break
                self.assertIsNone(proc.poll(), "".join(log))
                self.assertEqual(redis("PING"), "PONG\n")
                self.assertIn("NOAUTH", redis("PING", auth=False))
                self.assertEqual(redis("CONFIG", "GET", "save"), "save\n\n")
                self.assertEqual(redis("CONFIG", "GET", "appendonly"), "appendonly\nno\n")
                self.assertEqual(redis("CONFIG", "GET", "maxmemory-policy"),
                                 "maxmemory-policy\nnoeviction\n")
                self.assertEqual(redis("SET", "k", "v"), "OK\n")
                redis("SHUTDOWN")
                proc.wait(timeout=10)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            self.assertEqual(os.listdir(data), [], "Redis wrote to its data directory")


# ------------------------------------------------------- Kubernetes schemas


def schema_problems(objects):
    """Each object checked against Kubernetes' API schemas (npm kubernetes-models,
    schemas/validate_objects.js): [(kind/name, [problem, ...])]."""
    node = os.environ.get("FILESGW_NODE") or shutil.which("node")
    modules = os.environ.get("FILESGW_K8S_SCHEMAS", "")
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(objects, f)
        f.flush()
        out = subprocess.run([node, os.path.join(HERE, "schemas", "validate_objects.js"), f.name],
                             capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, NODE_PATH=modules))
    if out.returncode != 0:
        raise RuntimeError(f"validate_objects.js failed: {out.stderr}")
    return [(f"{r['kind']}/{r['name']}", r["problems"]) for r in json.loads(out.stdout)]


class SchemaTest(unittest.TestCase):
    """Every object every kustomization renders, validated against the API
    schemas of Kubernetes itself (not hand-picked properties): a wrong type,
    a missing required field or a misplaced field fails."""

    @classmethod
    def setUpClass(cls):
        modules = os.environ.get("FILESGW_K8S_SCHEMAS", "")
        if not modules:
            raise unittest.SkipTest("FILESGW_K8S_SCHEMAS is not set (CTest's "
                                    "deploy_schemas_install fixture installs it)")
        if not os.path.isdir(os.path.join(modules, "kubernetes-models")):
            raise AssertionError(f"{modules} has no kubernetes-models: run "
                                 "ctest -R deploy_schemas_install")
        cls.rendered = render_all()

    def test_every_rendered_object_passes_the_api_schemas(self):
        total = 0
        for k, objects in self.rendered.items():
            for name, problems in schema_problems(objects):
                total += 1
                with self.subTest(kustomization=k, object=name):
                    self.assertEqual(problems, [])
        self.assertGreaterEqual(total, 11)

    def test_broken_objects_fail(self):
        shared = self.rendered["overlays/shared"]

        def find(kind):
            return copy.deepcopy(next(o for o in shared if o["kind"] == kind))

        def gateway(deployment):
            return deployment["spec"]["template"]["spec"]["containers"][0]

        cases = []
        d = find("Deployment")
        d["spec"]["replicas"] = "2"
        cases.append(("a string for an integer", d, "/spec/replicas must be integer"))
        d = find("Deployment")
        gateway(d)["readOnlyRootFilesystem"] = gateway(d)["securityContext"].pop(
            "readOnlyRootFilesystem")
        cases.append(("a field one level too high", d,
                      "unknown field /spec/template/spec/containers/0/readOnlyRootFilesystem"))
        d = find("Deployment")
        d["spec"]["template"]["spec"]["terminationGracePeriod"] = 35
        cases.append(("a misspelt field", d,
                      "unknown field /spec/template/spec/terminationGracePeriod"))
        d = find("Deployment")
        del gateway(d)["name"]
        cases.append(("a required field missing", d, "must have required property name"))
        svc = find("Service")
        svc["spec"]["ports"][0]["port"] = "50051"
        cases.append(("a port as a string", svc, "/spec/ports/0/port must be integer"))
        np = find("NetworkPolicy")
        np["spec"]["policyTypes"] = "Ingress"
        cases.append(("a string for a list", np, "/spec/policyTypes must be array"))
        hpa = find("HorizontalPodAutoscaler")
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] = "70%"
        cases.append(("a quantity in the wrong form", hpa, "must be integer"))
        pdb = find("PodDisruptionBudget")
        pdb["kind"] = "PodDisruptionBudgets"
        cases.append(("a kind the API does not have", pdb, "no schema for policy/v1"))
        results = schema_problems([obj for _, obj, _ in cases])
        for (what, _, expected), (name, problems) in zip(cases, results):
            with self.subTest(case=what, object=name):
                self.assertIn(expected, "\n".join(problems))


# ---------------------------------------------------------------- root fs


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def grpc_unary(address, method, request=b"", timeout=5):
    import grpc
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary(method, request_serializer=lambda x: x,
                                   response_deserializer=lambda x: x)
        return call(request, timeout=timeout)


class RootfsTest(unittest.TestCase):
    """The image's root file systems, built by the Dockerfile's own steps and
    started under chroot: proves the library set is complete and that the
    programs run as 65532 on a root they cannot write."""

    @classmethod
    def setUpClass(cls):
        if not BINARY or not os.path.isdir(BINARY):
            raise unittest.SkipTest("FILESGW_BINARY_DIR is not set")
        chroot = shutil.which("chroot") or "/usr/sbin/chroot"
        if os.geteuid() == 0:
            cls.prefix = [chroot, "--userspec=65532:65532"]
            cls.as_user = True
        elif shutil.which("unshare") and subprocess.run(
                ["unshare", "-r", "true"], capture_output=True).returncode == 0:
            cls.prefix = ["unshare", "-r", chroot]
            cls.as_user = False
        else:
            raise unittest.SkipTest("neither root nor user namespaces: cannot chroot")
        with open(os.path.join(DOCKER, "Dockerfile")) as f:
            text = f.read()
        cls.tmp = tempfile.mkdtemp(prefix="filesgw-rootfs-")
        cls.roots = {}
        for out, programs in stage_rootfs_steps(text):
            local_out = os.path.join(cls.tmp, out.strip("/").replace("/", "_"))
            local_programs = [re.sub(r"^/build/", BINARY.rstrip("/") + "/", p) for p in programs]
            if not all(os.path.exists(p) for p in local_programs):
                continue   # a Debian package's program not installed here (redis-server)
            subprocess.run([os.path.join(DOCKER, "stage-rootfs"), local_out] + local_programs,
                           check=True, timeout=300)
            for p in programs:
                cls.roots[os.path.basename(p)] = local_out
        cls.procs = []

    @classmethod
    def tearDownClass(cls):
        for proc in getattr(cls, "procs", []):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if getattr(cls, "tmp", None):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def start(self, program, args, stdout=subprocess.PIPE):
        root = self.roots[program]
        proc = subprocess.Popen(self.prefix + [root, f"/usr/local/bin/{program}"] + args,
                                stdout=stdout, stderr=subprocess.PIPE, env={}, text=True)
        self.procs.append(proc)
        return proc

    def test_nothing_writable_by_the_user(self):
        for program, root in self.roots.items():
            with self.subTest(program=program):
                for dirpath, dirnames, filenames in os.walk(root):
                    for name in dirnames + filenames:
                        st = os.lstat(os.path.join(dirpath, name))
                        self.assertFalse(st.st_mode & stat.S_IWOTH, name)
                        self.assertNotEqual(st.st_uid, 65532, name)
                        if st.st_gid == 65532:
                            self.assertFalse(st.st_mode & stat.S_IWGRP, name)
                self.assertTrue(os.path.isfile(os.path.join(root, "etc/ssl/certs",
                                                            "ca-certificates.crt")))
                self.assertTrue(os.listdir(os.path.join(root, "var/lib/dpkg/status.d")))
                # What scanners match the package records against: the build
                # stage's release, as plain files.
                for name in ("etc/os-release", "usr/lib/os-release", "etc/debian_version"):
                    staged = os.path.join(root, name)
                    self.assertTrue(os.path.isfile(staged) and not os.path.islink(staged), name)
                    with open(staged) as f, open("/" + name) as host:
                        self.assertEqual(f.read(), host.read(), name)
                with open(os.path.join(root, "etc/os-release")) as f:
                    self.assertRegex(f.read(), r"(?m)^ID=")

    def test_redis_serves_from_its_root_file_system(self):
        """The redis stage with deploy/overlays/shared-redis's redis.conf, as the
        pod runs it: user 65532, config and password file mounted, nothing
        written."""
        if "redis-server" not in self.roots or shutil.which("redis-cli") is None:
            self.skipTest("redis-server/redis-cli not installed (Debian: redis-server)")
        root = self.roots["redis-server"]
        port = free_port()
        password = "made-up-" + os.urandom(8).hex()
        with open(os.path.join(DEPLOY, "overlays", "shared-redis", "redis.conf")) as f:
            conf = f.read()
        conf = re.sub(r"(?m)^port .*$", f"port {port}", conf)
        conf = re.sub(r"(?m)^bind .*$", "bind 127.0.0.1", conf)
        for d in ("etc/files-gateway-redis/config", "run/secrets/files-gateway-redis", "data"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        with open(os.path.join(root, "etc/files-gateway-redis/config/redis.conf"), "w") as f:
            f.write(conf)
        with open(os.path.join(root, "run/secrets/files-gateway-redis/redis-auth.conf"),
                  "w") as f:
            f.write(f"requirepass {password}\n")
        if self.as_user:
            os.chown(os.path.join(root, "data"), 65532, 65532)   # the pod's emptyDir
        proc = subprocess.Popen(self.prefix + [root, "/usr/local/bin/redis-server",
                                               "/etc/files-gateway-redis/config/redis.conf"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={})
        self.procs.append(proc)
        log = []
        for line in proc.stdout:
            log.append(line)
            if "Ready to accept connections" in line:
                break
        self.assertIsNone(proc.poll(), "".join(log))

        def redis(*args):
            return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port),
                                   "--no-auth-warning", "-a", password] + list(args),
                                  capture_output=True, text=True, timeout=10).stdout

        self.assertEqual(redis("PING"), "PONG\n")
        self.assertEqual(redis("SET", "k", "v"), "OK\n")
        # Scanners see the Redis packages themselves, not only its libraries'.
        records = os.listdir(os.path.join(root, "var/lib/dpkg/status.d"))
        self.assertIn("redis-tools", records)   # owns the binary (redis-check-rdb)
        self.assertIn("redis-server", records)
        redis("SHUTDOWN")
        self.assertEqual(proc.wait(timeout=10), 0)
        self.assertEqual(os.listdir(os.path.join(root, "data")), [])

    def test_emulator_and_gateway_serve_from_their_root_file_systems(self):
        # The emulator image's ENTRYPOINT, with a free loopback port instead of 8080.
        emulator = self.start("files-emulator", ["--listen", "127.0.0.1:0"])
        line = emulator.stdout.readline()
        if not line:
            emulator.kill()
            self.fail("emulator printed nothing: " + emulator.stderr.read())
        base_url = json.loads(line)["base_url"]

        binary = gateway_binary()
        if binary is None or not supports(binary, "--health-listen"):
            self.skipTest("this files-gateway has no --config/--health-listen yet")
        root = self.roots["files-gateway"]
        grpc_port, health_port = free_port(), free_port()
        os.makedirs(os.path.join(root, "etc/files-gateway"), exist_ok=True)
        os.makedirs(os.path.join(root, "run/secrets"), exist_ok=True)
        with open(os.path.join(root, "run/secrets/api-key"), "w") as f:
            f.write("emulatorkey0001\n")
        with open(os.path.join(root, "etc/files-gateway/config.yaml"), "w") as f:
            f.write(f"listen: \"127.0.0.1:{grpc_port}\"\n"
                    f"health_listen: \"127.0.0.1:{health_port}\"\n"
                    "metrics_listen: \"off\"\n"
                    "drain_timeout: 2s\n"
                    "profiles:\n  default:\n"
                    f"    base_url: {base_url}\n"
                    "    api_key_file: /run/secrets/api-key\n")
        # Docker's marker file: the gateway, on loopback, must warn that a
        # published port cannot reach it.
        with open(os.path.join(root, ".dockerenv"), "w"):
            pass
        gateway = self.start("files-gateway", ["--config", "/etc/files-gateway/config.yaml"],
                             stdout=subprocess.DEVNULL)
        deadline = time.time() + 30
        health = None
        while time.time() < deadline and gateway.poll() is None:
            try:
                health = grpc_unary(f"127.0.0.1:{health_port}", "/grpc.health.v1.Health/Check",
                                    timeout=1)
                break
            except Exception:  # not listening yet
                time.sleep(0.2)
        if health is None:
            gateway.kill()
            self.fail("the gateway's health_listen never answered: " + gateway.stderr.read())
        self.assertEqual(health, b"\x08\x01", "health_listen did not answer SERVING")
        # FindUser(id: 1) through the gateway to the emulator: a User named admin.
        user = grpc_unary(f"127.0.0.1:{grpc_port}", "/files.v1.UserService/FindUser", b"\x08\x01")
        self.assertIn(b"admin", user)
        gateway.terminate()
        self.assertEqual(gateway.wait(timeout=30), 0)
        lines = [json.loads(line) for line in gateway.stderr.read().splitlines()
                 if line.startswith("{")]
        warnings = [line for line in lines if line.get("level") == "warn"
                    and "published ports cannot reach it" in line.get("msg", "")]
        self.assertEqual(len(warnings), 1, lines)
        self.assertEqual(warnings[0]["address"], f"127.0.0.1:{grpc_port}")
        self.assertEqual(warnings[0]["container"], "/.dockerenv")
        self.assertIn("0.0.0.0:50051 with callers:", warnings[0]["hint"])


if __name__ == "__main__":
    unittest.main()
