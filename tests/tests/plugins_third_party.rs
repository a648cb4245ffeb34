//! A third-party plugin, start to finish, as an outside author makes one: `datax plugin new`
//! writes a reader crate, a writer crate and a transformer crate into a folder outside this
//! repository; each is tested and built with its own `cargo` (offline, from the local registry
//! cache, in a target folder of their own); the libraries are dropped into a plugin folder and
//! a job moves records from the new reader through the new transformer and the new writer with
//! the real `datax`. The same reader built against a plugin API 2.0.0 is then refused in one
//! line naming both versions.
//!
//! The generated crates share one target folder, as one author's crates may: each is
//! still built by its own `cargo build` from its own manifest and lock file. The folder lives
//! in the build folder between runs, so only the first run compiles abi_stable and serde; the
//! crates are generated afresh at the same place outside the repository every run, so that
//! their builds replace the last run's instead of piling up beside them.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use datax_e2e::{build_dir, datax_job, Workspace};
use serde_json::json;

/// The repository, whose plugin-api and plugin-kit the generated crates depend on.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn target_dir() -> PathBuf {
    build_dir().join("third-party-plugins").join("target")
}

/// A folder outside the repository for the generated crates, the same for every run from
/// this build folder (and another for another checkout), emptied before and after.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let mut hasher = DefaultHasher::new();
        build_dir().hash(&mut hasher);
        let path = std::env::temp_dir().join(format!("datax-third-party-{:016x}", hasher.finish()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs `cargo ARGS` in `crate_dir` as its author would, in the shared target folder; fails
/// the test with cargo's output unless it succeeds, else returns its stdout.
fn cargo(crate_dir: &Path, args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .args(args)
        .args(["--release", "--offline"])
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "cargo {args:?} in {} failed:\n{stdout}\n{}",
        crate_dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `datax plugin new NAME KIND --path DIR`, then the crate's own tests and release build;
/// returns the library file.
fn generate_and_build(workspace: &Workspace, scratch: &Scratch, name: &str, kind: &str) -> PathBuf {
    let crate_dir = scratch.path(name);
    workspace
        .run(&[
            "plugin",
            "new",
            name,
            kind,
            "--path",
            crate_dir.to_str().unwrap(),
        ])
        .assert_success();
    build(&crate_dir, name)
}

fn build(crate_dir: &Path, name: &str) -> PathBuf {
    cargo(crate_dir, &["build", "--quiet"]);
    let tests = cargo(crate_dir, &["test", "--quiet"]);
    assert!(tests.contains("test result: ok. 1 passed"), "{tests}");
    target_dir()
        .join("release")
        .join(format!("libdatax_{name}.so"))
}

/// A folder holding copies of `libraries`, for `--plugin-dir`.
fn plugin_folder(workspace: &Workspace, folder: &str, libraries: &[&Path]) -> PathBuf {
    let dir = workspace.path(folder);
    fs::create_dir(&dir).unwrap();
    for library in libraries {
        fs::copy(library, dir.join(library.file_name().unwrap())).unwrap();
    }
    dir
}

fn listed_line<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find(|line| line.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} is listed:\n{stdout}"))
}

#[test]
fn a_generated_reader_transformer_and_writer_run_a_job_and_a_major_bump_is_refused() {
    let workspace = Workspace::new();
    let scratch = Scratch::new();
    let reader = generate_and_build(&workspace, &scratch, "tpsource", "--reader");
    let writer = generate_and_build(&workspace, &scratch, "tpsink", "--writer");
    let transformer = generate_and_build(&workspace, &scratch, "tpmark", "--transformer");
    let plugins = plugin_folder(&workspace, "plugins", &[&reader, &writer, &transformer]);
    let plugin_dir = plugins.to_str().unwrap();

    let listing = workspace.run(&["plugins", "--plugin-dir", plugin_dir]);
    listing.assert_success();
    for (name, kind) in [
        ("tpsource", "reader"),
        ("tpsink", "writer"),
        ("tpmark", "transformer"),
    ] {
        let line = listed_line(&listing.stdout, name);
        assert!(
            line.contains(&format!(" {kind} "))
                && line.contains(&format!(" {} ", api_version()))
                && line.contains(&format!(" datax-plugin-{name} 0.1.0 ")),
            "its kind, API version and the crate that built it: {line}"
        );
    }

    let output = workspace.path("out");
    let mut job = datax_job(
        json!({"name": "tpsourcereader", "parameter": {"recordCount": 2500, "prefix": "row-"}}),
        json!({"name": "tpsinkwriter", "parameter": {"path": output}}),
        json!({"speed": {"channel": 3}}),
    );
    job["job"]["content"][0]["transformer"] =
        json!([{"name": "tpmark", "parameter": {"columnIndex": 1, "prefix": "x-"}}]);
    let job = workspace.write_json("job.json", &job);
    let run = workspace.run(&["--plugin-dir", plugin_dir, job.to_str().unwrap()]);
    run.assert_success();
    let mut lines: Vec<String> = (0..3)
        .flat_map(|task| {
            let part = fs::read_to_string(output.join(format!("part-{task}.txt")))
                .unwrap_or_else(|error| panic!("task {task} wrote its file: {error}"));
            part.lines().map(str::to_string).collect::<Vec<_>>()
        })
        .collect();
    lines.sort();
    let mut expected: Vec<String> = (0..2500).map(|id| format!("{id}\tx-row-{id}")).collect();
    expected.sort();
    assert_eq!(
        lines, expected,
        "every record once, as the reader made it and the transformer changed it"
    );

    major_bump_is_refused(&workspace, &scratch);
}

/// The generated reader, its dependencies moved to a plugin API 2.0.0 (a copy of plugin-api
/// with that version, and of plugin-kit built on it) as its author would for a future
/// release: this datax refuses it in one line naming both versions and what to rebuild.
fn major_bump_is_refused(workspace: &Workspace, scratch: &Scratch) {
    let future = scratch.path("future-api");
    copy_api_and_kit(&future);
    let crate_dir = scratch.path("tpsource");
    let manifest_path = crate_dir.join("Cargo.toml");
    let manifest = fs::read_to_string(&manifest_path).unwrap();
    let api_line = format!(
        "datax-plugin-api = {{ version = \"1\", path = \"{}/plugin-api\" }}",
        repository().display()
    );
    assert!(manifest.contains(&api_line), "{manifest}");
    let bumped = manifest
        .replace(
            &api_line,
            &format!(
                "datax-plugin-api = {{ version = \"2\", path = \"{}/plugin-api\" }}",
                future.display()
            ),
        )
        .replace(
            &format!("{}/plugin-kit", repository().display()),
            &format!("{}/plugin-kit", future.display()),
        );
    fs::write(&manifest_path, bumped).unwrap();
    let library = build(&crate_dir, "tpsource");
    let plugins = plugin_folder(workspace, "plugins-api-2", &[&library]);
    let plugin_dir = plugins.to_str().unwrap();

    let listing = workspace.run(&["plugins", "--plugin-dir", plugin_dir]);
    let refused: Vec<&str> = listing
        .stdout
        .lines()
        .filter(|line| line.starts_with("refused ") && line.contains("libdatax_tpsource.so"))
        .collect();
    assert_eq!(refused.len(), 1, "{}", listing.stdout);
    let expected = format!(
        "built for plugin API 2.0.0, but this datax speaks plugin API {}: rebuild the plugin \
         against datax-plugin-api 1.x, or use a datax that speaks plugin API 2.0.0",
        api_version()
    );
    assert!(refused[0].ends_with(&expected), "{}", refused[0]);
}

/// The plugin API version this datax speaks: the workspace's plugin-api crate's version.
fn api_version() -> String {
    let manifest = fs::read_to_string(repository().join("plugin-api/Cargo.toml")).unwrap();
    let line = manifest
        .lines()
        .find(|line| line.starts_with("version = "))
        .expect("plugin-api's manifest has a version");
    line.trim_start_matches("version = ")
        .trim_matches('"')
        .to_string()
}

/// plugin-api (as version 2.0.0) and plugin-kit copied into `dir`, in a workspace of their
/// own that gives them this repository's shared dependency versions.
fn copy_api_and_kit(dir: &Path) {
    let root = fs::read_to_string(repository().join("Cargo.toml")).unwrap();
    let shared = &root[root.find("[workspace.package]").unwrap()..];
    let shared = &shared[..shared.find("[profile").unwrap_or(shared.len())];
    fs::create_dir_all(dir).unwrap();
    fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[workspace]\nresolver = \"2\"\nmembers = [\"plugin-api\", \"plugin-kit\"]\n\n{shared}"
        ),
    )
    .unwrap();
    for member in ["plugin-api", "plugin-kit"] {
        let from = repository().join(member);
        copy_tree(&from.join("src"), &dir.join(member).join("src"));
        fs::copy(from.join("Cargo.toml"), dir.join(member).join("Cargo.toml")).unwrap();
    }
    let api_manifest = dir.join("plugin-api/Cargo.toml");
    let text = fs::read_to_string(&api_manifest).unwrap();
    let version_line = format!("version = \"{}\"", api_version());
    assert!(text.contains(&version_line), "{text}");
    fs::write(
        &api_manifest,
        text.replace(&version_line, "version = \"2.0.0\""),
    )
    .unwrap();
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn bad_names_and_existing_folders_are_refused_in_one_line() {
    let workspace = Workspace::new();
    let existing = workspace.path("taken");
    fs::create_dir(&existing).unwrap();
    let cases = [
        (
            vec!["Demo", "--reader"],
            "plugin name 'Demo': must start with a lowercase letter (a-z)",
        ),
        (
            vec!["my-source", "--writer"],
            "plugin name 'my-source': '-' is not allowed: use lowercase letters, digits and '_' \
             only",
        ),
        (
            vec!["demo", "--reader", "--path", existing.to_str().unwrap()],
            "already exists; give a folder that does not exist yet",
        ),
    ];
    for (args, expected) in cases {
        let run = workspace.run(&[&["plugin", "new"], args.as_slice()].concat());
        run.assert_failure(expected);
    }
    assert_eq!(
        fs::read_dir(&existing).unwrap().count(),
        0,
        "left untouched"
    );
    assert_eq!(
        fs::read_dir(workspace.dir.path()).unwrap().count(),
        1,
        "nothing else was written"
    );
}
