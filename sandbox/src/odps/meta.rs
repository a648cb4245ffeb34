//! Tables as served, and the REST metadata documents about them (odps-tunnel.md §11).

use serde_json::json;

use super::generator::{generated_time_text, generated_value, TimeTextPattern};
use super::types::{OdpsType, Value};

/// Creation and modification times reported for every table and partition.
const CREATED_EPOCH_SECONDS: u64 = 1_482_710_400;
pub(crate) const OWNER: &str = "ALIYUN$sandbox@aliyun.com";

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub odps_type: OdpsType,
    pub comment: String,
}

#[derive(Debug, Clone)]
pub struct Table {
    /// Identifies the table's generated rows in the record cache: unique per configured
    /// table and kept by the copies an upload makes, whose generated sources never change.
    pub cache_id: u64,
    pub name: String,
    pub columns: Vec<Column>,
    pub partition_keys: Vec<Column>,
    /// Rows of an unpartitioned table.
    pub rows: RowSource,
    pub partitions: Vec<Partition>,
}

#[derive(Debug, Clone)]
pub struct Partition {
    /// `(key, value)` in partition-key order.
    pub spec: Vec<(String, String)>,
    pub rows: RowSource,
}

#[derive(Debug, Clone)]
pub enum RowSource {
    Literal(Vec<Vec<Value>>),
    Generated {
        count: u64,
        seed: u64,
        null_percent: u8,
        /// Per column: a strftime pattern for generated time text (`time_text`).
        time_texts: Vec<Option<TimeTextPattern>>,
    },
}

impl RowSource {
    pub fn count(&self) -> u64 {
        match self {
            RowSource::Literal(rows) => rows.len() as u64,
            RowSource::Generated { count, .. } => *count,
        }
    }

    /// One cell; `row` must be below `count()`.
    pub fn value(&self, row: u64, column: usize, odps_type: &OdpsType) -> Value {
        match self {
            RowSource::Literal(rows) => rows
                .get(row as usize)
                .and_then(|r| r.get(column))
                .cloned()
                .unwrap_or(Value::Null),
            RowSource::Generated {
                seed,
                null_percent,
                time_texts,
                ..
            } => match time_texts.get(column).and_then(Option::as_ref) {
                Some(pattern) => generated_time_text(pattern, *seed, row, column),
                None => generated_value(odps_type, *seed, row, column, *null_percent),
            },
        }
    }
}

