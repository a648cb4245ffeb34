//! The manifests of deploy/ (a Kubernetes Indexed Job and an Argo Workflow running the seed
//! job as 8 shards) are valid: `deploy/validate.py` checks them offline against the
//! Kubernetes schemas of kubernetes-validate and Argo's Workflow models of hera (both in
//! requirements-dev.txt, installed by scripts/test.sh into the Python that `PYTHON` names).
//! They cannot be run here: no cluster.

use std::path::{Path, PathBuf};
use std::process::Command;

use datax_e2e::{Run, Workspace};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn validate(files: &[&Path]) -> Run {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    Run::from(
        Command::new(python)
            .arg(deploy_dir().join("validate.py"))
            .args(files)
            .output()
            .expect("python starts"),
    )
}

#[test]
fn every_manifest_validates_against_the_kubernetes_and_argo_schemas() {
    let run = validate(&[]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    for resource in [
        "deploy/kubernetes/00-shared.yaml: Secret/datax-datasources",
        "deploy/kubernetes/10-plan-job.yaml: Job/datax-plan",
        "deploy/kubernetes/20-shards-job.yaml: Job/datax-shards",
        "deploy/kubernetes/30-finish-job.yaml: Job/datax-finish",
        "deploy/argo/workflow.yaml: Workflow/datax-seed-",
    ] {
        assert!(
            run.stdout.contains(&format!("ok {resource}")),
            "{resource}:\n{}",
            run.stdout
        );
    }
}

/// The check can fail: a misspelt key, a wrong type, a DAG task naming no template and shard
/// counts that disagree are each refused.
#[test]
fn a_broken_manifest_is_refused_naming_the_problem() {
    let workspace = Workspace::new();
    let read = |name: &str| std::fs::read_to_string(deploy_dir().join(name)).unwrap();
    let shards = read("kubernetes/20-shards-job.yaml");
    let misspelt = workspace.write(
        "misspelt.yaml",
        &shards.replace("parallelism:", "paralelism:"),
    );
    let wrong_type = workspace.write(
        "wrong-type.yaml",
        &shards.replace("completions: 8", "completions: eight"),
    );
    let other_count = workspace.write(
        "other-count.yaml",
        &shards.replace("completions: 8", "completions: 4"),
    );
    let workflow = read("argo/workflow.yaml");
    let argo_key = workspace.write(
        "argo-key.yaml",
        &workflow.replace("withSequence:", "withSequense:"),
    );
    let argo_task = workspace.write(
        "argo-task.yaml",
        &workflow.replace("template: finish", "template: finnish"),
    );
    for (file, expected) in [
        (&misspelt, "paralelism"),
        (&wrong_type, "eight"),
        (&other_count, "shard counts disagree"),
        (&argo_key, "withSequense"),
        (&argo_task, "names no template"),
    ] {
        let run = validate(&[file]);
        assert_eq!(
            run.code,
            Some(1),
            "{}: {}\n{}",
            file.display(),
            run.stdout,
            run.stderr
        );
        assert!(
            run.stdout.contains("INVALID") && run.stdout.contains(expected),
            "{}: {expected}:\n{}",
            file.display(),
            run.stdout
        );
    }
}
