//! `datax check` on every real job file, and `datax template`.

use datax_e2e::{shared_jobs, Workspace};

const PARAMS: [&str; 8] = [
    "--param",
    "bizdate=20240101",
    "--param",
    "bdp.system.bizdate=20240101",
    "--param",
    "startTime=20240101000000",
    "--param",
    "endTime=20240102000000",
];

#[test]
fn every_shared_job_parses_and_resolves_or_names_its_missing_plugin() {
    let workspace = Workspace::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(shared_jobs()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") || name == "dw1-loghub-to-odps-commented.json" {
            continue;
        }
        let mut args = vec!["check", path.to_str().unwrap()];
        args.extend(PARAMS);
        let run = workspace.run(&args);
        if name.contains("stream2stream") {
            run.assert_success();
            assert!(
                run.stdout
                    .contains("ok (stream streamreader -> stream streamwriter"),
                "{}",
                run.stdout
            );
        } else {
            assert_eq!(run.code, Some(1), "{name}: {}", run.stderr);
            let last = run.last_line();
            assert!(
                last.contains("no reader plugin named") || last.contains("no writer plugin named"),
                "{name}: only a missing plugin may fail it: {last}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 13, "checked {checked} job files");
}

#[test]
fn check_runs_the_plugins_own_validation() {
    let workspace = Workspace::new();
    let job = workspace.write(
        "job.json",
        r#"{"job": {"content": [{"reader": {"name": "streamreader", "parameter": {"column": [], "sliceRecordCount": 1}},
            "writer": {"name": "streamwriter", "parameter": {}}}]}}"#,
    );
    workspace
        .run(&["check", job.to_str().unwrap()])
        .assert_failure(
        "reader 'streamreader' (job.content[0].reader) init failed: configuration error: column",
    );
}

#[test]
fn template_prints_a_runnable_job_from_the_plugins_templates() {
    let workspace = Workspace::new();
    let run = workspace.run(&["template", "-r", "stream", "-w", "streamwriter"]);
    run.assert_success();
    let job: serde_json::Value = serde_json::from_str(&run.stdout).expect("the template is JSON");
    let content = &job["job"]["content"][0];
    assert_eq!(content["reader"]["name"], "streamreader");
    assert_eq!(content["writer"]["name"], "streamwriter");
    assert!(content["reader"]["parameter"]["column"].is_array());
    let path = workspace.write("template.json", &run.stdout);
    workspace
        .run(&["check", path.to_str().unwrap()])
        .assert_success();

    workspace
        .run(&["template", "-r", "odps", "-w", "stream"])
        .assert_failure("no reader plugin named 'odps'");
}
