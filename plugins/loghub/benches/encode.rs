//! The encode path on one core, as a task's threads run it but without the network:
//! records → protobuf LogGroup → compression → Content-MD5 → signed PutLogs request.
//!
//!     cargo bench -p datax-plugin-loghub --bench encode [-- SECONDS_PER_ROW]
//!
//! The records are bench/loghub_write.py's (string, long, date, bool, bytes, random long;
//! batchSize 1024). Prints, for each `compress` value, MB/s (10^6 bytes) of raw protobuf (the
//! `x-log-bodyrawsize`), logs/s, the compressed size and where the time goes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use datax_loghub::encode_path::{
    BatchSink, ClientSettings, Encoder, LogBatch, SendBuffers, Shipper, WriterConfig,
};
use datax_plugin_api::{Column, EpochTime, PluginError, Record};
use serde_json::json;

/// Records encoded over and over: enough that the random column does not repeat in a batch.
const RECORDS: u64 = 100_000;

fn records() -> Vec<Record> {
    // 2024-01-01 00:00:00 in GMT+8, as the stream reader makes it.
    let date = Column::DateTime(EpochTime {
        seconds: 1_704_038_400,
        nanos: 0,
    });
    let mut random = 0x9E37_79B9_7F4A_7C15u64;
    (0..RECORDS)
        .map(|_| {
            random = random
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            Record::new(vec![
                Column::string("DataX"),
                Column::Long(1_724_154_616_370),
                date.clone(),
                Column::Bool(true),
                Column::bytes("TestRawData"),
                Column::Long((random >> 33) as i64 % 1000 + 1),
            ])
        })
        .collect()
}

/// Compresses, hashes and signs every batch as a sending thread does, timing each step.
struct SigningSink {
    shipper: Shipper,
    buffers: SendBuffers,
    spares: Vec<LogBatch>,
    raw_bytes: u64,
    sent_bytes: u64,
    /// Building the LogGroup and compressing it.
    compressing: Duration,
    /// Content-MD5, signature, headers, the request.
    signing: Duration,
}

impl BatchSink for SigningSink {
    fn empty_batch(&mut self) -> LogBatch {
        self.spares.pop().unwrap_or_default()
    }

    fn ship(&mut self, batch: LogBatch, route_key: Option<String>) -> Result<(), PluginError> {
        let start = Instant::now();
        let body = self
            .shipper
            .encode_body(&batch, 0..batch.len(), &mut self.buffers)?;
        let compressed = Instant::now();
        let request = self
            .shipper
            .client()
            .put_logs_request(&body, route_key.as_deref())
            .map_err(|error| PluginError::io(error.to_string()))?;
        black_box(request);
        self.signing += compressed.elapsed();
        self.compressing += compressed - start;
        self.raw_bytes += body.raw_size() as u64;
        self.sent_bytes += body.sent_size() as u64;
        self.spares.push(batch);
        Ok(())
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a number is the seconds to measure each row.
    let seconds: f64 = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(3.0);
    let records = records();
    println!(
        "| compress | raw protobuf MB/s | logs/s | sent / raw | encode | group + compress | MD5 + sign |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for compress in ["lz4", "none", "deflate", "zstd"] {
        let parameter = json!({
            "endpoint": "cn-hangzhou.log.aliyuncs.com", "accessId": "bench-id",
            "accessKey": "bench-secret", "project": "datax-demo", "logstore": "ak_biz_log",
            "batchSize": 1024, "compress": compress,
            "column": ["col0", "col1", "col2", "col3", "col4", "col5"],
        });
        let config = WriterConfig::parse(&parameter, false).expect("a valid parameter");
        let mut sink = SigningSink {
            shipper: Shipper::new(&config, &ClientSettings::of_writer(&config).shared_http())
                .expect("an HTTP client"),
            buffers: SendBuffers::default(),
            spares: Vec::new(),
            raw_bytes: 0,
            sent_bytes: 0,
            compressing: Duration::ZERO,
            signing: Duration::ZERO,
        };
        let mut encoder = Encoder::new(config);
        let mut encode = |sink: &mut SigningSink| {
            for record in &records {
                let dirty = encoder
                    .encode(record, 1_700_000_000, sink)
                    .expect("encodes");
                assert!(dirty.is_none());
            }
            encoder.flush(sink).expect("flushes");
        };
        // Warm up: buffers at their size, caches and branch predictors trained.
        encode(&mut sink);
        (sink.raw_bytes, sink.sent_bytes) = (0, 0);
        (sink.compressing, sink.signing) = (Duration::ZERO, Duration::ZERO);
        let start = Instant::now();
        let mut logs = 0u64;
        while start.elapsed().as_secs_f64() < seconds {
            encode(&mut sink);
            logs += RECORDS;
        }
        let elapsed = start.elapsed();
        let share = |part: Duration| {
            format!(
                "{:.0} %",
                100.0 * part.as_secs_f64() / elapsed.as_secs_f64()
            )
        };
        println!(
            "| {compress} | {:.0} | {:.2} M | {:.2} | {} | {} | {} |",
            sink.raw_bytes as f64 / elapsed.as_secs_f64() / 1e6,
            logs as f64 / elapsed.as_secs_f64() / 1e6,
            sink.sent_bytes as f64 / sink.raw_bytes as f64,
            share(elapsed - sink.compressing - sink.signing),
            share(sink.compressing),
            share(sink.signing),
        );
    }
}
