//! Command-line mistakes exit 2 (issue 11), apart from a failed job's 1, with a message that
//! says what to type instead.

use datax_e2e::{Run, Workspace};

#[track_caller]
fn assert_usage_error(run: &Run, expected: &str) {
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains(expected), "{}", run.stderr);
}

#[test]
fn every_command_line_mistake_exits_2() {
    let workspace = Workspace::new();
    assert_usage_error(&workspace.run(&[]), "give a job file");
    assert_usage_error(&workspace.run(&["run"]), "give a job file");
    assert_usage_error(&workspace.run(&["check"]), "give a job file");
    assert_usage_error(
        &workspace.run(&["--no-such-option", "job.json"]),
        "--no-such-option",
    );
    assert_usage_error(&workspace.run(&["job.json", "--log-format", "xml"]), "xml");
    assert_usage_error(&workspace.run(&["template", "-r", "odps"]), "--writer");
}

#[test]
fn a_mistyped_command_gets_a_did_you_mean() {
    let workspace = Workspace::new();
    assert_usage_error(
        &workspace.run(&["chek", "job.json"]),
        "unknown command `chek`: did you mean `check`?",
    );
    assert_usage_error(&workspace.run(&["plugns"]), "did you mean `plugins`?");
    // A job file that happens to be named like a command is still a job file.
    workspace.write("chek", "{}");
    let run = workspace.run(&["chek"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        !run.stderr.contains("did you mean `check`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_job_file_is_a_failed_job_not_a_usage_error() {
    let workspace = Workspace::new();
    let run = workspace.run(&["no-such-job.json"]);
    run.assert_failure("cannot read job file no-such-job.json");
}

#[test]
fn a_listing_read_by_a_pipe_that_closes_early_is_no_failure() {
    let workspace = Workspace::new();
    for args in [
        &["plugins"][..],
        &["template", "-r", "streamreader", "-w", "streamwriter"],
    ] {
        let mut child = workspace
            .datax()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // `datax plugins | head -0`: the reader is gone before datax writes.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
