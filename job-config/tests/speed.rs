//! Channel count and rate limits (spec §2, §9.3).

mod common;

use common::job_text;
use datax_job_config::{load_job, Loaded, Params, Speed};

fn load(text: &str) -> Loaded {
    load_job(text, &Params::new(), None).unwrap_or_else(|e| panic!("{e}"))
}

fn datax(speed: &str, core: &str) -> Loaded {
    load(&format!(
        r#"{{"job": {{"setting": {{"speed": {speed}}}, "content": [{{"reader": {{"name": "streamreader"}}, "writer": {{"name": "streamwriter"}}}}]}}{core}}}"#
    ))
}

fn dataworks(speed: &str) -> Loaded {
    load(&format!(
        r#"{{"type": "job", "version": "1.0", "configuration": {{"setting": {{"speed": {speed}}}, "reader": {{"plugin": "odps"}}, "writer": {{"plugin": "loghub"}}}}}}"#
    ))
}

fn speed(channels: usize, byte_per_sec: Option<u64>, record_per_sec: Option<u64>) -> Speed {
    Speed {
        channels,
        byte_per_sec,
        record_per_sec,
        byte_per_channel: None,
        record_per_channel: None,
    }
}

/// `speed` with [`CORE`]'s per-channel limits: each channel at 1 MiB/s and 1,000 records/s.
fn per_channel_core(speed: Speed) -> Speed {
    Speed {
        byte_per_channel: Some(1_048_576),
        record_per_channel: Some(1000),
        ..speed
    }
}

const CORE: &str =
    r#", "core": {"transport": {"channel": {"speed": {"byte": 1048576, "record": 1000}}}}"#;

