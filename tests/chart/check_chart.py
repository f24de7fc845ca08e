#!/usr/bin/env python3
"""Checks the Helm chart without a helm binary (CI has none): run by .ci/run.

1. Validates values.yaml, and each scenario in tests/chart/values/ merged over it, against
   values.schema.json (as helm does on install), and checks that invalid values are refused.
2. Renders every template with those values through tests/chart/render.go (Go's text/template
   with the Sprig functions, like helm; built from Debian's Go packages), parses every rendered
   document as YAML and checks what the chart promises: names, labels and selectors agree,
   a restrictive securityContext, probes, the ConfigMap and Secrets referenced exist, optional
   objects appear exactly when enabled.
3. Checks that invalid combinations fail to render (SQLite with several replicas, ...).
4. Where `helm` is installed, also runs `helm lint` and `helm template` on every scenario.

Needs python3 with PyYAML and jsonschema, and go with Debian's golang-github-masterminds-sprig-dev
and golang-k8s-sigs-yaml-dev (.ci/run installs them). Exits non-zero on any failure.
"""

import copy
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CHART = os.path.join(REPO, "helm", "openadr3-vtn")
SCENARIOS = sorted(glob.glob(os.path.join(HERE, "values", "*.yaml")))

passed = 0
failures = []


def check(condition, what):
    global passed
    if condition:
        passed += 1
    else:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


def merge(dst, src):
    """Overlays src on dst as helm merges -f files (maps deeply, null removes a key)."""
    for key, value in src.items():
        if value is None:
            dst.pop(key, None)
        elif isinstance(value, dict) and isinstance(dst.get(key), dict):
            merge(dst[key], value)
        else:
            dst[key] = value
    return dst


def build_renderer(workdir):
    """Builds render.go in GOPATH mode against Debian's Go library packages (no download)."""
    if shutil.which("go") is None:
        sys.exit("go is required (apt-get install golang-go golang-github-masterminds-sprig-dev "
                 "golang-k8s-sigs-yaml-dev); .ci/run installs it")
    gocode = "/usr/share/gocode/src"
    gopath = os.path.join(workdir, "gopath")
    # Debian installs sprig v3 and semver v3 without the /v3 suffix their import paths carry.
    for module in ("sprig", "semver"):
        source = os.path.join(gocode, "github.com", "Masterminds", module)
        if not os.path.isdir(source):
            sys.exit(f"{source} is missing: apt-get install golang-github-masterminds-{module}-dev")
        link = os.path.join(gopath, "src", "github.com", "Masterminds", module, "v3")
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(source, link)
    binary = os.path.join(workdir, "render")
    env = dict(os.environ, GOPATH=f"{gopath}:/usr/share/gocode", GO111MODULE="off", GOFLAGS="",
               GOCACHE=os.environ.get("GOCACHE", os.path.join(tempfile.gettempdir(), "vtn-chart-gocache")))
    subprocess.run(["go", "build", "-o", binary, os.path.join(HERE, "render.go")],
                   check=True, env=env)
    return binary


def render(renderer, values_files, outdir):
    args = [renderer, CHART, outdir]
    for f in values_files:
        args += ["-f", f]
    return subprocess.run(args, capture_output=True, text=True)


def load_rendered(outdir):
    """{path: [documents]} of every rendered template except NOTES.txt."""
    docs = {}
    for path in sorted(glob.glob(os.path.join(outdir, "templates", "**", "*"), recursive=True)):
        if os.path.isdir(path) or path.endswith("NOTES.txt"):
            continue
        rel = os.path.relpath(path, outdir)
        with open(path) as f:
            text = f.read()
        try:
            parsed = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as e:
            check(False, f"{rel} is not valid YAML: {e}")
            continue
        docs[rel] = parsed
    return docs


