#!/usr/bin/env python3
"""Renders a kustomization directory: the subset of Kustomize that deploy/ uses.

Debian 12's archive has no kubectl with a current Kustomize (kubernetes-client
is 1.20, whose Kustomize predates `patches:` and `labels:`), so the deployment
checks render with this. When a kubectl with Kustomize is installed, the test
also renders with `kubectl kustomize` and requires the same objects.

Kustomization fields understood (anything else is an error, which keeps
deploy/ within the subset):
  resources          files (one or more YAML documents) and directories
                     (kustomizations, rendered first)
  configMapGenerator name, files (KEY=PATH or PATH), literals, behavior
                     (create, replace, merge); the name gets Kustomize's
                     content hash, and references to it in pod templates
                     (volumes, projected volumes, envFrom, env) follow
  patches            path or inline patch, optional target (kind, name):
                     strategic merge (a mapping) or JSON 6902 (a list of
                     add / remove / replace operations)
  namespace          sets metadata.namespace on namespaced objects
  labels             pairs, includeSelectors (Deployment selector and
                     template, Service selector)
  images             name, newName, newTag, digest
Transformers run in Kustomize's order: generators, patches, namespace,
labels, images; content hashes last.

usage: kustomize_lite.py DIR   (prints the rendered YAML)
"""

import copy
import hashlib
import json
import os
import sys

import yaml


class KustomizeError(Exception):
    pass


KNOWN_FIELDS = {"apiVersion", "kind", "resources", "configMapGenerator", "patches",
                "namespace", "labels", "images"}

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass",
                  "RuntimeClass", "ValidatingWebhookConfiguration",
                  "MutatingWebhookConfiguration", "APIService"}

POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

# Strategic merge: list fields merged by a key (others are replaced whole).
MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name",
              "volumes": "name", "volumeMounts": "mountPath", "env": "name",
              "imagePullSecrets": "name", "topologySpreadConstraints": "topologyKey"}

# Kustomize's output order (its "legacy" order), then everything else by kind.
ORDER_FIRST = ["Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
               "ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding",
               "ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service",
               "LimitRange", "PriorityClass", "PersistentVolume", "PersistentVolumeClaim",
               "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget"]
ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]


class Resource:
    def __init__(self, obj, generated=False):
        self.obj = obj
        self.generated = generated  # a generated ConfigMap: gets the hash suffix

    @property
    def kind(self):
        return self.obj.get("kind")

    @property
    def name(self):
        return self.obj.get("metadata", {}).get("name")

    @property
    def namespace(self):
        return self.obj.get("metadata", {}).get("namespace")


def _load_yaml_docs(path):
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    for d in docs:
        if not isinstance(d, dict) or "kind" not in d or "metadata" not in d:
            raise KustomizeError(f"{path}: every document needs kind and metadata")
    return docs


def _build(directory, stack):
    directory = os.path.realpath(directory)
    if directory in stack:
        raise KustomizeError(f"{directory}: kustomization cycle")
    kfile = os.path.join(directory, "kustomization.yaml")
    if not os.path.isfile(kfile):
        raise KustomizeError(f"{directory}: no kustomization.yaml")
    with open(kfile, encoding="utf-8") as f:
        k = yaml.safe_load(f) or {}
    unknown = set(k) - KNOWN_FIELDS
    if unknown:
        raise KustomizeError(f"{kfile}: fields outside the supported subset: "
                             f"{', '.join(sorted(unknown))}")

    resources = []
    for entry in k.get("resources", []):
        path = os.path.normpath(os.path.join(directory, entry))
        if os.path.isdir(path):
            resources.extend(_build(path, stack + [directory]))
        elif os.path.isfile(path):
            resources.extend(Resource(d) for d in _load_yaml_docs(path))
        else:
            raise KustomizeError(f"{kfile}: resource {entry} does not exist")
    _check_unique(resources, kfile)

    for gen in k.get("configMapGenerator", []):
        _generate_configmap(directory, kfile, gen, resources)
    _check_unique(resources, kfile)

    for patch in k.get("patches", []):
        _apply_patch(directory, kfile, patch, resources)
    if "namespace" in k:
        for r in resources:
            if r.kind not in CLUSTER_SCOPED:
                r.obj["metadata"]["namespace"] = k["namespace"]
    for spec in k.get("labels", []):
        _apply_labels(kfile, spec, resources)
    for image in k.get("images", []):
        _apply_image(image, resources)
    return resources


def _check_unique(resources, where):
    seen = set()
    for r in resources:
        key = (r.kind, r.namespace, r.name)
        if key in seen:
            raise KustomizeError(f"{where}: {r.kind} {r.name} defined twice")
        seen.add(key)


