"""The chart, checked by real helm: `helm lint --strict`, `helm template` for the default values and
each values set in helm/ci/, values.schema.json enforced by helm, `helm package`; every rendered
object validated against the Kubernetes API schemas (the oldest version Chart.yaml allows and a
recent one). Also: the generated CRDs are committed fresh and structural, and helm/README.md is the
one generated from values.yaml.

helm is the pinned binary `make helm` (scripts/fetch_helm.py) unpacks into the venv's bin/.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import subprocess
import sys
import tarfile
import threading
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import urlparse

import aiohttp.web
import kmock
import kopf
import kubernetes_validate
import pytest
import yaml

from reconciler.cli import cli
from reconciler.operator import crds
from reconciler.operator.command import operator_settings
from reconciler.operator.handlers import OperatorConfig, build_registry

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm"
HELM = Path(sys.executable).parent / "helm"
K8S_VERSIONS = ("1.25.0", "1.34.0")  # Chart.yaml's kubeVersion floor, and a recent release
RELEASE, NAMESPACE = "ops", "ecs"
NAME = f"{RELEASE}-ecs-reconciler"
VALUES_SETS = ["default"] + sorted(p.name.removesuffix("-values.yaml") for p in (CHART / "ci").glob("*-values.yaml"))
# Custom resources: not in Kubernetes' own schemas (prometheus-operator's and kopf's kinds).
NOT_IN_K8S_SCHEMA = {"ServiceMonitor", "KopfPeering", "ClusterKopfPeering"}


def _script(name: str):
    """A module of scripts/ (a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"scripts.{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fetch_helm = _script("fetch_helm")
chart_readme = _script("chart_readme")


class Helm:
    """The venv's helm, run as a subprocess."""

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([str(HELM), *args], capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
        return done

    def template(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("template", RELEASE, str(CHART), "--namespace", NAMESPACE, *args, check=check)

    def render(self, values_set: str = "default", *args: str) -> list[dict]:
        return [doc for doc in yaml.safe_load_all(self.template(*_values_args(values_set), *args).stdout) if doc]


def _values_args(values_set: str) -> list[str]:
    return [] if values_set == "default" else ["--values", str(CHART / "ci" / f"{values_set}-values.yaml")]


@pytest.fixture(scope="module")
def helm() -> Helm:
    # A missing helm fails here (never a skip): `make test` installs it through `make helm`.
    assert HELM.is_file(), f"{HELM} is missing: run `make helm`"
    version = Helm().run("version", "--template", "{{.Version}}").stdout.strip()
    print(f"\nchart tests use helm {version} ({HELM})")
    assert version == fetch_helm.HELM_VERSION, f"{HELM} is {version}, the pin is {fetch_helm.HELM_VERSION}"
    return Helm()


def by_kind(objects: list[dict]) -> dict[str, list[dict]]:
    kinds: dict[str, list[dict]] = {}
    for obj in objects:
        kinds.setdefault(obj["kind"], []).append(obj)
    return kinds


def one(objects: list[dict], kind: str) -> dict:
    found = by_kind(objects).get(kind, [])
    assert len(found) == 1, f"expected one {kind}, rendered {len(found)}"
    return found[0]


def container(objects: list[dict]) -> dict:
    (operator,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    return operator


def operator_params(args: list[str]) -> dict:
    """Parse the rendered args with the CLI itself: every flag must be one it knows."""
    split = args.index("operator")
    root = cli.make_context("ecs-reconciler", args[:split] + ["operator"])
    return cli.get_command(root, "operator").make_context("operator", args[split + 1:], parent=root).params


# --- helm itself --------------------------------------------------------------------------------

@pytest.mark.parametrize("pinned", [fetch_helm.HELM_VERSION])  # the version shows in the test id
def test_helm_is_the_pinned_version(helm, pinned):
    info = helm.run("version", "--template", "{{.Version}} {{.GitTreeState}}").stdout.split()
    assert info == [pinned, "clean"]


@pytest.mark.parametrize("values_set", VALUES_SETS)
def test_lint_strict(helm, values_set):
    done = helm.run("lint", "--strict", str(CHART), *_values_args(values_set))
    assert "1 chart(s) linted, 0 chart(s) failed" in done.stdout, done.stdout


def test_values_sets_are_the_documented_ones():
    assert set(VALUES_SETS) == {"default", "single-namespace", "all-namespaces", "replicas", "metrics-off",
                                "servicemonitor"}
    readme = (CHART / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in VALUES_SETS if name != "default")


# --- every rendered object ----------------------------------------------------------------------

@pytest.mark.parametrize("values_set", VALUES_SETS)
def test_rendered_objects_validate_and_fit_together(helm, values_set):
    objects = helm.render(values_set)
    assert {"Deployment", "ServiceAccount"} <= {o["kind"] for o in objects}
    for obj in objects:
        if obj["kind"] not in NOT_IN_K8S_SCHEMA:
            for version in K8S_VERSIONS:
                kubernetes_validate.validate(obj, version, strict=True)
    operator = container(objects)
    args = operator["args"]
    params = operator_params(args)
    assert params["rollout_timeout"] == 900 and params["resync_seconds"] == 300
    ports = {p["name"]: p["containerPort"] for p in operator["ports"]}
    assert f"--liveness=http://0.0.0.0:{ports['health']}/healthz" in args
    assert operator["livenessProbe"]["httpGet"]["port"] == operator["readinessProbe"]["httpGet"]["port"] == "health"
    services = by_kind(objects).get("Service", [])
    if "http" in ports:
        assert params["metrics_listen"] == f"0.0.0.0:{ports['http']}"
        (service,) = services
        assert service["spec"]["ports"] == [{"name": "http", "port": ports["http"], "targetPort": "http"}]
    # The pod labels carry the Deployment's selector, and the Service selects the same pods.
    deployment = one(objects, "Deployment")
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert all(s["spec"]["selector"] == selector for s in services)
    # Peering: the object the chart creates is the one the operator is told to use (one replica;
    # more run sharded, without peering).
    if deployment["spec"]["replicas"] == 1:
        peering = one(objects, "ClusterKopfPeering" if params["all_namespaces"] else "KopfPeering")
        assert f"--peering={peering['metadata']['name']}" in args and not params["shard"]
    assert operator["image"] == "ghcr.io/ecs-reconciler/ecs-reconciler:0.1.0"


def test_default_values(helm):
    objects = helm.render()
    params = operator_params(container(objects)["args"])
    assert params["namespaces"] == (NAMESPACE,) and not params["all_namespaces"] and params["self_heal"]
    assert params["events_queue"] is None and params["peering"] == "ecs-reconciler"
    assert one(objects, "KopfPeering")["metadata"]["namespace"] == NAMESPACE
    assert one(objects, "Deployment")["spec"]["replicas"] == 1
    assert "annotations" not in one(objects, "ServiceAccount")["metadata"]
    assert "ServiceMonitor" not in by_kind(objects)


def test_single_namespace_watches_and_peers_in_that_namespace(helm):
    objects = helm.render("single-namespace")
    assert operator_params(container(objects)["args"])["namespaces"] == ("shop",)
    assert one(objects, "KopfPeering")["metadata"]["namespace"] == "shop"
    # The operator itself runs in the release namespace.
    assert {one(objects, k)["metadata"]["namespace"] for k in ("Deployment", "ServiceAccount")} == {NAMESPACE}


def test_all_namespaces(helm):
    objects = helm.render("all-namespaces")
    params = operator_params(container(objects)["args"])
    assert params["all_namespaces"] and not params["namespaces"] and not params["self_heal"]
    assert params["events_queue"] == "ecs-reconciler-events"
    assert one(objects, "ServiceAccount")["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/ecs-reconciler"}
    assert "--region=eu-west-1" in container(objects)["args"]
    assert "namespace" not in one(objects, "ClusterKopfPeering")["metadata"]


def test_several_replicas_run_sharded(helm):
    objects = helm.render("replicas")
    assert one(objects, "Deployment")["spec"]["replicas"] == 3
    assert "KopfPeering" not in by_kind(objects)
    operator = container(objects)
    params = operator_params(operator["args"])
    assert params["shard"] and params["peering"] is None and params["lease_seconds"] == 20
    # The pod's name is its replica id; the Leases live in the pod's namespace.
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in operator["env"]}
    assert env == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}
    role = next(r for r in by_kind(objects)["Role"] if r["metadata"]["name"] == f"{NAME}-leases")
    assert role["metadata"]["namespace"] == NAMESPACE
    assert grants(role["rules"]) == {("coordination.k8s.io", "leases", v)
                                     for v in ("get", "list", "watch", "create", "update", "patch")}
    binding = next(b for b in by_kind(objects)["RoleBinding"] if b["metadata"]["name"] == f"{NAME}-leases")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]


def test_metrics_off_serves_no_metrics(helm):
    objects = helm.render("metrics-off")
    operator = container(objects)
    assert [p["name"] for p in operator["ports"]] == ["health"]
    assert operator_params(operator["args"])["metrics_listen"] == ""  # empty: the CLI serves nothing
    assert "Service" not in by_kind(objects) and "ServiceMonitor" not in by_kind(objects)


def test_service_monitor_scrapes_the_metrics_service(helm):
    objects = helm.render("servicemonitor")
    monitor, service = one(objects, "ServiceMonitor"), one(objects, "Service")
    assert monitor["spec"]["endpoints"] == [{"port": "http"}]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["port"] == 9100
    assert operator_params(container(objects)["args"])["metrics_listen"] == "0.0.0.0:9100"


# --- RBAC ---------------------------------------------------------------------------------------

# What the operator does through the Kubernetes API (kopf does it all): follow its objects and
# patch them (finalizer, annotations) and their status, post core v1 Events, use the peering object.
# Watching every namespace, kopf also watches CRDs (kopf/_core/reactor/observation.py); in one
# namespace it needs nothing cluster-wide (discovery is open to every authenticated client).
OWN = {(crds.GROUP, crds.plural(kind), verb) for kind in crds.CRD_KINDS for verb in ("get", "list", "watch", "patch")}
STATUS = {(crds.GROUP, f"{crds.plural(kind)}/status", verb) for kind in crds.CRD_KINDS for verb in ("get", "patch")}
EVENTS = {("", "events", "create")}
PEERING_VERBS = ("get", "list", "watch", "patch")
NAMESPACED_NEEDS = OWN | STATUS | EVENTS | {("kopf.dev", "kopfpeerings", v) for v in PEERING_VERBS}
CLUSTER_NEEDS = (OWN | STATUS | EVENTS | {("kopf.dev", "clusterkopfpeerings", v) for v in PEERING_VERBS}
                 | {("apiextensions.k8s.io", "customresourcedefinitions", v) for v in ("list", "watch")})


def grants(rules: list[dict]) -> set[tuple[str, str, str]]:
    out = set()
    for rule in rules:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], rule
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule, rule
        out |= {(g, r, v) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    return out


@pytest.mark.parametrize("values_set, watched", [("default", NAMESPACE), ("single-namespace", "shop")])
def test_single_namespace_install_grants_a_role_in_that_namespace_only(helm, values_set, watched):
    objects = helm.render(values_set)
    kinds = by_kind(objects)
    assert "ClusterRole" not in kinds and "ClusterRoleBinding" not in kinds
    # Nothing cluster-scoped at all: every object the templates render sits in a namespace.
    assert all(o["metadata"].get("namespace") for o in objects), [o["kind"] for o in objects
                                                                 if not o["metadata"].get("namespace")]
    role, binding = one(objects, "Role"), one(objects, "RoleBinding")
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == watched
    assert grants(role["rules"]) == NAMESPACED_NEEDS
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]
    assert one(objects, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == NAME


def test_reading_targets_is_granted_only_with_a_targets_namespace(helm):
    targets = {(crds.GROUP, crds.plural(crds.TARGET_CRD_KIND), v) for v in ("get", "list", "watch")}
    objects = helm.render("default", "--set", "targetsNamespace=ecs-admin")
    assert grants(one(objects, "Role")["rules"]) == NAMESPACED_NEEDS | targets
    args = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--targets-namespace=ecs-admin" in args
    assert not any(a.startswith("--targets-namespace") for a in
                   one(helm.render("default"), "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"])


def test_all_namespaces_install_grants_a_cluster_role(helm):
    objects = helm.render("all-namespaces")
    kinds = by_kind(objects)
    assert "Role" not in kinds and "RoleBinding" not in kinds
    role, binding = one(objects, "ClusterRole"), one(objects, "ClusterRoleBinding")
    assert grants(role["rules"]) == CLUSTER_NEEDS
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]


