//! Which columns a task asks the tunnel for and where each lands in the record
//! (datax-engine.md §7.4, §7.5).

use datax_plugin_api::{Column, PluginError, Record};
use datax_plugin_kit::calendar::{days_from_civil, days_in_month};

use crate::codec::FieldTarget;
use crate::config::ColumnSpec;
use crate::partition;
use crate::schema::{OdpsType, SchemaColumn, TableSchema};

/// The records a task produces, resolved against the table's schema.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    /// Data columns requested from the tunnel (indexes into the schema), in first-use order:
    /// wire field `n` is entry `n - 1`.
    wire_columns: Vec<usize>,
    /// Where each wire field lands in the record.
    fields: Vec<FieldTarget>,
    /// Whether `wire_columns` is every data column in table order (no `columns=` needed).
    all_in_table_order: bool,
    /// Record columns that repeat another data column: `(position, source position)`.
    copies: Vec<(usize, usize)>,
    /// Partition values and constants, at their record positions; the rest is `Null`.
    fixed: Record,
    fixed_positions: Vec<usize>,
    width: usize,
}

impl ColumnPlan {
    /// `partition` is the task's normalised spec (`pt=1,ds=hz`), for partition columns.
    pub fn resolve(
        specs: &[ColumnSpec],
        schema: &TableSchema,
        partition: Option<&str>,
    ) -> Result<ColumnPlan, PluginError> {
        let outputs = outputs(specs, schema, partition)?;
        let width = outputs.len();
        let mut wire_columns: Vec<usize> = Vec::new();
        let mut fields: Vec<FieldTarget> = Vec::new();
        let mut copies = Vec::new();
        let mut fixed = Record::new(vec![Column::Null; width]);
        let mut fixed_positions = Vec::new();
        for (position, output) in outputs.into_iter().enumerate() {
            match output {
                Output::Data(data) => {
                    let column = readable(&schema.columns[data])?;
                    match wire_columns.iter().position(|wire| *wire == data) {
                        Some(field) => copies.push((position, fields[field].column)),
                        None => {
                            wire_columns.push(data);
                            fields.push(field_target(column, position));
                        }
                    }
                }
                Output::Fixed(value) => {
                    fixed.columns[position] = value;
                    fixed_positions.push(position);
                }
            }
        }
        let mut width_with_scratch = width;
        if wire_columns.is_empty() && !schema.columns.is_empty() {
            // Only partition columns and constants: still read one column, for the row count,
            // into a scratch column dropped from each record.
            wire_columns.push(0);
            fields.push(field_target(&schema.columns[0], width));
            width_with_scratch += 1;
        }
        let all_in_table_order = wire_columns.len() == schema.columns.len()
            && wire_columns.iter().enumerate().all(|(i, wire)| i == *wire);
        Ok(ColumnPlan {
            wire_columns,
            fields,
            all_in_table_order,
            copies,
            fixed,
            fixed_positions,
            width: width_with_scratch,
        })
    }

    pub fn fields(&self) -> Vec<FieldTarget> {
        self.fields.clone()
    }