def check_scenario(name, values, docs, notes):
    objects = [d for ds in docs.values() for d in ds]
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj.get("kind"), []).append(obj)
    for obj in objects:
        ident = f"{name}: {obj.get('kind')} {obj.get('metadata', {}).get('name')}"
        check(isinstance(obj, dict) and obj.get("apiVersion") and obj.get("kind"),
              f"{ident} has apiVersion and kind")
        meta = obj.get("metadata", {})
        check(bool(meta.get("name")) and len(meta["name"]) <= 63, f"{ident} has a name of at most 63 characters")
        labels = meta.get("labels", {})
        check(labels.get("app.kubernetes.io/instance") == "vtn", f"{ident} carries the instance label")
        check(labels.get("app.kubernetes.io/managed-by") == "Helm", f"{ident} carries managed-by")
    check(bool(notes.strip()), f"{name}: NOTES.txt renders")

    postgres = values["database"]["type"] == "postgres"
    deployments = by_kind.get("Deployment", [])
    check(len(deployments) == 1, f"{name}: one Deployment")
    if not deployments:
        return
    deployment = deployments[0]
    pod = deployment["spec"]["template"]
    pod_labels = pod["metadata"]["labels"]
    check(all(pod_labels.get(k) == v for k, v in deployment["spec"]["selector"]["matchLabels"].items()),
          f"{name}: the Deployment's selector matches its pods")
    services = by_kind.get("Service", [])
    check(len(services) == 1, f"{name}: one Service")
    service = services[0]
    check(all(pod_labels.get(k) == v for k, v in service["spec"]["selector"].items()),
          f"{name}: the Service selects the server pods")

    spec = pod["spec"]
    pod_security = spec.get("securityContext", {})
    check(pod_security.get("runAsNonRoot") is True, f"{name}: pods run as non-root")
    check(spec.get("automountServiceAccountToken") is False, f"{name}: no service account token mounted")
    secrets = {s["metadata"]["name"] for s in by_kind.get("Secret", [])}
    configmaps = {c["metadata"]["name"]: c for c in by_kind.get("ConfigMap", [])}
    external_secrets = {values["database"].get("existingSecret"), values["auth"].get("existingSecret"),
                        values["metrics"].get("existingSecret"),
                        values["secretKeys"].get("existingSecret")} - {"", None}
    has_secret_keys = bool(values["secretKeys"].get("existingSecret") or values["secretKeys"].get("keys", "").strip())
    for c in configmaps.values():
        check(all(isinstance(v, str) for v in c.get("data", {}).values()),
              f"{name}: ConfigMap {c['metadata']['name']} holds strings only")
    for container in spec["containers"]:
        sc = container.get("securityContext", {})
        check(sc.get("readOnlyRootFilesystem") is True, f"{name}: read-only root filesystem")
        check(sc.get("allowPrivilegeEscalation") is False, f"{name}: no privilege escalation")
        check("ALL" in sc.get("capabilities", {}).get("drop", []), f"{name}: all capabilities dropped")
        check(container.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/health",
              f"{name}: liveness probe on /health")
        check(container.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/ready",
              f"{name}: readiness probe on /ready")
        check("limits" in container.get("resources", {}), f"{name}: resource limits set")
        env_from = [e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e]
        check(env_from and all(n in configmaps for n in env_from),
              f"{name}: the container's settings come from the chart's ConfigMap")
        settings = {}
        for n in env_from:
            settings.update(configmaps[n].get("data", {}))
        env = {e["name"]: e for e in container.get("env", [])}
        check("DATABASE_URL" in env, f"{name}: DATABASE_URL is set")
        for var in env.values():
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                check(ref["name"] in secrets or ref["name"] in external_secrets,
                      f"{name}: {var['name']} refers to a Secret of the chart or of the values ({ref['name']})")
        check(settings.get("VTN_METRICS") == str(values["metrics"]["enabled"]).lower(),
              f"{name}: VTN_METRICS follows metrics.enabled")
        check(("VTN_METRICS_TOKEN" in env) == bool(values["metrics"].get("existingSecret")),
              f"{name}: VTN_METRICS_TOKEN exactly when metrics.existingSecret is set")
        check(("VTN_SECRET_KEYS" in env) == has_secret_keys,
              f"{name}: VTN_SECRET_KEYS exactly when secret keys are configured")
        if "VTN_SECRET_KEYS" in env:
            check(env["VTN_SECRET_KEYS"].get("valueFrom", {}).get("secretKeyRef") is not None,
                  f"{name}: the secret keys come from a Secret")
        if postgres:
            check(env["DATABASE_URL"].get("valueFrom") is not None, f"{name}: the PostgreSQL URL comes from a Secret")
        else:
            check(env["DATABASE_URL"].get("value", "").startswith("sqlite://"), f"{name}: SQLite URL")
    check("checksum/config" in pod["metadata"].get("annotations", {}), f"{name}: config changes roll the pods")

    monitors = by_kind.get("ServiceMonitor", [])
    wanted = values["metrics"]["enabled"] and values["metrics"]["serviceMonitor"]["enabled"]
    check(len(monitors) == (1 if wanted else 0), f"{name}: a ServiceMonitor exactly when enabled")
    for monitor in monitors:
        selector = monitor["spec"]["selector"]["matchLabels"]
        svc_labels = service["metadata"]["labels"]
        check(all(svc_labels.get(k) == v for k, v in selector.items()), f"{name}: the ServiceMonitor selects the Service")
        endpoint = monitor["spec"]["endpoints"][0]
        check(endpoint["path"] == "/metrics" and endpoint["port"] == "http", f"{name}: ServiceMonitor scrapes /metrics")
    check(bool(by_kind.get("Ingress")) == values["ingress"]["enabled"], f"{name}: an Ingress exactly when enabled")
    for ingress in by_kind.get("Ingress", []):
        paths = [p["path"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]]
        check("/metrics" not in paths, f"{name}: the Ingress does not expose /metrics")
    check(bool(by_kind.get("HorizontalPodAutoscaler")) == values["autoscaling"]["enabled"],
          f"{name}: an HPA exactly when autoscaling is enabled")
    check(bool(by_kind.get("PodDisruptionBudget")) == values["podDisruptionBudget"]["enabled"],
          f"{name}: a PDB exactly when enabled")
    jobs = by_kind.get("Job", [])
    check(len(jobs) == (1 if postgres and values["migration"]["enabled"] else 0),
          f"{name}: a migration Job exactly with PostgreSQL")
    hook_secrets = {s["metadata"]["name"] for s in by_kind.get("Secret", [])
                    if "pre-install" in s["metadata"].get("annotations", {}).get("helm.sh/hook", "")}
    for job in jobs:
        check("pre-upgrade" in job["metadata"]["annotations"].get("helm.sh/hook", ""), f"{name}: migration is a hook")
        job_env = {e["name"]: e for c in job["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
        # The Job opens the database like the server: it needs the same secret keys.
        check("VTN_SECRET_KEYS" in job_env, f"{name}: the migration Job gets the secret keys")
        for var in job_env.values():
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                check(ref["name"] in hook_secrets or ref["name"] in external_secrets,
                      f"{name}: the Job's {var['name']} refers to a hook Secret or one of the values ({ref['name']})")
    pvcs = by_kind.get("PersistentVolumeClaim", [])
    wants_pvc = not postgres and values["persistence"]["enabled"] and not values["persistence"]["existingClaim"]
    check(bool(pvcs) == wants_pvc, f"{name}: a PVC exactly for SQLite with persistence")


def main():
    with open(os.path.join(CHART, "values.schema.json")) as f:
        schema = json.load(f)
    with open(os.path.join(CHART, "values.yaml")) as f:
        defaults = yaml.safe_load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)

    workdir = tempfile.mkdtemp(prefix="vtn-chart-")
    try:
        renderer = build_renderer(workdir)
        scenarios = [("defaults", [])] + [(os.path.basename(p), [p]) for p in SCENARIOS]
        for name, files in scenarios:
            values = copy.deepcopy(defaults)
            for path in files:
                with open(path) as f:
                    merge(values, yaml.safe_load(f) or {})
            errors = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(values)]
            check(not errors, f"{name}: values match values.schema.json {errors}")
            outdir = os.path.join(workdir, "out-" + name)
            result = render(renderer, files, outdir)
            check(result.returncode == 0, f"{name}: renders ({result.stderr.strip()})")
            if result.returncode != 0:
                continue
            with open(os.path.join(outdir, "templates", "NOTES.txt")) as f:
                notes = f.read()
            check_scenario(name, values, load_rendered(outdir), notes)

        # Values the schema must refuse.
        for bad in ({"database": {"type": "mysql"}}, {"replicaCount": "three"}, {"unknownKey": 1},
                    {"config": {"logFormat": "xml"}}, {"auth": {"jwtSecret": "short"}},
                    {"metrics": {"serviceMonitor": {"enabled": "yes"}}},
                    {"secretKeys": {"keys": "k1:too-short"}}, {"secretKeys": {"keys": "no-key-id"}}):
            values = merge(copy.deepcopy(defaults), copy.deepcopy(bad))
            check(not validator.is_valid(values), f"the schema refuses {bad}")

        # Combinations the templates must refuse (they pass the schema, which cannot see them).
        for bad, message in (({"replicaCount": 2}, "exactly one replica"),
                             ({"database": {"type": "postgres"}}, "needs the connection URL"),
                             ({"database": {"type": "postgres", "url": "postgres://vtn@db/vtn"}},
                              "needs the secret keys"),
                             ({"autoscaling": {"enabled": True}}, "needs database.type=postgres")):
            path = os.path.join(workdir, "bad.yaml")
            with open(path, "w") as f:
                yaml.safe_dump(bad, f)
            result = render(renderer, [path], os.path.join(workdir, "out-bad"))
            check(result.returncode != 0 and message in result.stderr,
                  f"rendering {bad} fails with '{message}' ({result.stderr.strip()[:200]})")

        helm = shutil.which("helm")
        if helm:
            check(subprocess.run([helm, "lint", CHART]).returncode == 0, "helm lint")
            for name, files in scenarios:
                args = [helm, "template", "vtn", CHART]
                for path in files:
                    args += ["-f", path]
                check(subprocess.run(args, stdout=subprocess.DEVNULL).returncode == 0, f"helm template {name}")
        else:
            print("helm not installed: helm lint / helm template skipped (the checks above ran)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"chart checks: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
