//! The table tunnel's upload sessions (odps-tunnel.md §8): create (`POST ?uploads`, with
//! `create_partition` and `overwrite` as pyodps sends them), reload (`GET ?uploadid`), block
//! PUTs (`PUT ?uploadid&blockid`) decoded and checked with the sandbox's own codec, and the
//! commit (`POST ?uploadid`) that publishes every uploaded block at once: readers see nothing
//! before it.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::{Method, StatusCode};
use serde_json::json;

use super::codec::decode_records;
use super::config::parse_partition_spec;
use super::meta::{Partition, RowSource, Table, OWNER};
use super::tunnel::resolve_partition;
use super::types::{OdpsType, Value};
use super::OdpsError;
use crate::http::{response, Reply, SandboxRequest};
use crate::server::State;

/// Block ids a session accepts, as the service limits them.
const MAX_BLOCK_ID: u64 = 19_999;
/// The longest STRING / BINARY value the service takes by default (`MaxFieldSize`).
const MAX_FIELD_SIZE: usize = 8 * 1024 * 1024;
/// Bound on one decompressed block body.
const MAX_BLOCK_BYTES: u64 = 1 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Normal,
    Closed,
}

/// The rows each uploaded block holds, by block id; a block uploaded again replaces its rows.
struct Blocks {
    status: Status,
    rows: BTreeMap<u64, (u64, Vec<Vec<Value>>)>,
}

pub(crate) struct UploadSession {
    id: String,
    project: String,
    table: String,
    /// The full partition spec, keys as the table names them.
    partition: Option<Vec<(String, String)>>,
    /// Commit replaces the table's (partition's) rows instead of appending.
    overwrite: bool,
    columns: Vec<OdpsType>,
    schema: serde_json::Value,
    created: SystemTime,
    blocks: Mutex<Blocks>,
}

impl UploadSession {
    fn blocks(&self) -> std::sync::MutexGuard<'_, Blocks> {
        self.blocks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn to_json(&self) -> serde_json::Value {
        let blocks = self.blocks();
        let list: Vec<serde_json::Value> = blocks
            .rows
            .iter()
            .map(|(id, (time, _))| json!({"BlockID": id, "CreateTime": time}))
            .collect();
        json!({
            "UploadID": self.id,
            "Status": if blocks.status == Status::Normal { "normal" } else { "closed" },
            "UploadedBlockList": list,
            "Schema": self.schema,
            "MaxFieldSize": MAX_FIELD_SIZE,
            "QuotaName": "",
            "Initiated": epoch_seconds(self.created),
            "Owner": OWNER,
        })
    }
}

#[derive(Default)]
pub(crate) struct UploadSessions {
    sessions: Mutex<HashMap<String, Arc<UploadSession>>>,
    counter: AtomicU64,
}

impl UploadSessions {
    fn insert(&self, make: impl FnOnce(String) -> UploadSession) -> Arc<UploadSession> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S");
        let id = format!(
            "{stamp}{:016x}",
            super::meta::fnv1a(format!("upload-{n}-{}", std::process::id()).as_bytes())
        );
        let session = Arc::new(make(id.clone()));
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, session.clone());
        session
    }

    fn get(&self, id: &str) -> Option<Arc<UploadSession>> {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }
}

/// Serves the upload calls; `None` when the request is none of them.
pub(crate) fn serve(
    state: &State,
    request: &SandboxRequest,
    request_id: &str,
    project: &str,
    table: &Arc<Table>,
) -> Result<Option<Reply>, OdpsError> {
    let json_reply = |value: serde_json::Value| {
        Reply::Respond(response(
            StatusCode::OK,
            &[
                ("content-type", "application/json".into()),
                ("x-odps-request-id", request_id.into()),
            ],
            value.to_string(),
        ))
    };
    if request.method == Method::POST && request.has_param("uploads") {
        let session = create(state, request, project, table)?;
        return Ok(Some(json_reply(session.to_json())));
    }
    let Some(id) = request.param("uploadid") else {
        return Ok(None);
    };
    let session = state
        .catalog
        .uploads
        .get(&id)
        .filter(|s| s.table.eq_ignore_ascii_case(&table.name))
        .ok_or_else(|| {
            OdpsError::new(
                StatusCode::NOT_FOUND,
                "NoSuchUpload",
                format!(
                    "Upload session '{id}' does not exist for table {}",
                    table.name
                ),
            )
        })?;
    Ok(Some(match request.method {
        Method::GET => json_reply(session.to_json()),
        Method::PUT if request.has_param("blockid") => {
            upload_block(request, &session)?;
            Reply::Respond(response(
                StatusCode::OK,
                &[("x-odps-request-id", request_id.into())],
                "",
            ))
        }
        Method::POST => {
            commit(state, &session)?;
            json_reply(session.to_json())
        }
        _ => return Ok(None),
    }))
}