def test_rbac_covers_every_custom_resource_the_operator_serves():
    served = {crds.plural(kind) for kind in crds.CRD_KINDS}
    committed = {yaml.safe_load((CHART / "crds" / crds.filename(kind)).read_text())["spec"]["names"]["plural"]
                 for kind in crds.CRD_KINDS}
    assert served == committed == {r for _, r, _ in OWN}


# --- RBAC, enforced: the operator runs with only what the chart grants ---------------------------

class RbacGate:
    """Authorizes the operator's requests to kmock as the API server's RBAC would, against the rules
    the chart rendered; others (the test's own client) pass. Denied requests get the API server's 403.

    Requests whose URL names no resource (/api, /apis, /version, group and version listings) are
    discovery, open to every authenticated client (the system:discovery ClusterRole)."""

    TOKEN = "operator-service-account"

    def __init__(self, objects: list[dict]):
        self.cluster_rules = [rule for o in objects if o["kind"] == "ClusterRole" for rule in o["rules"]]
        self.namespace_rules = {}
        for role in (o for o in objects if o["kind"] == "Role"):
            self.namespace_rules.setdefault(role["metadata"]["namespace"], []).extend(role["rules"])
        self.allowed: set[tuple] = set()
        self.denied: set[tuple] = set()

    @staticmethod
    def verb(request) -> str:
        method = str(request.method.value).upper()
        if method == "GET":
            if request.params.get("watch") in ("true", "1"):
                return "watch"
            return "get" if request.name else "list"
        return {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}[method]

    def attributes(self, request) -> tuple | None:
        resource = request.resource
        if resource is None or not resource.plural:
            return None
        plural = f"{resource.plural}/{request.subresource}" if request.subresource else resource.plural
        return request.namespace, resource.group or "", plural, self.verb(request)

    def permits(self, namespace: str | None, group: str, resource: str, verb: str) -> bool:
        rules = self.cluster_rules + (self.namespace_rules.get(namespace, []) if namespace else [])
        return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] for r in rules)

    def wrap(self, handle):
        async def gated(request):
            attributes = self.attributes(request)
            if attributes is not None and request.headers.get("Authorization") == f"Bearer {self.TOKEN}":
                if not self.permits(*attributes):
                    self.denied.add(attributes)
                    namespace, group, resource, verb = attributes
                    what = f"{resource}.{group}" if group else resource
                    return aiohttp.web.json_response(status=403, data={
                        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
                        "message": f"{what} is forbidden: cannot {verb} in namespace {namespace!r}"})
                self.allowed.add(attributes)
            return await handle(request)
        return gated


