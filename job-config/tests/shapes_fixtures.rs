//! Every saved job file loads to the plugins it names (the stray-slash one is in parse_lenient.rs).

mod common;

use common::job_text;
use datax_job_config::{load_job, JobShape, Loaded, Params};

fn load(name: &str, params: &[(&str, &str)]) -> Loaded {
    let mut p = Params::new();
    for (k, v) in params {
        p.insert(*k, *v);
    }
    load_job(&job_text(name), &p, None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn plugins(loaded: &Loaded) -> (JobShape, &str, &str, &str, &str) {
    let job = &loaded.job;
    (
        job.shape,
        job.reader.plugin.as_str(),
        job.reader.data_source_type.as_str(),
        job.writer.plugin.as_str(),
        job.writer.data_source_type.as_str(),
    )
}

#[test]
fn datax_files_load_with_suffixed_plugin_names() {
    let cases = [
        (
            "datax-errorlimit-record-percentage.json",
            "mysqlreader",
            "mysql",
            "streamwriter",
            "stream",
        ),
        (
            "datax-odpsreader-doc.json",
            "odpsreader",
            "odps",
            "streamwriter",
            "stream",
        ),
        (
            "datax-odpsreader-oraclewriter-plugindev.json",
            "odpsreader",
            "odps",
            "oraclewriter",
            "oracle",
        ),
        (
            "datax-odpsreader-perf.json",
            "odpsreader",
            "odps",
            "streamwriter",
            "stream",
        ),
        (
            "datax-stream2stream-default.json",
            "streamreader",
            "stream",
            "streamwriter",
            "stream",
        ),
    ];
    for (file, reader, reader_type, writer, writer_type) in cases {
        let loaded = load(file, &[]);
        assert_eq!(
            plugins(&loaded),
            (JobShape::DataX, reader, reader_type, writer, writer_type),
            "{file}"
        );
        assert_eq!(loaded.job.reader.path, "job.content[0].reader", "{file}");
        assert_eq!(loaded.job.writer.path, "job.content[0].writer", "{file}");
    }
}

#[test]
fn dataworks1_files_load() {
    let cases = [
        ("seed-odps-to-loghub.json", "odps", "loghub"),
        ("dw1-odps-to-elasticsearch.json", "odps", "elasticsearch"),
        ("dw1-odps-to-hdfs.json", "odps", "hdfs"),
        ("dw1-mysql-to-odps-bizdate-commented.json", "mysql", "odps"),
    ];
    for (file, reader, writer) in cases {
        let loaded = load(file, &[("bdp.system.bizdate", "20240101")]);
        assert_eq!(
            plugins(&loaded),
            (JobShape::DataWorks1, reader, reader, writer, writer),
            "{file}"
        );
        assert_eq!(loaded.job.reader.path, "configuration.reader");
        assert_eq!(loaded.job.writer.path, "configuration.writer");
    }
}

#[test]
fn dataworks2_files_load() {
    let cases = [
        ("dw2-elasticsearch-to-odps.json", "elasticsearch", "odps"),
        (
            "dw2-loghub-reader-template-commented.json",
            "loghub",
            "stream",
        ),
        ("dw2-odps-reader-template-commented.json", "odps", "stream"),
        ("dw2-odps-to-elasticsearch.json", "odps", "elasticsearch"),
        ("dw2-odps-to-loghub.json", "odps", "loghub"),
    ];
    for (file, reader, writer) in cases {
        let loaded = load(file, &[("bizdate", "20240101")]);
        assert_eq!(
            plugins(&loaded),
            (JobShape::DataWorks2, reader, reader, writer, writer),
            "{file}"
        );
    }
    let loaded = load("dw2-odps-to-elasticsearch.json", &[]);
    // Its steps are written writer-last but keys alphabetical: paths follow the file.
    assert_eq!(loaded.job.reader.path, "steps[0]");
    assert_eq!(loaded.job.writer.path, "steps[1]");
}

#[test]
fn parameters_reach_the_step_values() {
    let loaded = load("dw2-odps-to-loghub.json", &[("bizdate", "20161226")]);
    assert_eq!(loaded.job.reader.parameter["partition"][0], "pt=20161226");
    let loaded = load(
        "dw1-mysql-to-odps-bizdate-commented.json",
        &[("bdp.system.bizdate", "20171218")],
    );
    assert_eq!(loaded.job.writer.parameter["partition"], "ds='20171218'");
}

#[test]
fn unknown_keys_and_string_values_are_kept_untouched() {
    let loaded = load("datax-odpsreader-perf.json", &[]);
    let column = &loaded.job.writer.parameter["column"];
    assert_eq!(column.as_array().map(Vec::len), Some(10));
    // `$%` is no placeholder: the value survives substitution.
    assert_eq!(
        column[0]["value"],
        "485924f6ab7f272af361cd3f7f2d23e0d764942351#$%^&fdafdasfdas%%^(*&^^&*"
    );
    let doc = load("datax-odpsreader-doc.json", &[]);
    assert_eq!(doc.job.writer.parameter["print"], "true");
    assert_eq!(doc.job.reader.parameter["odpsServer"], "http://xxx/api");
}

#[test]
fn commented_files_warn_about_what_was_skipped() {
    let loaded = load("dw2-loghub-reader-template-commented.json", &[]);
    let warnings = loaded.warnings.join("\n");
    assert!(
        warnings.contains("line 3, column 18: `//` comment ignored"),
        "{warnings}"
    );
    assert!(
        warnings.contains("line 43, column 24: trailing comma ignored"),
        "{warnings}"
    );
    let loaded = load("dw2-elasticsearch-to-odps.json", &[]);
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("no-break space (U+00A0) read as whitespace (")),
        "{:?}",
        loaded.warnings
    );
}
