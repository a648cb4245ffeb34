//! Record decoder throughput, one core: `cargo bench -p datax-plugin-odps --bench decode`.
//!
//! Encodes generated tables in-process with the sandbox's value generator (ported in
//! `generator.rs`) and the plugin's own stream writer (`codec::encode`, also
//! odpswriter's block writer): the bytes the sandbox's tunnel serves (odps-tunnel.md §5). Then decodes them as
//! a task does, into one reused record, checking every CRC. Prints MB/s of wire bytes and records/s, the median
//! of several passes. `-- NAME` runs only the tables whose name contains NAME.

use std::time::{Duration, Instant};

mod generator;

use datax_odps::codec::encode::RecordEncoder;
use datax_odps::codec::{FieldTarget, RecordDecoder};
use datax_odps::schema::OdpsType;
use datax_plugin_api::{Column, Record};

/// Passes per table; the median is reported.
const PASSES: usize = 7;

struct Table {
    name: &'static str,
    types: &'static [&'static str],
    rows: u64,
    null_percent: u8,
}

const TABLES: [Table; 2] = [
    // bench/odps_read.py's table, `aliyun_account.ak_biz_log_generated`.
    Table {
        name: "ak_biz_log_generated",
        types: generator::SEED_SHAPE,
        rows: 1_000_000,
        null_percent: 0,
    },
    Table {
        name: "every type, 10% NULL",
        types: generator::EVERY_TYPE,
        rows: 200_000,
        null_percent: 10,
    },
];

fn encode(table: &Table) -> Vec<u8> {
    let mut encoder = RecordEncoder::default();
    for row in 0..table.rows {
        encoder.write_record(&generator::generated_row(
            table.types,
            7,
            row,
            table.null_percent,
        ));
    }
    encoder.finish()
}

fn decode(bytes: &[u8], fields: &[FieldTarget]) -> u64 {
    let mut decoder = RecordDecoder::new(bytes, fields.to_vec());
    let mut record = Record::new(vec![Column::Null; fields.len()]);
    while decoder.next_is_record().expect("a record or the footer") {
        decoder
            .read_record(&mut record)
            .expect("an intact record")
            .expect("values that convert");
    }
    decoder.records()
}

fn main() {
    println!("| table | columns | wire MB | records | MB/s (median) | records/s (median) |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for table in TABLES.iter().filter(|table| generator::chosen(table.name)) {
        let bytes = encode(table);
        let fields: Vec<FieldTarget> = table
            .types
            .iter()
            .enumerate()
            .map(|(column, name)| FieldTarget {
                name: format!("c{column}"),
                odps_type: OdpsType::parse(name).expect("a plugin type"),
                column,
            })
            .collect();
        let mut times: Vec<Duration> = (0..PASSES)
            .map(|_| {
                let start = Instant::now();
                let records = decode(&bytes, &fields);
                let elapsed = start.elapsed();
                assert_eq!(records, table.rows);
                elapsed
            })
            .collect();
        times.sort();
        let median = times[PASSES / 2].as_secs_f64();
        let megabytes = bytes.len() as f64 / 1e6;
        println!(
            "| {} | {} | {:.1} | {} | {:.0} | {:.2} M |",
            table.name,
            table.types.len(),
            megabytes,
            table.rows,
            megabytes / median,
            table.rows as f64 / median / 1e6
        );
    }
}