@contextlib.asynccontextmanager
async def operator_as_installed(url: str, config: OperatorConfig, *, all_namespaces: bool, peering: str):
    """kopf as the chart's Deployment runs it (`operator --peering=... --namespace=default` or
    `--all-namespaces`, the operator's own settings, scanning on), logged in with the gated token."""
    registry = build_registry(config, kopf.OperatorRegistry())
    namespaces = [] if all_namespaces else ["default"]

    @kopf.on.login(registry=registry)
    def login(**_):
        return kopf.ConnectionInfo(server=url, token=RbacGate.TOKEN, insecure=True)

    stop, ready, errors = threading.Event(), threading.Event(), []

    def main():
        try:
            asyncio.run(kopf.operator(registry=registry, settings=operator_settings(namespaces=namespaces),
                                      standalone=False, peering_name=peering, clusterwide=all_namespaces,
                                      namespaces=namespaces, stop_flag=stop, ready_flag=ready))
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=main, name="kopf-rbac", daemon=True)
    thread.start()
    assert await asyncio.to_thread(ready.wait, 15), errors
    try:
        yield
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 30)
        assert not thread.is_alive() and not errors, errors


@pytest.mark.asyncio
@pytest.mark.parametrize("all_namespaces", [False, True], ids=["single-namespace", "all-namespaces"])
async def test_operator_works_with_only_the_rbac_the_chart_grants(helm, kube, local, all_namespaces):
    values = ["--set", "watch.allNamespaces=true"] if all_namespaces else ["--set", "watch.namespace=default"]
    objects = helm.render("default", *values)
    gate = RbacGate(objects)
    emulator = kube.emulator
    for key, info in {
        "apiextensions.k8s.io/v1/customresourcedefinitions": kmock.ResourceInfo(
            kind="CustomResourceDefinition", namespaced=False, verbs={"list", "watch", "get"}),
        "kopf.dev/v1/kopfpeerings": kmock.ResourceInfo(kind="KopfPeering", namespaced=True,
                                                       verbs={"list", "watch", "get", "patch", "create"}),
        "kopf.dev/v1/clusterkopfpeerings": kmock.ResourceInfo(kind="ClusterKopfPeering", namespaced=False,
                                                              verbs={"list", "watch", "get", "patch", "create"}),
    }.items():
        emulator.resources[key] = info
    emulator._handle = gate.wrap(emulator._handle)
    # The peering object the chart renders, created as helm would.
    peering = one(objects, "ClusterKopfPeering" if all_namespaces else "KopfPeering")
    plural = "clusterkopfpeerings" if all_namespaces else "kopfpeerings"
    where = "" if all_namespaces else "/namespaces/default"
    async with kube.session.post(f"{kube.url}/apis/kopf.dev/v1{where}/{plural}", json=peering) as response:
        assert response.status < 300, await response.text()

    config = OperatorConfig(region="us-east-1", endpoint_url=local.url, resync_seconds=30, retry_delay=0.5)
    async with operator_as_installed(kube.url, config, all_namespaces=all_namespaces,
                                     peering=peering["metadata"]["name"]):
        await kube.create("EcsCluster", "shop", {"tags": {"team": "shop"}})

        async def synced():
            return (await kube.status("EcsCluster", "shop")).get("synced")

        async def events():
            return kube.events()
        await kube.wait_for(synced, what="EcsCluster/shop synced")
        await kube.wait_for(events, what="an Event posted")

    used = {(group, resource, verb) for _, group, resource, verb in gate.allowed}
    assert {(crds.GROUP, "ecsclusters", "list"), (crds.GROUP, "ecsclusters", "watch"),
            (crds.GROUP, "ecsclusters", "patch"), (crds.GROUP, "ecsclusters/status", "patch"),
            ("", "events", "create"), ("kopf.dev", plural, "patch")} <= used, used
    assert not gate.denied, gate.denied
    if all_namespaces:  # kopf follows CRD changes at run time
        assert ("apiextensions.k8s.io", "customresourcedefinitions", "watch") in used
    else:  # nothing outside the watched namespace
        assert {namespace for namespace, *_ in gate.allowed} == {"default"}, gate.allowed


