//! streamreader: every task sends `sliceRecordCount` records built from the `column` specs.

use datax_plugin_api::{
    Column, EpochTime, PluginError, ReaderJob, ReaderTask, Record, RecordSender, TaskContext,
};
use datax_plugin_kit::config;
use serde::{Deserialize, Serialize};

use crate::config::{ColumnSpec, IncrementSpec, RandomSpec, ReaderConfig, ReaderParameter};

pub struct StreamReaderJob {
    parameter: ReaderParameter,
}

/// What `split` hands each task: the parameter and the task's seed.
#[derive(Serialize, Deserialize)]
struct TaskConfig {
    parameter: ReaderParameter,
    seed: u64,
}

impl ReaderJob for StreamReaderJob {
    type Task = StreamReaderTask;

    const DATAX_NAMES: &'static [&'static str] = &["streamreader"];

    const TEMPLATE: &'static str = r#"{
    "column": [
        {"type": "string", "value": "DataX"},
        {"type": "long", "value": 1724154616370},
        {"type": "double", "value": "3.14"},
        {"type": "date", "value": "2024-01-01 00:00:00", "dateFormat": "yyyy-MM-dd HH:mm:ss"},
        {"type": "bool", "value": true},
        {"type": "bytes", "value": "TestRawData"},
        {"type": "long", "random": "1,100"},
        {"type": "string", "random": "5,10"},
        {"type": "long", "incr": "1,1"}
    ],
    "sliceRecordCount": 10
}"#;

    fn init(parameter: &str) -> Result<Self, PluginError> {
        let parameter = config::parse::<ReaderParameter>(parameter, "parameter")?.log_warnings();
        ReaderConfig::new(&parameter)?;
        Ok(StreamReaderJob { parameter })
    }

    /// `advice` tasks of `sliceRecordCount` records each (DataX: the count is per task). Each
    /// task seeds its random columns with its index, so a job's data is reproducible.
    fn split(&mut self, advice: usize) -> Result<Vec<String>, PluginError> {
        (0..advice as u64)
            .map(|seed| {
                config::task_to_json(&TaskConfig {
                    parameter: self.parameter.clone(),
                    seed,
                })
            })
            .collect()
    }

    fn task(&self, task_config: &str) -> Result<StreamReaderTask, PluginError> {
        let TaskConfig { parameter, seed } = config::task_from_json(task_config)?;
        let config = ReaderConfig::new(&parameter)?;
        Ok(StreamReaderTask {
            record_count: config.slice_record_count,
            generator: RecordGenerator::new(&config.columns, seed),
        })
    }
}

pub struct StreamReaderTask {
    record_count: u64,
    generator: RecordGenerator,
}