#[test]
fn datax_channel_alone_sets_the_channels_without_limit() {
    assert_eq!(
        datax(r#"{"channel": 4}"#, "").job.speed,
        speed(4, None, None)
    );
    assert_eq!(
        datax(r#"{"channel": "4"}"#, "").job.speed,
        speed(4, None, None)
    );
}

#[test]
fn datax_job_limits_divided_by_core_per_channel_limits_give_the_channels() {
    // 5 MiB/s over 1 MiB/s per channel = 5 channels; `channel` is then ignored, as in DataX.
    let loaded = datax(r#"{"channel": 2, "byte": 5242880}"#, CORE);
    // The job value only sizes the channels: each channel is capped at the core value.
    assert_eq!(loaded.job.speed, per_channel_core(speed(5, None, None)));
    assert_eq!(
        loaded.warnings,
        vec!["job.setting.speed.channel (2) is ignored: the job limits divided by core.transport.channel.speed give 5 channels (as DataX)"]
    );
    // Records: 3500 / 1000 = 3 channels.
    assert_eq!(
        datax(r#"{"record": "3500"}"#, CORE).job.speed,
        per_channel_core(speed(3, None, None))
    );
    // Both: the smaller count wins.
    assert_eq!(
        datax(r#"{"byte": 5242880, "record": 2000}"#, CORE)
            .job
            .speed,
        per_channel_core(speed(2, None, None))
    );
    // A job limit below the per-channel limit still runs one channel.
    assert_eq!(
        datax(r#"{"byte": 100}"#, CORE).job.speed,
        per_channel_core(speed(1, None, None))
    );
}

#[test]
fn datax_core_limits_cap_each_channel_of_a_channel_count_job() {
    assert_eq!(
        datax(r#"{"channel": 2}"#, CORE).job.speed,
        per_channel_core(speed(2, None, None))
    );
    // A job-level limit in a dimension the core section leaves unset stays job-wide.
    let core_records = r#", "core": {"transport": {"channel": {"speed": {"record": 500}}}}"#;
    assert_eq!(
        datax(r#"{"channel": 2, "byte": 4096}"#, core_records)
            .job
            .speed,
        Speed {
            record_per_channel: Some(500),
            ..speed(2, Some(4096), None)
        }
    );
}

#[test]
fn datax_job_limits_without_core_stay_job_wide_on_the_given_channels() {
    assert_eq!(
        datax(r#"{"channel": 3, "byte": 1048576, "record": 10000}"#, "")
            .job
            .speed,
        speed(3, Some(1_048_576), Some(10_000))
    );
    assert_eq!(
        datax(r#"{"byte": 1048576}"#, "").job.speed,
        speed(1, Some(1_048_576), None)
    );
}

#[test]
fn datax_non_positive_values_mean_not_set() {
    assert_eq!(
        datax(r#"{"channel": 2, "byte": -1, "record": 0}"#, "")
            .job
            .speed,
        speed(2, None, None)
    );
    let loaded = datax(r#"{"channel": 0}"#, "");
    assert_eq!(loaded.job.speed, speed(1, None, None));
    assert!(
        loaded
            .warnings
            .contains(&"job.setting.speed.channel is 0: running 1 channel".to_string()),
        "{:?}",
        loaded.warnings
    );
    let core_off = r#", "core": {"transport": {"channel": {"speed": {"byte": -1}}}}"#;
    assert_eq!(
        datax(r#"{"channel": 2, "byte": 4096}"#, core_off).job.speed,
        speed(2, Some(4096), None)
    );
}

#[test]
fn datax_without_speed_runs_one_channel_with_a_warning() {
    let loaded = load(&job_text("datax-odpsreader-oraclewriter-plugindev.json"));
    assert_eq!(loaded.job.speed, speed(1, None, None));
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.starts_with("job.setting.speed: no speed setting")),
        "{:?}",
        loaded.warnings
    );
    let loaded = datax("{}", "");
    assert_eq!(loaded.job.speed, speed(1, None, None));
    assert!(loaded
        .warnings
        .iter()
        .any(|w| w.contains("no channel, byte or record")));
}

#[test]
fn dataworks_throttle_and_mbps() {
    let mib = 1_048_576;
    assert_eq!(
        dataworks(r#"{"concurrent": 3, "throttle": false, "mbps": "1"}"#)
            .job
            .speed,
        speed(3, None, None)
    );
    assert_eq!(
        dataworks(r#"{"concurrent": "2", "throttle": true, "mbps": "12"}"#)
            .job
            .speed,
        speed(2, Some(12 * mib), None)
    );
    assert_eq!(
        dataworks(r#"{"concurrent": 1, "throttle": "true", "mbps": 0.5}"#)
            .job
            .speed,
        speed(1, Some(mib / 2), None)
    );
    // Old 1.0 files have no `throttle`: their `mbps` applies.
    assert_eq!(
        dataworks(r#"{"concurrent": 1, "mbps": "1"}"#).job.speed,
        speed(1, Some(mib), None)
    );
    // `dmu` is accepted and ignored.
    assert_eq!(
        dataworks(r#"{"concurrent": 4, "dmu": 1}"#).job.speed,
        speed(4, None, None)
    );
}

#[test]
fn dataworks_throttle_without_mbps_is_unlimited_with_a_warning() {
    let loaded = dataworks(r#"{"concurrent": 2, "throttle": true}"#);
    assert_eq!(loaded.job.speed, speed(2, None, None));
    assert!(loaded.warnings.contains(
        &"configuration.setting.speed: throttle is true but no mbps is given, so there is no rate limit".to_string()
    ));
}

#[test]
fn dataworks_accepts_a_datax_channel_copied_by_the_converter() {
    assert_eq!(
        dataworks(r#"{"channel": 3}"#).job.speed,
        speed(3, None, None)
    );
}

#[test]
fn saved_dataworks_jobs_get_their_speeds() {
    let params = Params::parse_datax_args("-Dbizdate=20240101").unwrap();
    let seed = load_job(&job_text("seed-odps-to-loghub.json"), &params, None).unwrap();
    assert_eq!(seed.job.speed, speed(1, None, None));
    let dw2 = load_job(&job_text("dw2-odps-to-loghub.json"), &params, None).unwrap();
    assert_eq!(dw2.job.speed, speed(2, Some(12 * 1_048_576), None));
}

fn load_error(text: &str) -> String {
    load_job(text, &Params::new(), None)
        .unwrap_err()
        .to_string()
}

#[test]
fn channel_counts_above_the_maximum_are_refused_naming_the_key() {
    let datax_text = |speed: &str, core: &str| {
        format!(
            r#"{{"job": {{"setting": {{"speed": {speed}}}, "content": [{{"reader": {{"name": "streamreader"}}, "writer": {{"name": "streamwriter"}}}}]}}{core}}}"#
        )
    };
    assert_eq!(
        load_error(&datax_text(r#"{"channel": 9223372036854775807}"#, "")),
        "job.setting.speed.channel: 9223372036854775807 channels is more than the maximum of 1024"
    );
    // Channels derived from the job's limits are bounded too, naming the limit that gave them.
    assert_eq!(
        load_error(&datax_text(r#"{"record": 100000000}"#, CORE)),
        "job.setting.speed.record: 100000 channels is more than the maximum of 1024"
    );
    assert_eq!(datax(r#"{"channel": 1024}"#, "").job.speed.channels, 1024);
    let dataworks_text = |speed: &str| {
        format!(
            r#"{{"type": "job", "version": "1.0", "configuration": {{"setting": {{"speed": {speed}}}, "reader": {{"plugin": "odps"}}, "writer": {{"plugin": "loghub"}}}}}}"#
        )
    };
    assert_eq!(
        load_error(&dataworks_text(r#"{"concurrent": 1025}"#)),
        "configuration.setting.speed.concurrent: 1025 channels is more than the maximum of 1024"
    );
    assert_eq!(
        load_error(&dataworks_text(r#"{"channel": 2147483648}"#)),
        "configuration.setting.speed.channel: 2147483648 channels is more than the maximum of 1024"
    );
}

#[test]
fn zero_or_negative_rate_limits_mean_no_limit_with_a_warning() {
    let loaded = datax(r#"{"channel": 2, "byte": 0, "record": -1}"#, "");
    assert_eq!(loaded.job.speed, speed(2, None, None));
    for expected in [
        "job.setting.speed.byte is 0: no byte limit (DataX limits only values above 0)",
        "job.setting.speed.record is -1: no record limit (DataX limits only values above 0)",
    ] {
        assert!(
            loaded.warnings.iter().any(|w| w == expected),
            "{:?}",
            loaded.warnings
        );
    }
}

#[test]
fn a_byte_order_mark_is_skipped_with_a_warning() {
    let text = format!(
        "\u{feff}{}",
        r#"{"job": {"content": [{"reader": {"name": "streamreader"}, "writer": {"name": "streamwriter"}}]}}"#
    );
    let loaded = load(&text);
    assert_eq!(
        loaded.warnings[0],
        "the job file starts with a UTF-8 byte order mark: skipped"
    );
}

#[test]
fn datax_core_byte_capacity_sizes_each_channel_and_unset_or_non_positive_leaves_the_default() {
    let capacity = |core: &str| datax(r#"{"channel": 2}"#, core).job.channel_byte_capacity;
    assert_eq!(
        capacity(r#", "core": {"transport": {"channel": {"byteCapacity": 1048576}}}"#),
        Some(1_048_576)
    );
    assert_eq!(
        capacity(r#", "core": {"transport": {"channel": {"byteCapacity": "67108864"}}}"#),
        Some(67_108_864)
    );
    assert_eq!(
        capacity(r#", "core": {"transport": {"channel": {"byteCapacity": -1}}}"#),
        None
    );
    assert_eq!(capacity(CORE), None);
    assert_eq!(capacity(""), None);
    let loaded = datax(
        r#"{"channel": 2}"#,
        r#", "core": {"transport": {"channel": {"byteCapacity": 1048576}}}"#,
    );
    assert!(
        loaded.warnings.iter().all(|w| !w.contains("byteCapacity")),
        "{:?}",
        loaded.warnings
    );
    let error = load_job(
        r#"{"job": {"content": [{"reader": {"name": "streamreader"}, "writer": {"name": "streamwriter"}}]}, "core": {"transport": {"channel": {"byteCapacity": "lots"}}}}"#,
        &Params::new(),
        None,
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("core.transport.channel.byteCapacity"),
        "{error}"
    );
}
