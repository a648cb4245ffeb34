//! The loader cannot be fooled (issue 13, findings 3 and 4): a file is read as ELF before it
//! is loaded, so a truncated or foreign library is refused and no constructor of a library
//! that is not a plugin ever runs; symlinks are followed and every folder above the real file
//! is checked; relative and missing plugin folders are not searched silently.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use datax_e2e::{build_dir, repo_jobs, Run, Workspace};

fn plugin_file(name: &str) -> PathBuf {
    build_dir().join(format!("libdatax_{name}.so"))
}

fn refusals_of<'a>(stdout: &'a str, file: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .filter(|line| {
            // `refused PATH: reason`: the refused file, not one a reason mentions.
            line.starts_with("refused ")
                && line
                    .split(": ")
                    .next()
                    .is_some_and(|path| path.ends_with(file))
        })
        .collect()
}

fn plugins_in(workspace: &Workspace, dir: &Path) -> Run {
    workspace.run(&["plugins", "--plugin-dir", dir.to_str().unwrap()])
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_truncated_plugin_is_refused_and_every_job_still_runs() {
    let workspace = Workspace::new();
    let dir = workspace.path("plugins");
    fs::create_dir(&dir).unwrap();
    let whole = fs::read(plugin_file("loghub")).unwrap();
    fs::write(dir.join("libpartial.so"), &whole[..1_000_000]).unwrap();

    let job = repo_jobs().join("stream-to-stream.json");
    let run = workspace.run(&[
        "run",
        job.to_str().unwrap(),
        "--plugin-dir",
        dir.to_str().unwrap(),
    ]);
    run.assert_success();

    let run = plugins_in(&workspace, &dir);
    run.assert_success();
    let refused = refusals_of(&run.stdout, "libpartial.so");
    assert_eq!(refused.len(), 1, "{}", run.stdout);
    assert!(
        refused[0].contains("cannot be loaded: truncated or damaged ELF file"),
        "{}",
        refused[0]
    );
}

/// A C library whose constructor writes `marker`: if the loader ever `dlopen`s it, the file
/// appears. `None` when there is no C compiler.
fn library_with_constructor(dir: &Path, marker: &Path) -> Option<PathBuf> {
    let source = dir.join("constructor.c");
    fs::write(
        &source,
        format!(
            "#include <stdio.h>\n__attribute__((constructor)) static void ran(void) {{\n\
             FILE *f = fopen(\"{}\", \"w\"); if (f) {{ fputs(\"ran\", f); fclose(f); }} }}\n\
             int not_a_plugin(void) {{ return 1; }}\n",
            marker.display()
        ),
    )
    .unwrap();
    let library = dir.join("plugins").join("libconstructor.so");
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .status()
        .ok()?;
    built.success().then_some(library)
}

#[test]
fn a_library_that_is_not_a_plugin_is_never_loaded() {
    let workspace = Workspace::new();
    let dir = workspace.path("plugins");
    fs::create_dir(&dir).unwrap();
    let marker = workspace.path("constructor-ran");
    let Some(_) = library_with_constructor(workspace.dir.path(), &marker) else {
        eprintln!("no C compiler: skipped");
        return;
    };
    let run = plugins_in(&workspace, &dir);
    run.assert_success();
    let refused = refusals_of(&run.stdout, "libconstructor.so");
    assert_eq!(refused.len(), 1, "{}", run.stdout);
    assert!(
        refused[0].contains("not a datax plugin (it exports no datax plugin module)"),
        "{}",
        refused[0]
    );
    assert!(!marker.exists(), "the library's constructor ran");
}

#[test]
fn a_symlink_to_a_library_in_a_world_writable_folder_is_refused() {
    let workspace = Workspace::new();
    let open = workspace.path("open");
    let dir = workspace.path("plugins");
    fs::create_dir(&open).unwrap();
    fs::create_dir(&dir).unwrap();
    fs::copy(
        plugin_file("testkit"),
        open.join("libdatax_testkit_copy.so"),
    )
    .unwrap();
    set_mode(&open, 0o777);
    symlink(
        open.join("libdatax_testkit_copy.so"),
        dir.join("libdatax_testkit_link.so"),
    )
    .unwrap();
    let run = plugins_in(&workspace, &dir);
    let refused = refusals_of(&run.stdout, "libdatax_testkit_link.so");
    assert_eq!(refused.len(), 1, "{}", run.stdout);
    assert!(
        refused[0].contains("open is world-writable (mode 777)"),
        "{}",
        refused[0]
    );
}

#[test]
fn a_folder_inside_a_world_writable_one_is_refused() {
    let workspace = Workspace::new();
    let open = workspace.path("open");
    let dir = open.join("plugins");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(plugin_file("testkit"), dir.join("libdatax_testkit_copy.so")).unwrap();
    set_mode(&open, 0o777);
    let run = plugins_in(&workspace, &dir);
    let refused = refusals_of(&run.stdout, "libdatax_testkit_copy.so");
    assert_eq!(refused.len(), 1, "{}", run.stdout);
    assert!(
        refused[0].contains("open is world-writable (mode 777)"),
        "{}",
        refused[0]
    );
    // The sticky bit (as on /tmp) makes a shared folder safe: nobody replaces another's file.
    set_mode(&open, 0o1777);
    let run = plugins_in(&workspace, &dir);
    assert!(
        refusals_of(&run.stdout, "libdatax_testkit_copy.so").is_empty(),
        "{}",
        run.stdout
    );
}

#[test]
fn a_relative_plugin_path_entry_is_refused_with_a_warning() {
    let workspace = Workspace::new();
    fs::copy(
        plugin_file("testkit"),
        workspace.path("libdatax_testkit_here.so"),
    )
    .unwrap();
    let run = Run::from(
        workspace
            .datax()
            .args(["plugins"])
            .env("DATAX_PLUGIN_PATH", ".")
            .output()
            .unwrap(),
    );
    run.assert_success()
        .assert_logged("DATAX_PLUGIN_PATH entry \".\" is not an absolute path: not searched");
    assert!(
        !run.stdout.contains("libdatax_testkit_here.so"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_missing_or_unreadable_plugin_dir_is_an_error() {
    let workspace = Workspace::new();
    let missing = workspace.path("missing");
    let run = plugins_in(&workspace, &missing);
    run.assert_failure(&format!("--plugin-dir {}: ", missing.display()));

    let job = repo_jobs().join("stream-to-stream.json");
    let run = workspace.run(&[
        job.to_str().unwrap(),
        "--plugin-dir",
        missing.to_str().unwrap(),
    ]);
    run.assert_failure("--plugin-dir");

    let file = workspace.write("a-file", "");
    let run = plugins_in(&workspace, &file);
    run.assert_failure("is not a folder");
}

#[test]
fn the_search_depth_limit_is_warned_when_hit() {
    let workspace = Workspace::new();
    let dir = workspace.path("plugins");
    let deep = dir.join("a/b/c/d/e");
    fs::create_dir_all(&deep).unwrap();
    fs::copy(
        plugin_file("testkit"),
        deep.join("libdatax_testkit_deep.so"),
    )
    .unwrap();
    let run = plugins_in(&workspace, &dir);
    run.assert_success()
        .assert_logged("is deeper than 4 folders below");
}

#[test]
fn a_library_owned_by_another_user_is_refused() {
    let workspace = Workspace::new();
    let dir = workspace.path("plugins");
    fs::create_dir(&dir).unwrap();
    let copy = dir.join("libdatax_testkit_theirs.so");
    fs::copy(plugin_file("testkit"), &copy).unwrap();
    // Only root may give a file away; elsewhere there is nothing to check.
    if std::os::unix::fs::chown(&copy, Some(4242), None).is_err() {
        eprintln!("not root: cannot give the file to another user, skipped");
        return;
    }
    let run = plugins_in(&workspace, &dir);
    let refused = refusals_of(&run.stdout, "libdatax_testkit_theirs.so");
    assert_eq!(refused.len(), 1, "{}", run.stdout);
    assert!(
        refused[0].contains("is owned by user 4242, neither root nor the user running datax"),
        "{}",
        refused[0]
    );
}
