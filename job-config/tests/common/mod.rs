//! Access to the saved job files the end-to-end tests share, `tests/fixtures/jobs/`.

pub fn job_text(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/jobs/").to_string() + name;
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
