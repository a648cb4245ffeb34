//! Malformed job files: each is an error saying what is wrong and where.

use datax_job_config::{load_job, Params};

fn error_of(text: &str) -> String {
    match load_job(text, &Params::new(), None) {
        Ok(loaded) => panic!("expected an error for {text}, got {:?}", loaded.job),
        Err(e) => e.to_string(),
    }
}

const READER: &str = r#"{"name": "streamreader", "parameter": {}}"#;
const WRITER: &str = r#"{"name": "streamwriter", "parameter": {}}"#;

fn datax(setting: &str, element: &str) -> String {
    format!(r#"{{"job": {{"setting": {setting}, "content": [{element}]}}}}"#)
}

fn datax_pair() -> String {
    format!(r#"{{"reader": {READER}, "writer": {WRITER}}}"#)
}

fn dataworks2(steps: &str, hops: &str) -> String {
    format!(
        r#"{{"type": "job", "version": "2.0", "steps": [{steps}], "order": {{"hops": [{hops}]}}}}"#
    )
}

const DW_READER: &str =
    r#"{"stepType": "odps", "parameter": {}, "name": "Reader", "category": "reader"}"#;
const DW_WRITER: &str =
    r#"{"stepType": "loghub", "parameter": {}, "name": "Writer", "category": "writer"}"#;
const HOP: &str = r#"{"from": "Reader", "to": "Writer"}"#;

#[test]
fn malformed_files_are_errors_naming_what_and_where() {
    let cases: Vec<(String, &str)> = vec![
        ("  \n".into(), "line 1, column 1: the text is empty"),
        ("{\"job\": {".into(), "line 1, column 9 (in job): EOF while parsing an object"),
        ("{'job': 1}".into(), "line 1, column 2: key must be a string"),
        ("{\"a\": 1} x".into(), "line 1, column 10: trailing characters"),
        ("[1, 2]".into(), "(top level): expected a JSON object, found [..]"),
        ("{\"foo\": 1}".into(), "not a DataX or DataWorks job: expected a `job` key (DataX), `configuration` (DataWorks 1.0) or `steps` (DataWorks 2.0), found `foo`"),
        ("{\"type\": \"job\", \"Configuration \": {}}".into(), "found `type`, `Configuration ` (keys are case-sensitive and must not contain spaces)"),
        ("{\"job\": {\"content\": []}}".into(), "job.content: empty"),
        ("{\"job\": {}}".into(), "job.content: missing"),
        ("{\"job\": {\"content\": \"x\"}}".into(), "job.content: expected a list of one element, found \"x\""),
        (format!(r#"{{"job": {{"content": [{0}, {0}]}}}}"#, datax_pair()), "job.content[1]: a job runs exactly one content element, this one has 2"),
        (datax("{}", &format!(r#"{{"reader": {READER}}}"#)), "job.content[0].writer: missing: the job has no writer"),
        (datax("{}", &format!(r#"{{"reader": {{"parameter": {{}}}}, "writer": {WRITER}}}"#)), "job.content[0].reader.name: missing: the reader's plugin name"),
        (datax("{}", &format!(r#"{{"reader": {{"name": 5}}, "writer": {WRITER}}}"#)), "job.content[0].reader.name: expected a plugin name, found 5"),
        (datax("{}", &format!(r#"{{"reader": {{"name": "r", "parameter": "x"}}, "writer": {WRITER}}}"#)), "job.content[0].reader.parameter: expected an object, found \"x\""),
        (datax("{}", &format!(r#"{{"reader": {READER}, "writer": {WRITER}, "transformer": {{}}}}"#)), "job.content[0].transformer: expected a list, found {..}"),
        (datax("{}", &format!(r#"{{"reader": {READER}, "writer": {WRITER}, "transformer": [5]}}"#)), "job.content[0].transformer[0]: expected an object with a name and a parameter, found 5"),
        (datax("{}", &format!(r#"{{"reader": {READER}, "writer": {WRITER}, "transformer": [{{"name": "dx_pad", "parameter": {{}}}}, {{"parameter": {{}}}}]}}"#)), "job.content[0].transformer[1]: a transformer needs a `name`"),
        (datax("{}", &format!(r#"{{"reader": {READER}, "writer": {WRITER}, "transformer": [{{"name": "dx_pad", "parameter": [1]}}]}}"#)), "job.content[0].transformer[0].parameter: expected an object, found [..]"),
        (datax(r#"{"speed": {"channel": [2]}}"#, &datax_pair()), "job.setting.speed.channel: expected an integer, found [..]"),
        (datax(r#"{"speed": "fast"}"#, &datax_pair()), "job.setting.speed: expected an object, found \"fast\""),
        (datax(r#"{"errorLimit": {"record": "-1"}}"#, &datax_pair()), "job.setting.errorLimit.record: expected a non-negative integer, found \"-1\""),
        (datax(r#"{"errorLimit": {"percentage": 2}}"#, &datax_pair()), "job.setting.errorLimit.percentage: 2 is not a fraction between 0 and 1"),
        (r#"{"configuration": {"reader": {"plugin": "odps"}, "writer": {"plugin": "loghub"}, "setting": {"speed": {"throttle": "yes"}}}}"#.into(), "configuration.setting.speed.throttle: expected true or false, found \"yes\""),
        (r#"{"configuration": {"writer": {"plugin": "loghub"}}}"#.into(), "configuration.reader: missing: the job has no reader"),
        (dataworks2(DW_READER, HOP), "steps: no step with category `writer`"),
        (dataworks2(&format!("{DW_READER}, {DW_WRITER}, {DW_READER}"), HOP), "steps[2]: a second `reader` step (the first is steps[0])"),
        (dataworks2(&format!(r#"{DW_READER}, {{"stepType": "x", "name": "Writer"}}"#), HOP), "steps[1].category: missing"),
        (dataworks2(&format!(r#"{DW_READER}, {DW_WRITER}, {{"category": "processor", "parameter": {{"nodes": [1]}}}}"#), HOP), "steps[2].category: `processor` steps are not supported"),
        (dataworks2(&format!("{DW_READER}, {DW_WRITER}"), ""), "order.hops: empty"),
        (dataworks2(&format!("{DW_READER}, {DW_WRITER}"), &format!("{HOP}, {HOP}")), "order.hops[1]: a job has one hop from the reader to the writer, this one has 2"),
        (dataworks2(&format!("{DW_READER}, {DW_WRITER}"), r#"{"from": "Reader", "to": "Other"}"#), "order.hops[0]: the hop goes from `Reader` to `Other`, but the reader step is named `Reader` and the writer step `Writer`"),
        (format!(r#"{{"steps": [{DW_READER}, {DW_WRITER}]}}"#), "order.hops: missing"),
        (dataworks2(&format!(r#"{{"category": "reader", "name": "Reader"}}, {DW_WRITER}"#), HOP), "steps[0].stepType: missing: the reader's plugin name"),
    ];
    assert!(cases.len() >= 15);
    for (text, expected) in cases {
        let err = error_of(&text);
        assert!(
            err.contains(expected),
            "\n text: {text}\n  got: {err}\n want: {expected}"
        );
    }
}

#[test]
fn an_empty_processor_step_is_ignored_with_a_warning() {
    let text = dataworks2(
        &format!(
            r#"{DW_READER}, {{"category": "processor", "parameter": {{"nodes": [], "edges": []}}}}, {DW_WRITER}"#
        ),
        HOP,
    );
    let loaded = load_job(&text, &Params::new(), None).unwrap();
    assert_eq!(loaded.job.writer.path, "steps[2]");
    assert!(
        loaded
            .warnings
            .contains(&"steps[1]: empty `processor` step ignored".to_string()),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn content_may_be_a_single_object() {
    let text = format!(r#"{{"job": {{"content": {}}}}}"#, datax_pair());
    let loaded = load_job(&text, &Params::new(), None).unwrap();
    assert_eq!(loaded.job.reader.path, "job.content.reader");
    assert_eq!(loaded.job.reader.plugin, "streamreader");
}
