//! errorLimit (spec §3, §9.4).

mod common;

use common::job_text;
use datax_job_config::{load_job, ErrorLimit, Loaded, Params};

fn with_limit(limit: &str) -> Loaded {
    let text = format!(
        r#"{{"job": {{"setting": {{"speed": {{"channel": 1}}, "errorLimit": {limit}}}, "content": [{{"reader": {{"name": "streamreader"}}, "writer": {{"name": "streamwriter"}}}}]}}}}"#
    );
    load_job(&text, &Params::new(), None).unwrap_or_else(|e| panic!("{e}"))
}

fn limit(record: Option<u64>, percentage: Option<f64>) -> ErrorLimit {
    ErrorLimit { record, percentage }
}

#[test]
fn numbers_and_numeric_strings() {
    assert_eq!(
        with_limit(r#"{"record": 0}"#).job.error_limit,
        limit(Some(0), None)
    );
    assert_eq!(
        with_limit(r#"{"record": "10"}"#).job.error_limit,
        limit(Some(10), None)
    );
    assert_eq!(
        with_limit(r#"{"percentage": "0.02"}"#).job.error_limit,
        limit(None, Some(0.02))
    );
    assert_eq!(
        with_limit(r#"{"percentage": 1}"#).job.error_limit,
        limit(None, Some(1.0))
    );
}

#[test]
fn absent_blank_and_null_are_unlimited() {
    for written in [
        "{}",
        r#"{"record": ""}"#,
        r#"{"record": "  ", "percentage": ""}"#,
        r#"{"record": null}"#,
        "null",
    ] {
        assert_eq!(
            with_limit(written).job.error_limit,
            limit(None, None),
            "{written}"
        );
    }
}

#[test]
fn record_discards_percentage_as_datax_does() {
    let loaded = load_job(
        &job_text("datax-errorlimit-record-percentage.json"),
        &Params::new(),
        None,
    )
    .unwrap();
    assert_eq!(loaded.job.error_limit, limit(Some(0), None));
    assert!(loaded.warnings.contains(
        &"job.setting.errorLimit: percentage is ignored because record is set (as DataX does)"
            .to_string()
    ));
}

#[test]
fn saved_jobs_read_their_string_limits() {
    let params = Params::parse_datax_args("-Dbizdate=1").unwrap();
    let cases = [
        ("seed-odps-to-loghub.json", Some(0)),
        ("dw1-odps-to-hdfs.json", Some(1000)),
        ("dw2-odps-to-loghub.json", Some(10)),
        ("datax-odpsreader-doc.json", None),
    ];
    for (file, record) in cases {
        let loaded = load_job(&job_text(file), &params, None).unwrap();
        assert_eq!(loaded.job.error_limit, limit(record, None), "{file}");
    }
}
