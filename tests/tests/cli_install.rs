//! The install as a user gets it: `scripts/package.sh` packs the binaries this build made into a
//! tarball, which is unpacked into an empty prefix and run from there, with no plugin folder
//! named anywhere: `bin/datax` finds `lib/datax/plugins` beside it. `bin/datax.py` takes
//! DataX's launcher options, as schedulers pass them, and prints DataX's summary.

use std::path::{Path, PathBuf};
use std::process::Command;

use datax_e2e::seed::{assert_every_row_arrived, start_seed_sandbox, ROWS, SEED_KEYS};
use datax_e2e::{build_dir, Run, Workspace};
use serde_json::json;

/// Packs `build_dir()` with the repository's script and unpacks it into `workspace`; returns
/// the prefix (`datax-<version>-<target>/`).
fn install(workspace: &Workspace) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/package.sh");
    let out = workspace.path("dist");
    let packed = Command::new("bash")
        .arg(&script)
        .arg("--from")
        .arg(build_dir())
        .arg("--out")
        .arg(&out)
        .output()
        .expect("bash runs");
    assert!(
        packed.status.success(),
        "package.sh failed:\n{}",
        String::from_utf8_lossy(&packed.stderr)
    );
    let tarball = String::from_utf8_lossy(&packed.stdout).trim().to_string();
    assert!(tarball.ends_with(".tar.gz"), "{tarball}");
    let prefix = workspace.path("opt");
    std::fs::create_dir(&prefix).unwrap();
    let unpacked = Command::new("tar")
        .args(["-xzf", &tarball, "-C"])
        .arg(&prefix)
        .status()
        .expect("tar runs");
    assert!(unpacked.success());
    let mut entries = std::fs::read_dir(&prefix).unwrap();
    let top = entries.next().expect("one folder").unwrap().path();
    assert!(entries.next().is_none(), "the tarball holds one folder");
    top
}

/// A command from the install, in `workspace`, with nothing from the environment that would
/// point it at the build's plugins.
fn installed(workspace: &Workspace, program: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(workspace.dir.path())
        .env_remove("DATAX_PLUGIN_PATH")
        .env_remove("DATAX_DATASOURCES")
        .env_remove("DATAX_BIN");
    command
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string())
}

#[test]
fn the_tarball_runs_the_stream_job_from_an_empty_prefix() {
    let workspace = Workspace::new();
    let prefix = install(&workspace);
    for plugin in [
        "libdatax_stream.so",
        "libdatax_odps.so",
        "libdatax_loghub.so",
    ] {
        assert!(
            prefix.join("lib/datax/plugins").join(plugin).is_file(),
            "{plugin}"
        );
    }
    let plugins = Run::from(
        installed(&workspace, &prefix.join("bin/datax"))
            .arg("plugins")
            .output()
            .unwrap(),
    );
    plugins.assert_success();
    for name in ["streamreader", "odpsreader", "loghubreader", "loghubwriter"] {
        assert!(plugins.stdout.contains(name), "{name}:\n{}", plugins.stdout);
    }
    let run = Run::from(
        installed(&workspace, &prefix.join("bin/datax"))
            .arg(prefix.join("share/datax/jobs/stream-to-stream.json"))
            .args(["--report-json", "report.json"])
            .output()
            .unwrap(),
    );
    run.assert_success();
    assert_eq!(workspace.report()["records_read"], 2_000_000);
}

#[test]
fn the_tarball_runs_the_seed_job_against_the_sandbox() {
    let sandbox = start_seed_sandbox();
    let workspace = Workspace::new();
    let prefix = install(&workspace);
    let jobs = prefix.join("share/datax/jobs");
    let run = Run::from(
        installed(&workspace, &prefix.join("bin/datax"))
            .arg(jobs.join("odps-to-loghub.json"))
            .arg("--datasources")
            .arg(jobs.join("datasources.sandbox.json"))
            .args(["-p", &format!("-Dsandbox=127.0.0.1:{}", sandbox.port())])
            .output()
            .unwrap(),
    );
    run.assert_success();
    let logs = sandbox.logs("datax-demo", "ak_biz_log");
    assert_eq!(logs.len() as u64, ROWS);
    assert_every_row_arrived(&logs, &SEED_KEYS);
}

#[test]
fn datax_py_takes_datax_launcher_options_and_prints_datax_summary() {
    let workspace = Workspace::new();
    let prefix = install(&workspace);
    let job = workspace.write_json(
        "job.json",
        &json!({"job": {"content": [{
            "reader": {"name": "streamreader", "parameter": {
                "column": [{"type": "string", "value": "${greeting}"}],
                "sliceRecordCount": "${count}"}},
            "writer": {"name": "streamwriter", "parameter": {"print": true}}
        }]}}),
    );
    // As DolphinScheduler's DataX task calls it.
    let run = Run::from(
        installed(&workspace, Path::new(&python()))
            .arg(prefix.join("bin/datax.py"))
            .args(["--jvm=-Xms1G -Xmx1G", "--loglevel=info"])
            .args(["-p", "-Dgreeting='hello' -Dcount=7"])
            .arg(&job)
            .output()
            .unwrap(),
    );
    run.assert_success();
    assert_eq!(
        run.stdout.lines().filter(|line| *line == "hello").count(),
        7
    );
    // DataX's log layout and its block, label for label, as scrapers match them.
    run.assert_logged("[job-0] INFO  JobContainer - ");
    run.assert_logged("[job-0] INFO  StandAloneJobContainerCommunicator - Total 7 records");
    run.assert_logged("0 bytes |  All Task WaitWriterTime ");
    for (label, value) in [("读出记录总数", "7"), ("读写失败总数", "0")] {
        let line = run
            .stderr
            .lines()
            .find(|line| line.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line:\n{}", run.stderr));
        let expected = format!("{label}{}: {value:>19}", " ".repeat(20));
        assert_eq!(line, expected);
    }
    for label in [
        "任务启动时刻",
        "任务结束时刻",
        "任务总计耗时",
        "任务平均流量",
        "记录写入速度",
    ] {
        assert!(
            run.stderr.lines().any(|line| line.starts_with(label)),
            "{label}:\n{}",
            run.stderr
        );
    }
}

#[test]
fn datax_py_exit_codes_are_datax_own() {
    let workspace = Workspace::new();
    let prefix = install(&workspace);
    let datax_py = |args: &[&str]| {
        installed(&workspace, Path::new(&python()))
            .arg(prefix.join("bin/datax.py"))
            .args(args)
            .output()
            .unwrap()
    };
    // No job: DataX prints its usage and exits with -1.
    assert_eq!(datax_py(&[]).status.code(), Some(255));
    // A job that fails: 1.
    let broken = workspace.write("broken.json", "{\"job\": {\"content\": [");
    assert_eq!(datax_py(&[broken.to_str().unwrap()]).status.code(), Some(1));
    // -r/-w: a job template.
    let template = datax_py(&["-r", "streamreader", "-w", "streamwriter"]);
    assert_eq!(template.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&template.stdout).contains("sliceRecordCount"));
}
