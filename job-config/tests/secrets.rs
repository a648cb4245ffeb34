//! Secrets are masked for display and scrubbed out of messages.

mod common;

use common::job_text;
use datax_job_config::{
    is_secret_key, load_job, masked, secret_values, DataSources, Params, Scrubber,
};
use serde_json::json;

#[test]
fn masked_replaces_secret_values_at_any_depth() {
    let parameter = json!({
        "accessId": "LTAI_ID", "accessKey": "k", "password": "", "token": null,
        "connection": [{"jdbcUrl": "jdbc:x", "dbPassword": 1234}],
        "AccessKeySecret": "s"
    });
    assert_eq!(
        masked(&parameter),
        json!({
            "accessId": "LTAI_ID", "accessKey": "*****", "password": "", "token": null,
            "connection": [{"jdbcUrl": "jdbc:x", "dbPassword": "*****"}],
            "AccessKeySecret": "*****"
        })
    );
}

#[test]
fn secret_keys_are_recognised_by_name() {
    assert!(is_secret_key("ACCESSKEY"));
    assert!(is_secret_key("securityToken"));
    assert!(!is_secret_key("accessId"));
    assert!(!is_secret_key("accessKeyId"));
}

#[test]
fn secret_values_of_a_job_skip_masked_and_empty_ones() {
    let loaded = load_job(&job_text("seed-odps-to-loghub.json"), &Params::new(), None).unwrap();
    // The seed's keys are "*****" or "": nothing to scrub.
    assert!(secret_values(&loaded.job).is_empty());

    let sources = DataSources::parse(
        r#"{"sls": {"type": "loghub", "parameter": {"accessKey": "sls-secret-key"}},
            "odps": {"type": "odps", "parameter": {"accessKey": "odps-key"}}}"#,
        &Params::new(),
        |_| None,
    )
    .unwrap();
    let loaded = load_job(
        &job_text("seed-odps-to-loghub.json"),
        &Params::new(),
        Some(&sources),
    )
    .unwrap();
    assert_eq!(
        secret_values(&loaded.job),
        vec!["sls-secret-key", "odps-key"]
    );

    let scrubber = Scrubber::for_job(&loaded.job);
    assert_eq!(
        scrubber.scrub("403 for key odps-key (signature of sls-secret-key)"),
        "403 for key ***** (signature of *****)"
    );
}

#[test]
fn datax_mysql_password_is_found() {
    let loaded = load_job(
        &job_text("datax-errorlimit-record-percentage.json"),
        &Params::new(),
        None,
    )
    .unwrap();
    assert_eq!(secret_values(&loaded.job), vec!["root"]);
}

#[test]
fn a_value_repeating_its_key_is_a_placeholder_not_a_secret() {
    let loaded = load_job(&job_text("datax-odpsreader-doc.json"), &Params::new(), None).unwrap();
    assert_eq!(loaded.job.reader.parameter["accessKey"], "accessKey");
    let scrubber = Scrubber::for_job(&loaded.job);
    assert_eq!(
        scrubber.scrub(r#"{"accessKey":"*****","table":"t"}"#),
        r#"{"accessKey":"*****","table":"t"}"#
    );
    assert!(!secret_values(&loaded.job).contains(&"accessKey".to_string()));
}
