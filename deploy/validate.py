"""Validates the manifests of deploy/ offline (run by tests/tests/deploy_manifests.rs).

- deploy/kubernetes/*.yaml: every resource against the Kubernetes schemas that the PyPI
  package kubernetes-validate ships, strictly (an unknown key is an error), for the oldest
  Kubernetes these manifests aim at and for the newest the package knows.
- deploy/argo/*.yaml: Argo's Workflow is a custom resource, absent from those schemas. It is
  checked against the Pydantic models of the PyPI package hera (generated from Argo
  Workflows' own OpenAPI schema), made strict here (an unknown key is an error), then
  structurally: every DAG task names a template of the workflow and depends on tasks that
  exist.
- Both: the shard count N agrees between the steps (completions, `--shard I/N`, the reports
  finish reads).

Usage: python deploy/validate.py [FILE...]   (default: every manifest under deploy/)
Prints one line per resource; exits 1 when any is invalid.
"""

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import kubernetes_validate
import yaml

DEPLOY = Path(__file__).resolve().parent
# Indexed Jobs are GA since 1.24, Job's ttlSecondsAfterFinished since 1.23; 1.29 is the
# oldest release these manifests are checked against.
KUBERNETES_VERSIONS = ["1.29.0", kubernetes_validate.latest_version()]


def strict_argo_workflow_model():
    """hera's Workflow model, with every model of the package refusing unknown keys."""
    import pydantic
    import hera.workflows.models as models

    for info in pkgutil.walk_packages(models.__path__, models.__name__ + "."):
        importlib.import_module(info.name)
    classes = []
    for name, module in list(sys.modules.items()):
        if not name.startswith(models.__name__):
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, pydantic.BaseModel)
                and cls.__module__.startswith(models.__name__)
                and cls not in classes
            ):
                classes.append(cls)
    for cls in classes:
        cls.model_config["extra"] = "forbid"
    # A model's schema embeds those of its fields' models: rebuild until every level has
    # taken the change (the nesting is shallower than this).
    for _ in range(3):
        for cls in classes:
            cls.model_rebuild(force=True)
    return models.Workflow


def argo_structure(resource):
    """Problems a schema does not see: DAG tasks naming missing templates or tasks."""
    problems = []
    templates = {template["name"]: template for template in resource["spec"]["templates"]}
    entry = resource["spec"].get("entrypoint")
    if entry not in templates:
        problems.append(f"entrypoint {entry!r} is not a template")
    for template in templates.values():
        tasks = template.get("dag", {}).get("tasks", [])
        names = {task["name"] for task in tasks}
        for task in tasks:
            if task.get("template") not in templates:
                problems.append(f"task {task['name']!r} names no template of the workflow")
            for dependency in task.get("dependencies", []):
                if dependency not in names:
                    problems.append(f"task {task['name']!r} depends on unknown {dependency!r}")
    return problems


def shard_counts(resources):
    """The N of every `--shard I/N`, every Indexed Job's completions and every list of
    reports finish reads, which must agree."""
    counts = []
    for resource in resources:
        text = yaml.safe_dump(resource)
        for found in re.findall(r"--shard\s*\n?\s*-?\s*'?\"?[^\s/]*/(\d+)", text):
            counts.append(("--shard", int(found)))
        for found in re.findall(r"--tasks\s+(\d+)", text):
            counts.append(("plan --tasks", int(found)))
        spec = resource.get("spec", {})
        if spec.get("completionMode") == "Indexed":
            counts.append(("completions", spec["completions"]))
        reports = re.findall(r"shard-(\d+)\.json", text)
        if resource.get("metadata", {}).get("name") == "datax-finish":
            counts.append(("finish reports", len(set(reports))))
    return counts


def main(files):
    failed = False
    workflow_model = None
    kubernetes_resources = []
    for file in files:
        for resource in yaml.safe_load_all(file.read_text()):
            if resource is None:
                continue
            kind = resource.get("kind")
            name = resource.get("metadata", {}).get("name") or resource.get(
                "metadata", {}
            ).get("generateName")
            shown = file.relative_to(DEPLOY.parent) if file.is_relative_to(DEPLOY.parent) else file
            label = f"{shown}: {kind}/{name}"
            problems = []
            if resource.get("apiVersion", "").startswith("argoproj.io/"):
                if kind != "Workflow":
                    problems.append(f"no check for Argo's {kind}")
                else:
                    workflow_model = workflow_model or strict_argo_workflow_model()
                    try:
                        workflow_model.model_validate(resource)
                    except Exception as error:  # pydantic's ValidationError, every field
                        problems.append(str(error))
                    problems += argo_structure(resource)
            else:
                kubernetes_resources.append(resource)
                for version in KUBERNETES_VERSIONS:
                    try:
                        kubernetes_validate.validate(resource, version, strict=True)
                    except kubernetes_validate.ValidationError as error:
                        path = ".".join(str(part) for part in error.path)
                        problems.append(f"Kubernetes {version}: {path}: {error.message}")
                    except kubernetes_validate.SchemaNotFoundError as error:
                        problems.append(f"Kubernetes {version}: no schema: {error}")
            if problems:
                failed = True
                print(f"INVALID {label}")
                for problem in problems:
                    print(f"    {problem}")
            else:
                print(f"ok {label}")
    counts = shard_counts(kubernetes_resources)
    if len({count for _, count in counts}) > 1:
        failed = True
        print(f"INVALID shard counts disagree: {counts}")
    return 1 if failed else 0


if __name__ == "__main__":
    given = [Path(arg).resolve() for arg in sys.argv[1:]]
    manifests = given or sorted(DEPLOY.glob("kubernetes/*.yaml")) + sorted(
        DEPLOY.glob("argo/*.yaml")
    )
    sys.exit(main(manifests))
