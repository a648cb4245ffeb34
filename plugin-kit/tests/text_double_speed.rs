//! How long DataX's double text takes, against Rust's shortest `Display` (what this crate
//! wrote before) on the same values. Run:
//! `cargo test --release -p datax-plugin-kit --test text_double_speed -- --ignored --nocapture`

use std::hint::black_box;
use std::io::Write;
use std::time::Instant;

use datax_plugin_kit::text::write_java_double;

const VALUES: usize = 1_000_000;

#[test]
#[ignore = "a measurement: run in release with --ignored --nocapture"]
fn double_text_ns_per_value() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let table_like: Vec<f64> = (0..VALUES)
        .map(|_| (next() % 10_000_000) as f64 / 100.0)
        .collect();
    let small: Vec<f64> = (0..VALUES)
        .map(|_| (next() % 1_000_000_000) as f64 * 1e-14)
        .collect();
    // The seed table's DOUBLE column (sandbox/src/odps/generator.rs): mostly 17 digits.
    let seed_like: Vec<f64> = (0..VALUES)
        .map(|_| (next() % 2_000_000_000) as f64 / 1000.0 - 1_000_000.0)
        .collect();
    let any_bits: Vec<f64> = (0..VALUES)
        .map(|_| f64::from_bits(next()))
        .filter(|value| value.is_finite())
        .collect();
    let cases = [
        ("prices (cents)", &table_like),
        ("small (under 0.01, full mantissa)", &small),
        ("seed table (thousandths less a million)", &seed_like),
        ("random bits", &any_bits),
    ];
    for (name, values) in cases {
        let java = measure(values, |out, value| write_java_double(out, value).unwrap());
        let shortest = measure(values, |out, value| {
            write!(out, "{value}").unwrap();
        });
        println!("{name}: DataX text {java:.1} ns/value, Rust Display {shortest:.1} ns/value");
    }
}

fn measure(values: &[f64], write: impl Fn(&mut Vec<u8>, f64)) -> f64 {
    let mut out = Vec::with_capacity(64);
    let started = Instant::now();
    for &value in values {
        out.clear();
        write(&mut out, black_box(value));
        black_box(&out);
    }
    started.elapsed().as_nanos() as f64 / values.len() as f64
}