    /// The `columns=` parameter: empty when every column is read in table order.
    pub fn columns_parameter(&self, schema: &TableSchema) -> String {
        if self.all_in_table_order {
            return String::new();
        }
        self.wire_columns
            .iter()
            .map(|index| schema.columns[index.to_owned()].name.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Gives a reused record the plan's width before decoding into it.
    pub fn shape(&self, record: &mut Record) {
        record.columns.truncate(self.width);
        while record.columns.len() < self.width {
            record.columns.push(Column::Null);
        }
    }

    /// Fills what the wire does not carry, after decoding.
    pub fn complete(&self, record: &mut Record) {
        for position in &self.fixed_positions {
            record.columns[*position].assign(&self.fixed.columns[*position]);
        }
        for (position, source) in &self.copies {
            let value = record.columns[*source].clone();
            record.columns[*position] = value;
        }
        record.columns.truncate(self.fixed.columns.len());
    }
}

/// What one record position holds.
enum Output {
    /// A data column (index into the schema), read from the tunnel.
    Data(usize),
    /// A partition value or a constant, the same in every record.
    Fixed(Column),
}

/// The record positions the `column` parameter asks for, in order (`*` expanded).
fn outputs(
    specs: &[ColumnSpec],
    schema: &TableSchema,
    partition: Option<&str>,
) -> Result<Vec<Output>, PluginError> {
    let mut outputs = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        match spec {
            ColumnSpec::All => outputs.extend((0..schema.columns.len()).map(Output::Data)),
            ColumnSpec::Constant(text) => outputs.push(Output::Fixed(Column::string(text))),
            ColumnSpec::Name(name) => {
                if let Some(data) = schema.column_index(name) {
                    outputs.push(Output::Data(data));
                } else if let Some(key) = schema.partition_key_index(name) {
                    outputs.push(Output::Fixed(partition_value(schema, key, partition)?));
                } else {
                    return Err(no_such_column(index, name, schema));
                }
            }
        }
    }
    Ok(outputs)
}

fn no_such_column(index: usize, name: &str, schema: &TableSchema) -> PluginError {
    let known: Vec<&str> = schema
        .columns
        .iter()
        .chain(&schema.partition_keys)
        .map(|column| column.name.as_str())
        .collect();
    PluginError::config(format!(
        "column[{index}]: the table has no column \"{name}\" (it has {})",
        known.join(", ")
    ))
}

/// `column`, unless it has a type DataX's odpsreader does not read either.
fn readable(column: &SchemaColumn) -> Result<&SchemaColumn, PluginError> {
    if matches!(
        column.odps_type,
        OdpsType::IntervalDayTime | OdpsType::IntervalYearMonth
    ) {
        return Err(PluginError::config(format!(
            "column: {} has type {}, which DataX's odpsreader does not read \
             either; leave it out of column",
            column.name, column.type_name
        )));
    }
    Ok(column)
}

fn field_target(column: &SchemaColumn, position: usize) -> FieldTarget {
    FieldTarget {
        name: column.name.clone(),
        odps_type: column.odps_type.clone(),
        column: position,
    }
}

/// A partition column's value from the task's spec, typed as the key is declared.
fn partition_value(
    schema: &TableSchema,
    key: usize,
    partition: Option<&str>,
) -> Result<Column, PluginError> {
    let key_column = &schema.partition_keys[key];
    let Some(spec) = partition else {
        // The job resolves columns before it knows the partitions; any value will do there.
        return Ok(Column::Null);
    };
    let values = partition::values_by_key(spec, &[key_column.name.as_str()]).ok_or_else(|| {
        PluginError::config(format!(
            "partition {spec} has no value for partition column {}",
            key_column.name
        ))
    })?;
    let text = values.into_iter().next().unwrap_or_default();
    let wrong = || {
        PluginError::data(format!(
            "partition column {} is {} but its value \"{text}\" is not",
            key_column.name, key_column.type_name
        ))
    };
    Ok(match key_column.odps_type {
        OdpsType::Integer => Column::Long(text.parse().map_err(|_| wrong())?),
        OdpsType::Double | OdpsType::Float => Column::Double(text.parse().map_err(|_| wrong())?),
        OdpsType::Boolean => match text.to_ascii_lowercase().as_str() {
            "true" => Column::Bool(true),
            "false" => Column::Bool(false),
            _ => return Err(wrong()),
        },
        OdpsType::Decimal => Column::decimal(
            crate::codec::plain_decimal(&text)
                .ok_or_else(wrong)?
                .into_owned(),
        ),
        OdpsType::Date => Column::Date(days_from_iso_date(&text).ok_or_else(wrong)?),
        _ => Column::string(text.as_str()),
    })
}

/// Days since 1970-01-01 of a `yyyy-MM-dd` date.
fn days_from_iso_date(text: &str) -> Option<i32> {
    let mut parts = text.trim().splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    // Beyond ±5.9 million years the day count does not fit an i32 anyway.
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || year.unsigned_abs() > 6_000_000
    {
        return None;
    }
    i32::try_from(days_from_civil(year, month, day)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> TableSchema {
        TableSchema::from_json(&json!({
            "columns": [{"name": "a", "type": "bigint"}, {"name": "b", "type": "string"}],
            "partitionKeys": [{"name": "pt", "type": "string"}, {"name": "n", "type": "bigint"}]
        }))
        .unwrap()
    }

    #[test]
    fn all_columns_need_no_columns_parameter() {
        let plan = ColumnPlan::resolve(&[ColumnSpec::All], &schema(), Some("pt=1,n=2")).unwrap();
        assert_eq!(plan.columns_parameter(&schema()), "");
        assert_eq!(plan.fields().len(), 2);
    }

    #[test]
    fn subsets_partition_columns_constants_and_repeats() {
        let specs = vec![
            ColumnSpec::Name("B".into()),
            ColumnSpec::Name("pt".into()),
            ColumnSpec::Constant("k".into()),
            ColumnSpec::Name("n".into()),
            ColumnSpec::Name("b".into()),
        ];
        let plan = ColumnPlan::resolve(&specs, &schema(), Some("pt=20161226,n=7")).unwrap();
        assert_eq!(plan.columns_parameter(&schema()), "b");
        let mut record = Record::default();
        plan.shape(&mut record);
        record.columns[0] = Column::string("x");
        plan.complete(&mut record);
        assert_eq!(
            record,
            Record::new(vec![
                Column::string("x"),
                Column::string("20161226"),
                Column::string("k"),
                Column::Long(7),
                Column::string("x"),
            ])
        );
    }

    #[test]
    fn unknown_columns_and_bad_partition_values_are_errors() {
        let error =
            ColumnPlan::resolve(&[ColumnSpec::Name("zz".into())], &schema(), None).unwrap_err();
        assert_eq!(
            error.message.as_str(),
            "column[0]: the table has no column \"zz\" (it has a, b, pt, n)"
        );
        let error =
            ColumnPlan::resolve(&[ColumnSpec::Name("n".into())], &schema(), Some("pt=1,n=x"))
                .unwrap_err();
        assert_eq!(
            error.message.as_str(),
            "partition column n is bigint but its value \"x\" is not"
        );
    }

    #[test]
    fn date_partition_keys_become_dates() {
        assert_eq!(days_from_iso_date("1970-01-01"), Some(0));
        assert_eq!(days_from_iso_date("2016-12-26"), Some(17_161));
        assert_eq!(days_from_iso_date("1969-12-31"), Some(-1));
        assert_eq!(days_from_iso_date("2016-02-30"), None);
        assert_eq!(days_from_iso_date("20161226"), None);
    }

    #[test]
    fn only_partition_columns_still_read_rows() {
        let plan = ColumnPlan::resolve(
            &[ColumnSpec::Name("pt".into())],
            &schema(),
            Some("pt=1,n=2"),
        )
        .unwrap();
        assert_eq!(plan.columns_parameter(&schema()), "a");
        let mut record = Record::default();
        plan.shape(&mut record);
        assert_eq!(record.columns.len(), 2);
        plan.complete(&mut record);
        assert_eq!(record, Record::new(vec![Column::string("1")]));
    }
}