/// `POST ?uploads[&partition=…][&create_partition=true][&overwrite=true]`.
fn create(
    state: &State,
    request: &SandboxRequest,
    project: &str,
    table: &Arc<Table>,
) -> Result<Arc<UploadSession>, OdpsError> {
    let spec = request.param("partition");
    let partition = match resolve_partition(table, spec.clone()) {
        Ok(index) => index.map(|i| table.partitions[i].spec.clone()),
        Err(error)
            if error.code == "NoSuchPartition"
                && request.param("create_partition").as_deref() == Some("true") =>
        {
            Some(create_partition(
                state,
                project,
                table,
                &spec.unwrap_or_default(),
            )?)
        }
        Err(error) => return Err(error),
    };
    let columns = table.columns.iter().map(|c| c.odps_type.clone()).collect();
    let session = state.catalog.uploads.insert(|id| UploadSession {
        id,
        project: project.to_string(),
        table: table.name.clone(),
        partition,
        overwrite: request.param("overwrite").as_deref() == Some("true"),
        columns,
        schema: table.schema_json(),
        created: SystemTime::now(),
        blocks: Mutex::new(Blocks {
            status: Status::Normal,
            rows: BTreeMap::new(),
        }),
    });
    Ok(session)
}

/// Adds an empty partition named by `spec` (already checked against the partition keys).
fn create_partition(
    state: &State,
    project: &str,
    table: &Table,
    spec: &str,
) -> Result<Vec<(String, String)>, OdpsError> {
    let spec: Vec<(String, String)> = parse_partition_spec(spec)
        .into_iter()
        .zip(&table.partition_keys)
        .map(|((_, value), key)| (key.name.clone(), value))
        .collect();
    state.catalog.update_table(project, &table.name, |table| {
        // Another session may have created it meanwhile.
        if table.partition_index(&spec).is_none() {
            table.partitions.push(Partition {
                spec: spec.clone(),
                rows: RowSource::Literal(Vec::new()),
            });
        }
        Ok(spec.clone())
    })
}

/// `PUT ?uploadid&blockid=N`: the body is a record stream of every data column, compressed as
/// its `Content-Encoding` says.
fn upload_block(request: &SandboxRequest, session: &UploadSession) -> Result<(), OdpsError> {
    let bad_request =
        |code: &str, message: String| OdpsError::new(StatusCode::BAD_REQUEST, code, message);
    let block_id = request
        .param("blockid")
        .and_then(|id| id.parse::<u64>().ok())
        .filter(|id| *id <= MAX_BLOCK_ID)
        .ok_or_else(|| {
            bad_request(
                "InvalidBlockID",
                format!("blockid must be an integer in 0..={MAX_BLOCK_ID}"),
            )
        })?;
    if session.blocks().status != Status::Normal {
        return Err(closed(session));
    }
    let body = decompress(request.header("content-encoding"), &request.body)?;
    let rows = decode_records(&body, &session.columns)
        .map_err(|e| bad_request("MalformedDataStream", format!("block {block_id}: {e}")))?;
    for (index, row) in rows.iter().enumerate() {
        check_row(&session.columns, row).map_err(|e| {
            bad_request(
                "InvalidColumnValue",
                format!("block {block_id} record {index}: {e}"),
            )
        })?;
    }
    let mut blocks = session.blocks();
    if blocks.status != Status::Normal {
        return Err(closed(session));
    }
    blocks
        .rows
        .insert(block_id, (epoch_seconds(SystemTime::now()), rows));
    Ok(())
}

