//! What the loader accepts and refuses, each refusal in one readable line.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use datax_e2e::{build_dir, Workspace};

fn plugin_file(name: &str) -> PathBuf {
    build_dir().join(format!("libdatax_{name}.so"))
}

fn refusal_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|line| line.starts_with("refused "))
        .collect()
}

/// The refusal lines about `file` (other libraries may sit next to the binary).
fn refusals_of<'a>(stdout: &'a str, file: &str) -> Vec<&'a str> {
    refusal_lines(stdout)
        .into_iter()
        .filter(|line| line.contains(file))
        .collect()
}

#[test]
fn plugins_next_to_the_binary_are_listed_with_kinds_and_names() {
    let run = Workspace::new().run(&["plugins"]);
    run.assert_success();
    let stream = run
        .stdout
        .lines()
        .find(|line| line.starts_with("stream "))
        .unwrap_or_else(|| panic!("stream is listed:\n{}", run.stdout));
    assert!(stream.contains("reader+writer"), "{stream}");
    assert!(stream.contains("streamreader,streamwriter"), "{stream}");
    assert!(stream.contains("libdatax_stream.so"), "{stream}");
    assert!(
        stream.contains(" 1.1.0 ") && stream.contains(" datax-plugin-stream 0.1.0 "),
        "the API version and the crate that built it: {stream}"
    );
}

#[test]
fn a_file_that_is_not_a_plugin_is_refused() {
    let workspace = Workspace::new();
    let dir = workspace.path("plugins");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("libnotes.so"), "not a library").unwrap();
    let libc = [
        "/lib/x86_64-linux-gnu/libz.so.1",
        "/usr/lib/x86_64-linux-gnu/libz.so.1",
    ]
    .into_iter()
    .find(|path| Path::new(path).exists());
    if let Some(real_library) = libc {
        fs::copy(real_library, dir.join("libz.so")).unwrap();
    }
    let run = workspace.run(&["plugins", "--plugin-dir", dir.to_str().unwrap()]);
    run.assert_success();
    let refused = refusal_lines(&run.stdout);
    assert!(
        refused
            .iter()
            .any(|line| line.contains("libnotes.so: cannot be loaded")),
        "{}",
        run.stdout
    );
    if libc.is_some() {
        assert!(
            refused
                .iter()
                .any(|line| line.contains("libz.so: not a datax plugin")),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn two_libraries_claiming_one_name_keep_the_first() {
    let workspace = Workspace::new();
    let dir = workspace.path("plugins");
    fs::create_dir(&dir).unwrap();
    fs::copy(plugin_file("stream"), dir.join("libdatax_stream_copy.so")).unwrap();
    let run = workspace.run(&["plugins", "--plugin-dir", dir.to_str().unwrap()]);
    let refused = refusals_of(&run.stdout, "libdatax_stream");
    assert_eq!(refused.len(), 1, "{}", run.stdout);
    assert!(
        refused[0].contains("libdatax_stream.so: plugin name 'stream' is already provided by")
            && refused[0].contains("libdatax_stream_copy.so"),
        "the later one (next to the binary) is refused: {}",
        refused[0]
    );
}

#[test]
fn world_writable_plugins_and_folders_are_refused() {
    let workspace = Workspace::new();
    let dir = workspace.path("plugins");
    fs::create_dir(&dir).unwrap();
    let copy = dir.join("sub").join("libdatax_testkit_copy.so");
    fs::create_dir(copy.parent().unwrap()).unwrap();
    fs::copy(plugin_file("testkit"), &copy).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o666)).unwrap();
    let run = workspace.run(&["plugins", "--plugin-dir", dir.to_str().unwrap()]);
    assert!(
        refusal_lines(&run.stdout)
            .iter()
            .any(|line| line.contains("libdatax_testkit_copy.so is world-writable")),
        "{}",
        run.stdout
    );

    fs::set_permissions(&copy, fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(copy.parent().unwrap(), fs::Permissions::from_mode(0o777)).unwrap();
    let run = workspace.run(&["plugins", "--plugin-dir", dir.to_str().unwrap()]);
    assert!(
        refusal_lines(&run.stdout)
            .iter()
            .any(|line| line.contains("sub is world-writable")),
        "{}",
        run.stdout
    );
}

#[test]
fn plugin_dirs_from_the_environment_are_searched() {
    let workspace = Workspace::new();
    let dir = workspace.path("elsewhere");
    fs::create_dir(&dir).unwrap();
    let run = datax_e2e::Run::from(
        workspace
            .datax()
            .args(["plugins"])
            .env(
                "DATAX_PLUGIN_PATH",
                format!("/nonexistent:{}", dir.display()),
            )
            .output()
            .unwrap(),
    );
    let searched = run
        .stdout
        .lines()
        .find(|line| line.starts_with("searched: "))
        .unwrap();
    assert!(
        searched.starts_with(&format!("searched: /nonexistent:{}", dir.display())),
        "{searched}"
    );
}

/// The repository's plugin-api, as the host is built against it.
fn current_api() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-api")
}