impl ReaderTask for StreamReaderTask {
    fn start_read(
        &mut self,
        sender: &mut RecordSender,
        _context: &mut TaskContext,
    ) -> Result<(), PluginError> {
        // `send_with` fails with CANCELLED when the job stops, which ends the loop.
        for _ in 0..self.record_count {
            sender.send_with(|record| {
                self.generator.fill(record);
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// Builds records: constant columns are made once into a template that each record clones;
/// only the generated columns are computed per record.
struct RecordGenerator {
    template: Record,
    generated: Vec<(usize, Generated)>,
    random: SplitMix64,
}

enum Generated {
    Random(RandomSpec),
    LongIncrement { next: i64, step: i64 },
    DateTimeIncrement { next_millis: i64, step_millis: i64 },
}

impl RecordGenerator {
    fn new(columns: &[ColumnSpec], seed: u64) -> Self {
        let mut template = Vec::with_capacity(columns.len());
        let mut generated = Vec::new();
        for (index, spec) in columns.iter().enumerate() {
            match spec {
                ColumnSpec::Constant(column) => template.push(column.clone()),
                ColumnSpec::Random(random) => {
                    template.push(Column::Null);
                    generated.push((index, Generated::Random(random.clone())));
                }
                ColumnSpec::Increment(increment) => {
                    template.push(Column::Null);
                    let increment = match *increment {
                        IncrementSpec::Long { start, step } => {
                            Generated::LongIncrement { next: start, step }
                        }
                        IncrementSpec::DateTime {
                            start_millis,
                            step_millis,
                        } => Generated::DateTimeIncrement {
                            next_millis: start_millis,
                            step_millis,
                        },
                    };
                    generated.push((index, increment));
                }
            }
        }
        RecordGenerator {
            template: Record::new(template),
            generated,
            random: SplitMix64::new(seed),
        }
    }

    /// Overwrites `record` with the next record, reusing its buffers.
    fn fill(&mut self, record: &mut Record) {
        record.assign(&self.template);
        for (index, generated) in &mut self.generated {
            record.columns[*index] = match generated {
                Generated::Random(spec) => self.random.column(spec),
                Generated::LongIncrement { next, step } => {
                    let value = *next;
                    *next = value.wrapping_add(*step);
                    Column::Long(value)
                }
                Generated::DateTimeIncrement {
                    next_millis,
                    step_millis,
                } => {
                    let millis = *next_millis;
                    *next_millis = millis.wrapping_add(*step_millis);
                    Column::DateTime(EpochTime::from_millis(millis))
                }
            };
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a few instructions per value and good enough
/// statistics for test data; a crate would add nothing here.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }

    /// Uniform in `0..bound` (`bound` > 0) by multiply-shift; its bias, below 2^-64 × bound,
    /// does not matter for test data.
    fn below(&mut self, bound: u128) -> u128 {
        (u128::from(self.next_u64()) * bound) >> 64
    }

    /// Uniform in `min..=max`.
    fn in_range(&mut self, min: i64, max: i64) -> i64 {
        let span = (i128::from(max) - i128::from(min) + 1) as u128;
        (i128::from(min) + self.below(span) as i128) as i64
    }

    /// Uniform in `0.0..1.0`, from the top 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn alphanumeric(&mut self, min_len: u32, max_len: u32) -> Vec<u8> {
        const ALPHANUMERIC: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let len = self.in_range(min_len.into(), max_len.into()) as usize;
        (0..len)
            .map(|_| ALPHANUMERIC[self.below(ALPHANUMERIC.len() as u128) as usize])
            .collect()
    }

    fn column(&mut self, spec: &RandomSpec) -> Column {
        match *spec {
            RandomSpec::Long { min, max } => Column::Long(self.in_range(min, max)),
            RandomSpec::Double { min, max } => {
                // Clamped because rounding can reach `max` itself.
                Column::Double((min + (max - min) * self.unit()).min(max))
            }
            RandomSpec::String { min_len, max_len } => Column::string(
                String::from_utf8(self.alphanumeric(min_len, max_len)).expect("ASCII"),
            ),
            RandomSpec::Bytes { min_len, max_len } => {
                Column::bytes(self.alphanumeric(min_len, max_len))
            }
            RandomSpec::DateTime {
                min_millis,
                max_millis,
            } => Column::DateTime(EpochTime::from_millis(
                self.in_range(min_millis, max_millis),
            )),
            RandomSpec::Bool {
                false_weight,
                true_weight,
            } => {
                let total = u128::from(false_weight) + u128::from(true_weight);
                if total == 0 {
                    Column::Bool(self.below(2) == 1)
                } else {
                    Column::Bool(self.below(total) >= u128::from(false_weight))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    impl RecordGenerator {
        fn next_record(&mut self) -> Record {
            let mut record = Record::default();
            self.fill(&mut record);
            record
        }
    }

    use super::*;
    use serde_json::{json, Value};

    fn generator(columns: Value, seed: u64) -> RecordGenerator {
        let parameter = json!({"column": columns, "sliceRecordCount": 1});
        let parsed = config::from_value::<ReaderParameter>(parameter, "parameter").unwrap();
        let config = ReaderConfig::new(&parsed.value).unwrap();
        RecordGenerator::new(&config.columns, seed)
    }

    fn column_values(generator: &mut RecordGenerator, count: usize) -> Vec<Column> {
        (0..count)
            .map(|_| generator.next_record().columns[0].clone())
            .collect()
    }

    #[test]
    fn constant_columns_repeat() {
        let mut generator = generator(
            json!([{"type": "string", "value": "DataX"}, {"type": "long", "value": 1}]),
            0,
        );
        let expected = Record::new(vec![Column::string("DataX"), Column::Long(1)]);
        assert_eq!(generator.next_record(), expected);
        assert_eq!(generator.next_record(), expected);
    }

    #[test]
    fn random_values_stay_in_bounds() {
        let mut longs = generator(json!([{"type": "long", "random": "-3,3"}]), 1);
        let seen: Vec<i64> = column_values(&mut longs, 2000)
            .into_iter()
            .map(|column| match column {
                Column::Long(value) => value,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(seen.iter().all(|value| (-3..=3).contains(value)));
        assert!(
            (-3..=3).all(|bound| seen.contains(&bound)),
            "both ends occur"
        );

        let mut doubles = generator(json!([{"type": "double", "random": "1,2"}]), 2);
        for column in column_values(&mut doubles, 2000) {
            assert!(matches!(column, Column::Double(value) if (1.0..2.0).contains(&value)));
        }

        let mut strings = generator(json!([{"type": "string", "random": "2,4"}]), 3);
        for column in column_values(&mut strings, 500) {
            let Column::String(text) = column else {
                panic!("{column:?}")
            };
            assert!((2..=4).contains(&text.len()), "{text}");
            assert!(text.bytes().all(|byte| byte.is_ascii_alphanumeric()));
        }

        let mut bytes = generator(json!([{"type": "bytes", "random": "0,0"}]), 3);
        assert_eq!(column_values(&mut bytes, 1), vec![Column::bytes(vec![])]);

        let mut dates = generator(
            json!([{"type": "date", "random": "2024-01-01 00:00:00,2024-01-01 00:00:01"}]),
            4,
        );
        for column in column_values(&mut dates, 200) {
            let Column::DateTime(instant) = column else {
                panic!("{column:?}")
            };
            assert!((1_704_038_400_000..=1_704_038_401_000).contains(&instant.as_millis()));
        }
    }

    #[test]
    fn random_bools_follow_their_weights() {
        let count_true = |weights: &str| {
            let mut bools = generator(json!([{"type": "bool", "random": weights}]), 5);
            column_values(&mut bools, 1000)
                .into_iter()
                .filter(|column| *column == Column::Bool(true))
                .count()
        };
        assert_eq!(count_true("0,10"), 1000);
        assert_eq!(count_true("10,0"), 0);
        assert!((150..350).contains(&count_true("3,1")));
        assert!((400..600).contains(&count_true("0,0")));
    }

    #[test]
    fn random_data_is_deterministic_per_seed() {
        let columns = json!([
            {"type": "long", "random": "0,1000000"},
            {"type": "string", "random": "1,20"}
        ]);
        let run = |seed| {
            let mut generator = generator(columns.clone(), seed);
            (0..50).map(|_| generator.next_record()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn increments_advance_per_record() {
        let mut generator = generator(
            json!([
                {"type": "long", "incr": "10,-5"},
                {"type": "date", "incr": "2024-01-01 00:00:00,1,d"}
            ]),
            0,
        );
        let day = 86_400_000;
        for offset in 0..3 {
            assert_eq!(
                generator.next_record(),
                Record::new(vec![
                    Column::Long(10 - 5 * offset),
                    Column::DateTime(EpochTime::from_millis(1_704_038_400_000 + offset * day)),
                ])
            );
        }
    }

    #[test]
    fn split_gives_each_task_the_parameter_and_its_own_seed() {
        let mut job = StreamReaderJob::init(
            r#"{"column": [{"type": "long", "random": "1,9"}], "sliceRecordCount": "3"}"#,
        )
        .unwrap();
        let configs = job.split(3).unwrap();
        assert_eq!(configs.len(), 3);
        let task = job.task(&configs[2]).unwrap();
        assert_eq!(task.record_count, 3);
        assert_eq!(task.generator.random.state, 2);
    }

    #[test]
    fn the_template_is_a_valid_parameter() {
        config::assert_template_matches::<ReaderParameter>(StreamReaderJob::TEMPLATE);
        StreamReaderJob::init(StreamReaderJob::TEMPLATE).unwrap();
    }
}