/// The next `Table::cache_id`.
pub fn next_cache_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Table {
    pub fn is_partitioned(&self) -> bool {
        !self.partition_keys.is_empty()
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The index of the partition named by a full spec; keys compare case-insensitively,
    /// as MaxCompute identifiers do.
    pub fn partition_index(&self, spec: &[(String, String)]) -> Option<usize> {
        self.partitions.iter().position(|p| {
            p.spec.len() == spec.len()
                && p.spec
                    .iter()
                    .zip(spec)
                    .all(|((k1, v1), (k2, v2))| k1.eq_ignore_ascii_case(k2) && v1 == v2)
        })
    }

    fn total_rows(&self) -> u64 {
        if self.is_partitioned() {
            self.partitions.iter().map(|p| p.rows.count()).sum()
        } else {
            self.rows.count()
        }
    }

    /// The session / table schema JSON: `columns` and `partitionKeys` (odps-tunnel.md §3.1, §11).
    pub fn schema_json(&self) -> serde_json::Value {
        let column_json = |columns: &[Column], with_id: bool| {
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let mut entry = json!({
                        "name": c.name,
                        "type": c.odps_type.to_string(),
                        "comment": c.comment,
                        "nullable": true,
                        "isNullable": true,
                    });
                    if with_id {
                        entry["column_id"] = json!(i.to_string());
                    }
                    entry
                })
                .collect::<Vec<_>>()
        };
        json!({
            "columns": column_json(&self.columns, true),
            "partitionKeys": column_json(&self.partition_keys, false),
        })
    }

    /// `GET /projects/{p}/tables/{t}`: the `<Table>` document pyodps and Java load.
    pub fn table_xml(&self, project: &str) -> String {
        let mut schema = self.schema_json();
        let extra = json!({
            "tableName": self.name,
            "owner": OWNER,
            "comment": "",
            "createTime": CREATED_EPOCH_SECONDS,
            "lastDDLTime": CREATED_EPOCH_SECONDS,
            "lastModifiedTime": CREATED_EPOCH_SECONDS,
            "isVirtualView": false,
            "lifecycle": -1,
            "size": 0,
            "recordNum": self.total_rows(),
            "projectName": project,
        });
        if let (Some(target), Some(source)) = (schema.as_object_mut(), extra.as_object()) {
            target.extend(source.clone());
        }
        let created = httpdate::fmt_http_date(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(CREATED_EPOCH_SECONDS),
        );
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Table>\n  <Name>{name}</Name>\n  \
             <TableId>{id}</TableId>\n  <Owner>{owner}</Owner>\n  <Type>MANAGED_TABLE</Type>\n  \
             <CreationTime>{created}</CreationTime>\n  <LastModifiedTime>{created}</LastModifiedTime>\n  \
             <Schema>{schema}</Schema>\n</Table>\n",
            name = xml_escape(&self.name),
            id = format_args!("{:032x}", fnv1a(format!("{project}.{}", self.name).as_bytes())),
            owner = xml_escape(OWNER),
            schema = cdata(&schema.to_string()),
        )
    }

    /// `GET /projects/{p}/tables/{t}?partitions`: every partition matching the optional
    /// prefix spec, on one page (empty `<Marker>`; odps-tunnel.md §11).
    pub fn partitions_xml(&self, prefix: &[(String, String)]) -> String {
        let mut xml = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Partitions>\n  <Marker></Marker>\n  <MaxItems>10000</MaxItems>\n",
        );
        for partition in &self.partitions {
            let matches = prefix.iter().all(|(key, value)| {
                partition
                    .spec
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case(key) && v == value)
            });
            if !matches {
                continue;
            }
            xml.push_str(&partition_element(partition));
        }
        xml.push_str("</Partitions>\n");
        xml
    }
}

/// `GET /projects/{p}/tables/{t}?partition=spec`: one partition, as `Partition.reload`
/// in pyodps loads it.
pub fn partition_xml(partition: &Partition) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        partition_element(partition)
    )
}

/// A `<Partition>` element: its key values, then its metadata both as elements (times in
/// epoch seconds) and as the CDATA JSON the listing carries (odps-tunnel.md §11).
fn partition_element(partition: &Partition) -> String {
    let mut xml = String::from("  <Partition>\n");
    for (key, value) in &partition.spec {
        xml.push_str(&format!(
            "    <Column Name=\"{}\" Value=\"{}\"/>\n",
            xml_escape(key),
            xml_escape(value)
        ));
    }
    let records = partition.rows.count();
    let meta = json!({
        "createTime": CREATED_EPOCH_SECONDS,
        "lastDDLTime": CREATED_EPOCH_SECONDS,
        "lastModifiedTime": CREATED_EPOCH_SECONDS,
        "partitionSize": 0,
        "partitionRecordNum": records,
    });
    xml.push_str(&format!(
        "    <CreationTime>{CREATED_EPOCH_SECONDS}</CreationTime>\n    \
         <LastDDLTime>{CREATED_EPOCH_SECONDS}</LastDDLTime>\n    \
         <LastModifiedTime>{CREATED_EPOCH_SECONDS}</LastModifiedTime>\n    \
         <PartitionSize>0</PartitionSize>\n    <PartitionRecordCount>{records}</PartitionRecordCount>\n    \
         <Schema>{}</Schema>\n  </Partition>\n",
        cdata(&meta.to_string())
    ));
    xml
}

pub(crate) fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Wraps text in CDATA, splitting any `]]>` it contains so the section stays well formed.
pub(crate) fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

/// Stable ids derived from names (FNV-1a, 64 bit), so a table keeps its id across restarts.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
