//! The repository stands alone: a fresh clone has everything its tests, scripts and documents
//! use. No file may reach for the research folder that once sat beside the repository; what
//! it held now lives in `tests/fixtures/` and `docs/`.

use std::path::Path;
use std::process::Command;

/// What a reference to the folder beside the repository looks like. Built at run time so that
/// this file does not name what it forbids, and so needs no exception.
fn forbidden_references() -> Vec<String> {
    let folder = "shared";
    let mut references = vec![format!("../{folder}")];
    references.extend(["jobs", "spec", "parity"].map(|sub| format!("{folder}/{sub}")));
    references
}

/// The references to the outside folder found in `text`.
fn references_in(text: &str) -> Vec<String> {
    forbidden_references()
        .into_iter()
        .filter(|reference| text.contains(reference.as_str()))
        .collect()
}

/// Every file a clone has or a commit would add: tracked, plus untracked but not ignored.
fn repository_files(root: &Path) -> Vec<String> {
    let output = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run git in {}: {e}", root.display()));
    assert!(
        output.status.success(),
        "git ls-files failed in {}: {}",
        root.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("file names are UTF-8")
        .split('\0')
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn no_file_in_the_repository_refers_to_the_folder_beside_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = repository_files(&root);
    assert!(
        files
            .iter()
            .any(|name| name == "tests/fixtures/jobs/README.md"),
        "git ls-files listed the repository: {} files",
        files.len()
    );
    let offenders: Vec<String> = files
        .iter()
        .filter_map(|name| {
            // A file deleted in the work tree but still in the index is not there to read.
            let bytes = std::fs::read(root.join(name)).ok()?;
            let found = references_in(&String::from_utf8_lossy(&bytes));
            (!found.is_empty()).then(|| format!("{name}: {}", found.join(", ")))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "files refer to the folder beside the repository; use tests/fixtures/ or docs/ instead:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_scan_recognizes_each_kind_of_reference() {
    let folder = "shared";
    for text in [
        format!("join(\"../../{folder}/jobs\")"),
        format!("see `{folder}/spec/datax-engine.md`"),
        format!("{folder}/parity/double-float-text.tsv"),
        format!("cp -r ../{folder} ."),
    ] {
        assert!(!references_in(&text).is_empty(), "{text}");
    }
    assert!(references_in("Arc<Mutex<T>> shared by all channels").is_empty());
}