@pytest.mark.parametrize("namespaces, scanning", [((), True), (("shop",), False), (("shop", "web"), False),
                                                  (("team-*",), True), (("!kube-system",), True)])
def test_the_operator_scans_the_cluster_only_when_it_needs_to(namespaces, scanning):
    """Without cluster-wide RBAC, kopf's scanning would list namespaces and CRDs and retry each 403
    for about a minute before it fell back; named namespaces need none of it."""
    assert operator_settings(namespaces=namespaces).scanning.disabled is not scanning


# --- values the chart refuses -------------------------------------------------------------------

@pytest.mark.parametrize("values, where", [
    ({"replicas": 0}, "/replicas"),
    ({"replica": 2}, "'replica' not allowed"),  # a typo
    ({"logLevel": "TRACE"}, "/logLevel"),
    ({"metrics": {"port": 70000}}, "/metrics/port"),
    ({"image": {"tag": 1.0}}, "/image/tag"),
    ({"aws": {"roleArn": "ecs-reconciler"}}, "/aws/roleArn"),
    ({"watch": {"namespace": "Shop_Prod"}}, "/watch/namespace"),
    ({"resyncSeconds": 1}, "/resyncSeconds"),
    ({"selfHeal": "yes"}, "/selfHeal"),
])
def test_values_against_the_schema_are_refused(helm, tmp_path, values, where):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(values))
    for command in (["template", RELEASE, str(CHART)], ["lint", "--strict", str(CHART)]):
        done = helm.run(*command, "--values", str(bad), check=False)
        output = done.stdout + done.stderr
        assert done.returncode != 0 and "schema" in output and where in output, output