/// `POST ?uploadid`: publishes every uploaded block, in block-id order. A second commit of a
/// closed session answers its state again, so a client whose commit reply was lost can retry.
fn commit(state: &State, session: &UploadSession) -> Result<(), OdpsError> {
    let mut blocks = session.blocks();
    if blocks.status == Status::Closed {
        return Ok(());
    }
    let rows: Vec<Vec<Value>> = blocks
        .rows
        .values()
        .flat_map(|(_, rows)| rows.iter().cloned())
        .collect();
    state
        .catalog
        .update_table(&session.project, &session.table, |table| {
            let target = match &session.partition {
                None => &mut table.rows,
                Some(spec) => {
                    let index = table.partition_index(spec).ok_or_else(|| {
                        OdpsError::new(
                            StatusCode::NOT_FOUND,
                            "NoSuchPartition",
                            format!("ODPS-0130121:Partition not found - of {}", table.name),
                        )
                    })?;
                    &mut table.partitions[index].rows
                }
            };
            append_rows(target, rows, session.overwrite)
        })?;
    blocks.status = Status::Closed;
    Ok(())
}

fn append_rows(
    target: &mut RowSource,
    rows: Vec<Vec<Value>>,
    overwrite: bool,
) -> Result<(), OdpsError> {
    match target {
        RowSource::Literal(existing) => {
            if overwrite {
                existing.clear();
            }
            existing.extend(rows);
        }
        RowSource::Generated { .. } if overwrite => *target = RowSource::Literal(rows),
        RowSource::Generated { .. } => {
            return Err(OdpsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "the sandbox appends only to tables with literal rows (this one is generated); \
                 overwrite it instead",
            ))
        }
    }
    Ok(())
}

fn closed(session: &UploadSession) -> OdpsError {
    OdpsError::new(
        StatusCode::CONFLICT,
        "StatusConflict",
        format!("upload session {} is already committed", session.id),
    )
}

/// The record stream of a block body; `deflate` is the zlib container, as on download.
fn decompress(encoding: Option<&str>, body: &[u8]) -> Result<Vec<u8>, OdpsError> {
    let reader: Box<dyn Read + '_> = match encoding.map(str::trim) {
        None | Some("") | Some("identity") => return Ok(body.to_vec()),
        Some("deflate") => Box::new(flate2::read::ZlibDecoder::new(body)),
        Some("zstd") => Box::new(zstd::stream::read::Decoder::new(body).map_err(malformed)?),
        Some("x-lz4-frame") => Box::new(lz4_flex::frame::FrameDecoder::new(body)),
        Some(other) => {
            return Err(OdpsError::new(
                StatusCode::BAD_REQUEST,
                "UnsupportedEncoding",
                format!("Content-Encoding '{other}' is not supported"),
            ))
        }
    };
    let mut out = Vec::with_capacity(body.len() * 4);
    reader
        .take(MAX_BLOCK_BYTES)
        .read_to_end(&mut out)
        .map_err(malformed)?;
    Ok(out)
}

fn malformed(error: std::io::Error) -> OdpsError {
    OdpsError::new(
        StatusCode::BAD_REQUEST,
        "MalformedDataStream",
        format!("block body does not decompress: {error}"),
    )
}

/// The checks the service makes per value: string size, varchar / char length, decimal
/// precision and scale.
fn check_row(columns: &[OdpsType], row: &[Value]) -> Result<(), String> {
    for (index, (odps_type, value)) in columns.iter().zip(row).enumerate() {
        let Value::Bytes(bytes) = value else { continue };
        let column = index + 1;
        if bytes.len() > MAX_FIELD_SIZE {
            return Err(format!(
                "column {column}: value exceeds {MAX_FIELD_SIZE} bytes"
            ));
        }
        match odps_type {
            OdpsType::Varchar(n) | OdpsType::Char(n) => {
                let length = String::from_utf8_lossy(bytes).chars().count();
                if length > *n as usize {
                    return Err(format!(
                        "column {column}: {length} characters exceed {odps_type}"
                    ));
                }
            }
            OdpsType::Decimal { precision, scale } => {
                check_decimal(bytes, *precision, *scale)
                    .map_err(|e| format!("column {column}: {e}"))?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// A decimal's text must fit `decimal(precision, scale)`: at most `precision - scale` integer
/// digits (fraction digits beyond the scale are rounded by the service).
fn check_decimal(bytes: &[u8], precision: u32, scale: u32) -> Result<(), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "decimal is not UTF-8".to_string())?;
    let digits = text.trim_start_matches(['-', '+']);
    let (integer, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let valid = !integer.is_empty()
        && integer.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return Err(format!("'{text}' is not a decimal"));
    }
    let integer_digits = integer.trim_start_matches('0').len() as u32;
    if integer_digits > precision.saturating_sub(scale) {
        return Err(format!("'{text}' overflows decimal({precision},{scale})"));
    }
    Ok(())
}

fn epoch_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}
