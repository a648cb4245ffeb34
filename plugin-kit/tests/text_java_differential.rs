//! Differential test of DataX's double and float text: a JVM (JDK 8 to 18, whose
//! `Double.toString` is the one DataX runs on) renders random bit patterns and edge cases
//! through `tests/java/DataxText.java`; ours must give the same bytes for each.
//! Skipped, with a message, where no `javac`/`java` is on PATH or the JVM is 19 or newer.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use datax_plugin_kit::text::{write_java_double, write_java_float};

/// Random patterns per kind, besides the edge cases.
const RANDOM_VALUES: usize = 100_000;

#[test]
fn random_and_edge_doubles_and_floats_match_a_jvm() {
    let Some(classes) = compile_helper() else {
        return;
    };
    let seed = 0x5eed_da7a_u64 ^ u64::from(std::process::id());
    let inputs = inputs(seed);
    let expected = run_helper(&classes, &inputs);
    assert_eq!(expected.len(), inputs.len(), "the JVM answered every value");
    let mut mismatches = Vec::new();
    for ((kind, bits), java) in inputs.iter().zip(&expected) {
        let ours = ours(kind, *bits);
        if &ours != java {
            mismatches.push(format!("{kind} {bits:x}: JVM {java}, ours {ours}"));
        }
    }
    std::fs::remove_dir_all(&classes).ok();
    assert!(
        mismatches.is_empty(),
        "seed {seed:#x}: {} of {} differ, first ones:\n{}",
        mismatches.len(),
        inputs.len(),
        mismatches[..mismatches.len().min(20)].join("\n")
    );
    eprintln!(
        "{} values compared with the JVM (seed {seed:#x})",
        inputs.len()
    );
}

/// Our text, or `!NumberFormatException` as the helper prints for what BigDecimal refuses.
fn ours(kind: &str, bits: u64) -> String {
    let mut out = Vec::new();
    let written = match kind {
        "double" => write_java_double(&mut out, f64::from_bits(bits)),
        _ => write_java_float(&mut out, f32::from_bits(bits as u32)),
    };
    match written {
        Ok(()) => String::from_utf8(out).unwrap(),
        Err(_) => "!NumberFormatException".to_string(),
    }
}

/// Edge cases of both kinds, then random bit patterns, then random "decimal-looking" values.
fn inputs(seed: u64) -> Vec<(&'static str, u64)> {
    let mut inputs = Vec::new();
    for exponent in 0..0x7ff_u64 {
        for mantissa in [0, 1, 2, (1 << 52) - 1, 1 << 51, (1 << 51) + 1] {
            for sign in [0, 1u64 << 63] {
                inputs.push(("double", sign | exponent << 52 | mantissa));
            }
        }
    }
    for exponent in 0..0xff_u64 {
        for mantissa in [0, 1, 2, (1 << 23) - 1, 1 << 22, (1 << 22) + 1] {
            inputs.push(("float", exponent << 23 | mantissa));
        }
    }
    for power in -330..310 {
        let ten = format!("1e{power}").parse::<f64>().unwrap();
        let bits = ten.to_bits();
        for value in [bits, bits.wrapping_add(1), bits.wrapping_sub(1)].map(f64::from_bits) {
            inputs.push(("double", value.to_bits()));
            inputs.push(("float", u64::from((value as f32).to_bits())));
        }
    }
    for special in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        f64::MIN_POSITIVE,
    ] {
        inputs.push(("double", special.to_bits()));
        inputs.push(("float", u64::from((special as f32).to_bits())));
    }
    let mut random = XorShift(seed | 1);
    for _ in 0..RANDOM_VALUES {
        inputs.push(("double", random.next()));
        inputs.push(("float", random.next() >> 32));
    }
    for _ in 0..RANDOM_VALUES / 10 {
        // Values as tables hold them: a few digits at a moderate scale.
        let digits = (random.next() % 100_000_000) as f64;
        let scale = 10f64.powi((random.next() % 16) as i32 - 8);
        inputs.push(("double", (digits * scale).to_bits()));
        inputs.push(("float", u64::from(((digits * scale) as f32).to_bits())));
    }
    inputs
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Compiles DataxText.java into a fresh directory; None (with the reason on stderr) where
/// no usable JDK is found.
fn compile_helper() -> Option<PathBuf> {
    let version = match Command::new("java").arg("-version").output() {
        Ok(output) => String::from_utf8_lossy(&output.stderr).into_owned(),
        Err(_) => return skip("no `java` on PATH"),
    };
    let major = java_major_version(&version)?;
    if major >= 19 {
        return skip(&format!(
            "java {major} on PATH: JDK 19 changed Double.toString, DataX's is JDK 8's"
        ));
    }
    let classes = std::env::temp_dir().join(format!("datax-text-java-{}", std::process::id()));
    std::fs::create_dir_all(&classes).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/DataxText.java");
    match Command::new("javac")
        .arg("-d")
        .arg(&classes)
        .arg(&source)
        .status()
    {
        Ok(status) => assert!(status.success(), "javac failed on {}", source.display()),
        Err(_) => return skip("no `javac` on PATH"),
    }
    Some(classes)
}

/// 8 from `version "1.8.0_392"`, 17 from `version "17.0.15"`.
fn java_major_version(version_output: &str) -> Option<u32> {
    let quoted = version_output.split('"').nth(1)?;
    let mut parts = quoted.split(['.', '-', '_']);
    match parts.next()?.parse().ok()? {
        1 => parts.next()?.parse().ok(),
        major => Some(major),
    }
}

fn skip(reason: &str) -> Option<PathBuf> {
    eprintln!(
        "SKIPPED: the Java differential test of double/float text needs a JDK 8-18: {reason}"
    );
    None
}

fn run_helper(classes: &Path, inputs: &[(&str, u64)]) -> Vec<String> {
    let mut child = Command::new("java")
        .arg("-cp")
        .arg(classes)
        .arg("DataxText")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("java starts");
    let mut stdin = child.stdin.take().unwrap();
    let lines: String = inputs
        .iter()
        .map(|(kind, bits)| format!("{kind} {bits:x}\n"))
        .collect();
    // Written from another thread: the JVM's output would fill its pipe meanwhile.
    let writer = std::thread::spawn(move || stdin.write_all(lines.as_bytes()));
    let output: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .collect();
    writer.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success(), "the Java helper failed");
    output
}