@pytest.mark.parametrize("values, message", [
    ({"serviceMonitor": {"enabled": True}, "metrics": {"enabled": False}}, "serviceMonitor.enabled needs metrics"),
    ({"metrics": {"port": 8080}}, "metrics.port and health.port are both 8080"),
    ({"watch": {"allNamespaces": True, "namespace": "shop"}}, "are exclusive"),
])
def test_contradictory_values_fail_with_a_message(helm, tmp_path, values, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(values))
    done = helm.template("--values", str(bad), check=False)
    assert done.returncode != 0 and message in done.stderr, done.stderr


# --- Chart.yaml, package, README ----------------------------------------------------------------

def test_chart_metadata_and_kube_version(helm):
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["home"].startswith("https://") and chart["home"] in chart["sources"]
    icon = urlparse(chart["icon"])
    assert icon.scheme == "https" and icon.path.endswith("/helm/icon.svg")
    assert ElementTree.parse(CHART / "icon.svg").getroot().tag == "{http://www.w3.org/2000/svg}svg"
    assert chart["kubeVersion"] == f">={K8S_VERSIONS[0]}-0"
    refused = helm.template("--kube-version", "1.24.9", check=False)
    assert refused.returncode != 0 and "kubeVersion" in refused.stderr
    helm.template("--kube-version", K8S_VERSIONS[0])


