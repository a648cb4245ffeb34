//! Record encoder throughput, one core: `cargo bench -p datax-plugin-odps --bench encode`.
//!
//! odpswriter's block writer (`codec::encode`) alone: rows generated beforehand with the
//! decode benchmark's port of the sandbox's value generator, then encoded as a task does —
//! field tags, zigzag varints, every record's CRC32C and the stream CRC — into blocks of
//! 64 MiB (DataX's `blockSizeInMB` default), each finished with its footer. Prints MB and
//! records per second of the thread's own CPU time (`/proc/thread-self/schedstat`, so a busy
//! machine does not count against it), the median of several passes, and the wall-clock rate.
//! `-- NAME` runs only the tables whose name contains NAME.

use std::time::Instant;

#[path = "../decode/generator.rs"]
mod generator;

use datax_odps::codec::encode::{RecordEncoder, WireValue};

/// Passes per table; the median is reported.
const PASSES: usize = 7;
/// Rows generated once per table; a pass encodes them `repeat` times.
const ROWS: u64 = 100_000;
const BLOCK_BYTES: usize = 64 << 20;

struct Table {
    name: &'static str,
    types: &'static [&'static str],
    repeat: u32,
    null_percent: u8,
}

const TABLES: [Table; 2] = [
    // bench/odps_write.py's rows: the seed table's shape.
    Table {
        name: "ak_biz_log shape",
        types: generator::SEED_SHAPE,
        repeat: 10,
        null_percent: 0,
    },
    Table {
        name: "every type, 10% NULL",
        types: generator::EVERY_TYPE,
        repeat: 4,
        null_percent: 10,
    },
];

/// Encodes `rows` `repeat` times into blocks; the wire bytes and records of all blocks.
fn encode(rows: &[Vec<WireValue>], repeat: u32) -> (usize, u64) {
    let (mut bytes, mut records) = (0, 0);
    let mut encoder = RecordEncoder::with_capacity(BLOCK_BYTES + (1 << 20));
    for _ in 0..repeat {
        for row in rows {
            encoder.write_record(row);
            if encoder.bytes_written() >= BLOCK_BYTES {
                records += encoder.records();
                bytes += encoder.take_block().len();
            }
        }
    }
    records += encoder.records();
    bytes += encoder.finish().len();
    (bytes, records)
}

/// The CPU time this thread has run, in seconds (Linux's scheduler statistics, in ns).
fn thread_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    let nanos: u64 = stat
        .split_whitespace()
        .next()
        .and_then(|field| field.parse().ok())
        .expect("the run time in ns");
    nanos as f64 / 1e9
}

fn main() {
    println!(
        "| table | columns | wire MB | records | MB/s per CPU s (median) | records/s per CPU s \
         | MB/s wall (median) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for table in TABLES.iter().filter(|table| generator::chosen(table.name)) {
        let rows: Vec<Vec<WireValue>> = (0..ROWS)
            .map(|row| generator::generated_row(table.types, 7, row, table.null_percent))
            .collect();
        let mut wire = (0, 0);
        let (mut cpu, mut wall): (Vec<f64>, Vec<f64>) = (0..PASSES)
            .map(|_| {
                let (cpu, start) = (thread_cpu_seconds(), Instant::now());
                wire = std::hint::black_box(encode(&rows, table.repeat));
                (thread_cpu_seconds() - cpu, start.elapsed().as_secs_f64())
            })
            .unzip();
        cpu.sort_by(f64::total_cmp);
        wall.sort_by(f64::total_cmp);
        let (cpu, wall) = (cpu[PASSES / 2], wall[PASSES / 2]);
        let (bytes, records) = wire;
        assert_eq!(records, ROWS * u64::from(table.repeat));
        let megabytes = bytes as f64 / 1e6;
        println!(
            "| {} | {} | {:.1} | {} | {:.0} | {:.2} M | {:.0} |",
            table.name,
            table.types.len(),
            megabytes,
            records,
            megabytes / cpu,
            records as f64 / cpu / 1e6,
            megabytes / wall
        );
    }
}