def _generate_configmap(directory, kfile, gen, resources):
    allowed = {"name", "namespace", "files", "literals", "behavior"}
    if set(gen) - allowed:
        raise KustomizeError(f"{kfile}: configMapGenerator fields outside the subset: "
                             f"{', '.join(sorted(set(gen) - allowed))}")
    data = {}
    for entry in gen.get("files", []):
        key, _, rel = entry.partition("=") if "=" in entry else (os.path.basename(entry), "", entry)
        path = os.path.realpath(os.path.join(directory, rel))
        if os.path.commonpath([path, directory]) != directory:
            raise KustomizeError(f"{kfile}: {rel} is outside the kustomization's folder")
        with open(path, encoding="utf-8") as f:
            data[key] = f.read()
    for entry in gen.get("literals", []):
        key, sep, value = entry.partition("=")
        if not sep:
            raise KustomizeError(f"{kfile}: literal {entry} is not KEY=VALUE")
        data[key] = value
    name = gen["name"]
    behavior = gen.get("behavior", "create")
    existing = [r for r in resources if r.kind == "ConfigMap" and r.name == name
                and r.namespace == gen.get("namespace")]
    if behavior == "create":
        if existing:
            raise KustomizeError(f"{kfile}: ConfigMap {name} exists; use behavior replace or merge")
        meta = {"name": name}
        if "namespace" in gen:
            meta["namespace"] = gen["namespace"]
        resources.append(Resource({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                                   "data": data}, generated=True))
    elif behavior in ("replace", "merge"):
        if not existing:
            raise KustomizeError(f"{kfile}: behavior {behavior}: no ConfigMap {name} to change")
        target = existing[0]
        if behavior == "replace":
            target.obj["data"] = data
        else:
            target.obj.setdefault("data", {}).update(data)
        target.generated = True
    else:
        raise KustomizeError(f"{kfile}: unknown behavior {behavior}")


def _apply_patch(directory, kfile, patch, resources):
    if set(patch) - {"path", "patch", "target"}:
        raise KustomizeError(f"{kfile}: patch fields outside the subset: {sorted(patch)}")
    if "path" in patch:
        with open(os.path.join(directory, patch["path"]), encoding="utf-8") as f:
            body = yaml.safe_load(f)
    else:
        body = yaml.safe_load(patch["patch"])
    target = patch.get("target")
    if target is not None and set(target) - {"kind", "name"}:
        raise KustomizeError(f"{kfile}: patch target supports kind and name only")
    if isinstance(body, list):  # JSON 6902
        if target is None:
            raise KustomizeError(f"{kfile}: a JSON 6902 patch needs a target")
        matches = _select(resources, target.get("kind"), target.get("name"))
        for r in matches:
            for op in body:
                _json6902(r.obj, op, kfile)
    elif isinstance(body, dict):
        if target is None:
            matches = _select(resources, body.get("kind"), body.get("metadata", {}).get("name"))
        else:
            matches = _select(resources, target.get("kind"), target.get("name"))
        for r in matches:
            patch_body = copy.deepcopy(body)
            # With a target the patch's own name does not matter.
            patch_body.get("metadata", {}).pop("name", None)
            patch_body.pop("apiVersion", None)
            patch_body.pop("kind", None)
            r.obj = _merge(r.obj, patch_body)
    else:
        raise KustomizeError(f"{kfile}: a patch is a mapping or a list of operations")
    if not matches:
        raise KustomizeError(f"{kfile}: patch {patch.get('path', '(inline)')} matches nothing")


def _select(resources, kind, name):
    return [r for r in resources if (kind is None or r.kind == kind)
            and (name is None or r.name == name)]


def _merge(base, patch):
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(base)
    for key, value in patch.items():
        if isinstance(key, str) and key.startswith("$"):
            raise KustomizeError(f"strategic merge directive {key} is outside the subset")
        if value is None:
            out.pop(key, None)
        elif key in out and isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = _merge(out[key], value)
        elif key in MERGE_KEYS and isinstance(value, list) and isinstance(out.get(key), list):
            # Kustomize's order (kyaml): the patch's items first, in its
            # order (merged with the base's item of the same key), then the
            # base's other items in theirs.
            merge_key = MERGE_KEYS[key]
            patched = {item.get(merge_key) for item in value}
            merged = []
            for item in value:
                old = next((o for o in out[key] if o.get(merge_key) == item.get(merge_key)), None)
                merged.append(copy.deepcopy(item) if old is None else _merge(old, item))
            merged.extend(copy.deepcopy(o) for o in out[key] if o.get(merge_key) not in patched)
            out[key] = merged
        else:
            out[key] = copy.deepcopy(value)
    return out