def test_package_holds_the_chart_and_renders_the_same(helm, tmp_path):
    helm.run("package", str(CHART), "--destination", str(tmp_path))
    (package,) = tmp_path.glob("*.tgz")
    assert package.name == "ecs-reconciler-0.1.0.tgz"
    with tarfile.open(package) as tar:
        names = {n.removeprefix("ecs-reconciler/") for n in tar.getnames()}
    expected = {"Chart.yaml", "values.yaml", "values.schema.json", "README.md"} | {
        str(p.relative_to(CHART)) for p in [*(CHART / "templates").iterdir(), *(CHART / "crds").iterdir()]}
    assert expected <= names
    assert not {n for n in names if n.startswith("ci/") or n in ("icon.svg", "README.tmpl.md")}
    helm.run("lint", "--strict", str(package))
    for values_set in ("default", "all-namespaces"):
        from_package = helm.run("template", RELEASE, str(package), "--namespace", NAMESPACE,
                                *_values_args(values_set)).stdout
        assert from_package == helm.template(*_values_args(values_set)).stdout
    shown = yaml.safe_load(helm.run("show", "chart", str(package)).stdout)
    assert {"icon", "home", "sources", "kubeVersion"} <= shown.keys()


def test_readme_is_generated_from_values():
    fresh = chart_readme.render(CHART)
    assert (CHART / "README.md").read_text() == fresh, "helm/README.md is stale: run `make chart-readme`"
    keys = [row.key for row in chart_readme.rows((CHART / "values.yaml").read_text())]
    assert {"watch.allNamespaces", "metrics.enabled", "resources", "serviceMonitor.enabled"} <= set(keys)
    assert all(f"| `{key}` |" in fresh for key in keys)