/// plugin-api 1.0 as first released, before transformer plugins (`tests/fixtures/abi-v1`).
fn api_before_transformers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/abi-v1/plugin-api")
}

/// Builds a one-reader plugin (`fixturereader`: `records` text records `row 0`, `row 1`, …)
/// against a copy of the plugin-api at `api_source` changed by `patch`, the way a third
/// party's plugin built against another ABI would look.
fn build_plugin_against_changed_api(
    name: &str,
    api_source: &Path,
    patch: impl Fn(&Path),
) -> PathBuf {
    let scratch = build_dir().join("abi-fixtures").join(name);
    let api = scratch.join("plugin-api");
    let plugin = scratch.join("plugin");
    let _ = fs::remove_dir_all(&api);
    fs::create_dir_all(api.join("src")).unwrap();
    fs::create_dir_all(plugin.join("src")).unwrap();
    for entry in fs::read_dir(api_source.join("src")).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), api.join("src").join(entry.file_name())).unwrap();
    }
    let manifest = fs::read_to_string(api_source.join("Cargo.toml"))
        .unwrap()
        .replace("edition.workspace = true", "edition = \"2021\"")
        .replace("license.workspace = true\n", "")
        .replace("rust-version.workspace = true\n", "")
        .replace(
            "abi_stable.workspace = true",
            "abi_stable = { version = \"0.11.3\", default-features = false }",
        );
    fs::write(api.join("Cargo.toml"), manifest).unwrap();
    patch(&api);
    fs::write(
        plugin.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\n\
             datax-plugin-api = {{ path = \"../plugin-api\" }}\n\n[workspace]\n"
        ),
    )
    .unwrap();
    fs::write(
        plugin.join("src/lib.rs"),
        r#"
use datax_plugin_api::{Column, PluginError, ReaderJob, ReaderTask, Record, RecordSender, TaskContext};
pub struct Job(u64);
impl ReaderJob for Job {
    type Task = Task;
    const DATAX_NAMES: &'static [&'static str] = &["fixturereader"];
    const TEMPLATE: &'static str = "{}";
    fn init(parameter: &str) -> Result<Self, PluginError> {
        let records = parameter.split("\"records\":").nth(1).and_then(|rest| {
            rest.trim_start().split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
        });
        Ok(Job(records.unwrap_or(0)))
    }
    fn split(&mut self, _: usize) -> Result<Vec<String>, PluginError> { Ok(vec![self.0.to_string()]) }
    fn task(&self, config: &str) -> Result<Task, PluginError> { Ok(Task(config.parse().unwrap_or(0))) }
}
pub struct Task(u64);
impl ReaderTask for Task {
    fn start_read(&mut self, sender: &mut RecordSender, _: &mut TaskContext) -> Result<(), PluginError> {
        for row in 0..self.0 {
            sender.send(Record::new(vec![Column::string(format!("row {row}"))]))?;
        }
        Ok(())
    }
}
datax_plugin_api::export_plugin! { name: "fixture", description: "built against another ABI", reader: Job }
"#,
    )
    .unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let target = build_dir().join("abi-fixtures").join("target");
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--manifest-path"])
        .arg(plugin.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the fixture plugin builds");
    let library = target.join("debug").join(format!("lib{name}.so"));
    let plugin_dir = scratch.join("installed");
    let _ = fs::remove_dir_all(&plugin_dir);
    fs::create_dir_all(&plugin_dir).unwrap();
    fs::copy(&library, plugin_dir.join(format!("lib{name}.so"))).unwrap();
    plugin_dir
}