def _pointer(path):
    if not path.startswith("/"):
        raise KustomizeError(f"JSON pointer {path} must start with /")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _json6902(obj, op, where):
    parts = _pointer(op["path"])
    parent = obj
    for p in parts[:-1]:
        parent = parent[int(p)] if isinstance(parent, list) else parent[p]
    last = parts[-1]
    kind = op["op"]
    if kind in ("add", "replace"):
        value = copy.deepcopy(op["value"])
        if isinstance(parent, list):
            if last == "-":
                parent.append(value)
            elif kind == "add":
                parent.insert(int(last), value)
            else:
                parent[int(last)] = value
        else:
            if kind == "replace" and last not in parent:
                raise KustomizeError(f"{where}: replace {op['path']}: no such field")
            parent[last] = value
    elif kind == "remove":
        if isinstance(parent, list):
            del parent[int(last)]
        else:
            del parent[last]
    else:
        raise KustomizeError(f"{where}: JSON 6902 op {kind} is outside the subset")


def _apply_labels(kfile, spec, resources):
    if set(spec) - {"pairs", "includeSelectors"}:
        raise KustomizeError(f"{kfile}: labels fields outside the subset: {sorted(spec)}")
    pairs = spec.get("pairs", {})
    selectors = spec.get("includeSelectors", False)
    for r in resources:
        r.obj["metadata"].setdefault("labels", {}).update(pairs)
        if not selectors:
            continue
        spec_obj = r.obj.setdefault("spec", {}) if r.kind in POD_TEMPLATE_KINDS | {"Service"} \
            else r.obj.get("spec")
        if r.kind in POD_TEMPLATE_KINDS:
            spec_obj.setdefault("selector", {}).setdefault("matchLabels", {}).update(pairs)
            spec_obj.setdefault("template", {}).setdefault("metadata", {}) \
                .setdefault("labels", {}).update(pairs)
        elif r.kind == "Service":
            spec_obj.setdefault("selector", {}).update(pairs)
        elif r.kind not in ("ConfigMap", "Secret", "ServiceAccount", "Namespace"):
            raise KustomizeError(f"{kfile}: labels with includeSelectors on a {r.kind} is "
                                 "outside the subset")


def _containers(obj):
    spec = _pod_spec(obj)
    if spec is None:
        return []
    return spec.get("containers", []) + spec.get("initContainers", [])


def _pod_spec(obj):
    if obj.get("kind") == "Pod":
        return obj.get("spec")
    if obj.get("kind") in POD_TEMPLATE_KINDS:
        return obj.get("spec", {}).get("template", {}).get("spec")
    return None


def _apply_image(image, resources):
    name = image["name"]
    for r in resources:
        for c in _containers(r.obj):
            ref = c.get("image", "")
            base = ref.split("@")[0]
            if ":" in base.rsplit("/", 1)[-1]:
                base = base.rsplit(":", 1)[0]
            if base != name:
                continue
            new = image.get("newName", name)
            if "digest" in image:
                new += "@" + image["digest"]
            elif "newTag" in image:
                new += ":" + str(image["newTag"])
            elif ref != base:
                new += ref[len(base):]
            c["image"] = new


def configmap_hash(obj):
    """Kustomize's name suffix for a ConfigMap (as kustomize v5 computes it)."""
    encoded = {"kind": "ConfigMap", "name": "", "data": obj.get("data") or {}}
    if obj.get("binaryData"):
        encoded["binaryData"] = obj["binaryData"]
    text = json.dumps(encoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # Go's encoding/json escapes these.
    for ch, esc in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return digest.translate(str.maketrans({"0": "g", "1": "h", "3": "k", "a": "m", "e": "t"}))


def _finish(resources):
    renames = {}
    for r in resources:
        if r.generated and r.kind == "ConfigMap":
            new = f"{r.name}-{configmap_hash(r.obj)}"
            renames[(r.namespace, r.name)] = new
            r.obj["metadata"]["name"] = new
    for r in resources:
        spec = _pod_spec(r.obj)
        if spec is None:
            continue
        ns = r.namespace

        def rename(holder, key="name"):
            if holder is not None and (ns, holder.get(key)) in renames:
                holder[key] = renames[(ns, holder[key])]

        for v in spec.get("volumes", []):
            rename(v.get("configMap"))
            for source in v.get("projected", {}).get("sources", []):
                rename(source.get("configMap"))
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            for e in c.get("envFrom", []):
                rename(e.get("configMapRef"))
            for e in c.get("env", []):
                rename(e.get("valueFrom", {}).get("configMapKeyRef"))

    def order(r):
        if r.kind in ORDER_FIRST:
            rank = ORDER_FIRST.index(r.kind)
        elif r.kind in ORDER_LAST:
            rank = len(ORDER_FIRST) + 1 + ORDER_LAST.index(r.kind)
        else:
            rank = len(ORDER_FIRST)
        return (rank, r.kind if rank == len(ORDER_FIRST) else "", r.namespace or "", r.name)

    return [r.obj for r in sorted(resources, key=order)]


def render(directory):
    """The objects `kubectl kustomize DIRECTORY` would print (for the subset)."""
    return _finish(_build(directory, []))


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        objects = render(argv[1])
    except (KustomizeError, OSError, yaml.YAMLError) as e:
        print(f"kustomize_lite: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(yaml.safe_dump_all(objects, sort_keys=True, default_flow_style=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