def test_readme_generator_refuses_an_undocumented_value():
    documented = "# -- Pods.\nreplicas: 1\nmetrics:\n  # -- Port\n  # of /metrics.\n  port: 9090\n"
    assert [(r.key, r.type, r.default, r.description) for r in chart_readme.rows(documented)] == [
        ("replicas", "int", 1, "Pods."), ("metrics.port", "int", 9090, "Port of /metrics.")]
    with pytest.raises(chart_readme.UndocumentedValue, match=r"values.yaml:4: `metrics.enabled`"):
        chart_readme.rows(documented.replace("  # -- Port", "  enabled: true\n  # -- Port"))
    # A plain comment (not `# --`) does not document.
    with pytest.raises(chart_readme.UndocumentedValue, match="`replicas`"):
        chart_readme.rows("# Pods.\nreplicas: 1\n")


# --- CRDs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_peering_crds_validate_and_are_structural(version):
    for body in yaml.safe_load_all((CHART / "crds" / "kopf-peering.yaml").read_text()):
        kubernetes_validate.validate(body, version, strict=True)
        _structural(body["spec"]["versions"][0]["schema"]["openAPIV3Schema"], "")


def test_committed_crds_are_fresh_and_structural():
    for crd_kind in crds.CRD_KINDS:
        path = CHART / "crds" / crds.filename(crd_kind)
        assert path.read_text() == crds.render(crd_kind), f"{path} is stale: run python -m reconciler.operator.crds"
        body = yaml.safe_load(path.read_text())
        for version in K8S_VERSIONS:
            kubernetes_validate.validate(body, version, strict=True)
        assert len(json.dumps(body)) < 256 * 1024
        schema = body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        _structural(schema, "")
        spec = schema["properties"]["spec"]["properties"]
        assert spec["deletionPolicy"]["enum"] == ["Retain", "Delete"] and "awsName" in spec


def test_helm_installs_the_crds(helm):
    rendered = {o["metadata"]["name"] for o in helm.render("default", "--include-crds")
                if o["kind"] == "CustomResourceDefinition"}
    assert rendered == {f"{crds.plural(k)}.{crds.GROUP}" for k in [*crds.CRD_KINDS, crds.TARGET_CRD_KIND]} | {
        "clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"}


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_the_target_crd_is_fresh_and_structural(version):
    path = CHART / "crds" / crds.filename(crds.TARGET_CRD_KIND)
    assert path.read_text() == crds.render(crds.TARGET_CRD_KIND), f"{path} is stale: run make crds"
    body = yaml.safe_load(path.read_text())
    kubernetes_validate.validate(body, version, strict=True)
    schema = body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    _structural(schema, "")
    assert set(schema["properties"]["spec"]["properties"]) == {"region", "roleArn", "externalId", "sessionName"}


def _structural(node, path):
    assert not {"$ref", "anyOf", "title", "const", "$schema", "$defs"} & set(node), path
    assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields") or node.get(
        "x-kubernetes-int-or-string"), path
    assert not ("properties" in node and "additionalProperties" in node), path
    for name, sub in node.get("properties", {}).items():
        _structural(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        _structural(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        _structural(node["additionalProperties"], f"{path}{{}}")