#[test]
fn a_reader_plugin_built_before_transformer_plugins_still_loads_and_runs() {
    let dir = build_plugin_against_changed_api("abi_v1_reader", &api_before_transformers(), |_| {});
    let workspace = Workspace::new();
    let listed = workspace.run(&["plugins", "--plugin-dir", dir.to_str().unwrap()]);
    listed.assert_success();
    assert!(
        refusals_of(&listed.stdout, "libabi_v1_reader.so").is_empty(),
        "{}",
        listed.stdout
    );
    let fixture = listed
        .stdout
        .lines()
        .find(|line| line.starts_with("fixture "))
        .unwrap_or_else(|| panic!("the 1.0 plugin is listed:\n{}", listed.stdout));
    assert!(fixture.contains("fixturereader"), "{fixture}");
    let job = datax_e2e::datax_job(
        serde_json::json!({"name": "fixturereader", "parameter": {"records": 5}}),
        serde_json::json!({"name": "streamwriter", "parameter": {"print": true}}),
        serde_json::json!({"speed": {"channel": 1}}),
    );
    let job = workspace.write_json("job.json", &job);
    let run = workspace.run(&[job.to_str().unwrap(), "--plugin-dir", dir.to_str().unwrap()]);
    run.assert_success();
    let printed: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        printed,
        ["row 0", "row 1", "row 2", "row 3", "row 4"],
        "{}",
        run.stderr
    );
}

#[test]
fn a_plugin_built_against_a_changed_column_layout_is_refused_in_one_line() {
    let dir = build_plugin_against_changed_api("abi_changed_layout", &current_api(), |api| {
        let record = api.join("src/record.rs");
        let text = fs::read_to_string(&record).unwrap();
        assert!(text.contains("Long(i64),"));
        fs::write(record, text.replace("Long(i64),", "Long(i32),")).unwrap();
    });
    let run = Workspace::new().run(&["plugins", "--plugin-dir", dir.to_str().unwrap()]);
    run.assert_success();
    let refused = refusals_of(&run.stdout, "libabi_changed_layout.so");
    assert_eq!(refused.len(), 1, "{}", run.stdout);
    assert!(
        refused[0].contains("built against an incompatible plugin ABI")
            && refused[0].contains("i64")
            && refused[0].contains("i32"),
        "{}",
        refused[0]
    );
    assert!(refused[0].len() < 600, "one short line: {}", refused[0]);
    assert_eq!(
        run.stdout.matches("Found:").count(),
        1,
        "only the final cause, not abi_stable's report:\n{}",
        run.stdout
    );
}

#[test]
fn a_plugin_built_for_another_major_version_is_refused() {
    let dir = build_plugin_against_changed_api("abi_major_two", &current_api(), |api| {
        let manifest = api.join("Cargo.toml");
        let text = fs::read_to_string(&manifest).unwrap();
        fs::write(
            manifest,
            text.replacen("version = \"1.", "version = \"2.", 1),
        )
        .unwrap();
    });
    let run = Workspace::new().run(&["plugins", "--plugin-dir", dir.to_str().unwrap()]);
    let refused = refusals_of(&run.stdout, "libabi_major_two.so");
    assert_eq!(refused.len(), 1, "{}", run.stdout);
    assert!(
        refused[0].contains("built for plugin API 2.")
            && refused[0].contains("but this datax speaks plugin API 1.")
            && refused[0].contains("rebuild the plugin against datax-plugin-api 1.x"),
        "{}",
        refused[0]
    );
}
