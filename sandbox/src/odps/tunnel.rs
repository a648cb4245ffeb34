//! The table tunnel: download sessions and record-stream data (odps-tunnel.md §3, §4).

use std::collections::HashMap;
use std::io::{self, Write};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Method, Response, StatusCode};
use serde_json::json;
use tokio::sync::mpsc;

use super::cache::{write_row, BlockKey, EncodedBlock, RecordCache, BLOCK_ROWS};
use super::codec::{RecordWriter, WireOptions};
use super::config::parse_partition_spec;
use super::meta::{RowSource, Table, OWNER};
use super::types::OdpsType;
use super::{authenticate, find_table, parse_resource, OdpsError, Resource};
use crate::faults::{FaultAction, RequestKind};
use crate::http::{new_request_id, response, ChannelBody, Reply, SandboxRequest};
use crate::server::{take_fault, State};

/// Sessions live about 24 h on the service (odps-tunnel.md §3.2).
const SESSION_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Bytes per body chunk handed to hyper.
const CHUNK_SIZE: usize = 64 * 1024;

pub(crate) struct DownloadSession {
    id: String,
    table: Arc<Table>,
    /// Index into `table.partitions` for a partitioned table.
    partition: Option<usize>,
    created: SystemTime,
}

impl DownloadSession {
    fn record_count(&self) -> u64 {
        match self.partition {
            Some(index) => self.table.partitions[index].rows.count(),
            None => self.table.rows.count(),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        let created = self
            .created
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        json!({
            "DownloadID": self.id,
            "Status": "normal",
            "RecordCount": self.record_count(),
            "Schema": self.table.schema_json(),
            "QuotaName": "",
            "Initiated": created,
            "Owner": OWNER,
        })
    }
}

#[derive(Default)]
pub(crate) struct DownloadSessions {
    sessions: Mutex<HashMap<String, Arc<DownloadSession>>>,
    counter: AtomicU64,
}

impl DownloadSessions {
    fn create(&self, table: Arc<Table>, partition: Option<usize>) -> Arc<DownloadSession> {
        let now = SystemTime::now();
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        // Real ids start with the creation time, then random-looking hex.
        let stamp = chrono::DateTime::<chrono::Utc>::from(now).format("%Y%m%d%H%M%S");
        let id = format!(
            "{stamp}{:016x}",
            super::meta::fnv1a(format!("{n}-{}", std::process::id()).as_bytes())
        );
        let session = Arc::new(DownloadSession {
            id: id.clone(),
            table,
            partition,
            created: now,
        });
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, session.clone());
        session
    }

    fn get(&self, id: &str) -> Option<Arc<DownloadSession>> {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }
}

pub(crate) async fn handle(state: &State, request: &SandboxRequest) -> Reply {
    let request_id = new_request_id();
    // Block uploads carry data as downloads do: `tunnel_data` rules hit both.
    let kind = if request.has_param("data") {
        RequestKind::TunnelData
    } else if request.method == Method::PUT && request.has_param("blockid") {
        RequestKind::TunnelUpload
    } else if request.method == Method::POST && request.has_param("uploadid") {
        RequestKind::TunnelCommit
    } else {
        RequestKind::TunnelSession
    };
    let Some(admitted) = take_fault(state, kind, &request.path, "tunnel", OdpsError::new).await
    else {
        return Reply::Drop;
    };
    let outcome = admitted.and_then(|body_fault| {
        let drop_reply = body_fault == Some(FaultAction::DropReply);
        authenticate(state, request, &request.path)
            .and_then(|()| serve(state, request, &request_id, body_fault))
            .map(|reply| (reply, drop_reply))
    });
    match outcome {
        // Done (the block stored, the session committed), but the reply never leaves.
        Ok((_, true)) => {
            state.stats.request("tunnel", "fault:drop_reply");
            Reply::Drop
        }
        Ok((reply, false)) => reply,
        Err(error) => {
            state.stats.request("tunnel", &error.code);
            error.tunnel_reply(&request_id)
        }
    }
}

fn serve(
    state: &State,
    request: &SandboxRequest,
    request_id: &str,
    body_fault: Option<FaultAction>,
) -> Result<Reply, OdpsError> {
    let Some(Resource::Table { project, table }) = parse_resource(&request.path) else {
        return Err(OdpsError::new(
            StatusCode::NOT_FOUND,
            "NoSuchObject",
            format!("Unknown tunnel resource {}", request.path),
        ));
    };
    let table = find_table(&state.catalog, &project, &table)?;
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
    let reply = if request.method == Method::POST && request.has_param("downloads") {
        let partition = resolve_partition(&table, request.param("partition"))?;
        json_reply(state.sessions.create(table, partition).to_json())
    } else if request.method == Method::GET && request.has_param("downloadid") {
        let session = find_session(state, request, &table)?;
        if request.has_param("data") {
            let fault_name = match &body_fault {
                Some(FaultAction::TruncateBody { .. }) => Some("fault:truncate_body"),
                Some(FaultAction::AbortBody { .. }) => Some("fault:abort_body"),
                Some(FaultAction::StallBody { .. }) => Some("fault:stall_body"),
                Some(FaultAction::FlipByte { .. }) => Some("fault:flip_byte"),
                _ => None,
            };
            let reply = serve_data(state, request, request_id, &session, body_fault)?;
            state.stats.request("tunnel", fault_name.unwrap_or("ok"));
            return Ok(reply);
        }
        json_reply(session.to_json())
    } else if let Some(reply) = super::upload::serve(state, request, request_id, &project, &table)?
    {
        reply
    } else {
        return Err(OdpsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "The sandbox tunnel serves POST ?downloads, GET ?downloadid[&data], \
             POST ?uploads, GET|POST ?uploadid and PUT ?uploadid&blockid",
        ));
    };
    state.stats.request("tunnel", "ok");
    Ok(reply)
}

/// A partitioned table needs a full spec naming an existing partition (odps-tunnel.md §3.1).
pub(super) fn resolve_partition(
    table: &Table,
    spec: Option<String>,
) -> Result<Option<usize>, OdpsError> {
    let spec = spec.map(|s| parse_partition_spec(&s)).unwrap_or_default();
    if !table.is_partitioned() {
        if spec.is_empty() {
            return Ok(None);
        }
        return Err(OdpsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidPartitionSpec",
            format!("Table {} is not partitioned", table.name),
        ));
    }
    if spec.is_empty() {
        return Err(OdpsError::new(
            StatusCode::BAD_REQUEST,
            "MissingPartitionSpec",
            "You need to specify a partitionspec along with the specified table.",
        ));
    }
    let spec_text = spec
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    if spec.len() != table.partition_keys.len()
        || !spec
            .iter()
            .zip(&table.partition_keys)
            .all(|((k, _), key)| k.eq_ignore_ascii_case(&key.name))
    {
        return Err(OdpsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidPartitionSpec",
            format!(
                "Partition spec '{spec_text}' must name every partition key of {} in order",
                table.name
            ),
        ));
    }
    let index = table.partition_index(&spec).ok_or_else(|| {
        OdpsError::new(
            StatusCode::NOT_FOUND,
            "NoSuchPartition",
            format!(
                "ODPS-0130121:Partition not found - '{spec_text}' of {}",
                table.name
            ),
        )
    })?;
    Ok(Some(index))
}

fn find_session(
    state: &State,
    request: &SandboxRequest,
    table: &Arc<Table>,
) -> Result<Arc<DownloadSession>, OdpsError> {
    let id = request.param("downloadid").unwrap_or_default();
    let session = state
        .sessions
        .get(&id)
        .filter(|s| s.table.name == table.name)
        .ok_or_else(|| {
            OdpsError::new(
                StatusCode::NOT_FOUND,
                "NoSuchDownload",
                format!(
                    "Download session '{id}' does not exist for table {}",
                    table.name
                ),
            )
        })?;
    if SystemTime::now()
        .duration_since(session.created)
        .unwrap_or_default()
        > SESSION_LIFETIME
    {
        return Err(OdpsError::new(
            StatusCode::CONFLICT,
            "StatusConflict",
            "download session is expired",
        ));
    }
    Ok(session)
}

/// `?data&rowrange=(start,count)[&columns=…]` (odps-tunnel.md §4).
fn serve_data(
    state: &State,
    request: &SandboxRequest,
    request_id: &str,
    session: &Arc<DownloadSession>,
    body_fault: Option<FaultAction>,
) -> Result<Reply, OdpsError> {
    let rows = requested_rows(request, session.record_count())?;
    let columns = requested_columns(request, &session.table)?;
    let encoding = ContentEncoding::from_accept(request.header("accept-encoding"));
    let form = BodyForm {
        encoding,
        wire: state.config.odps.wire,
        fault: body_fault,
    };
    let (sender, receiver) = mpsc::channel(4);
    let sink = ChannelWriter {
        sender,
        buffer: Vec::with_capacity(CHUNK_SIZE),
    };
    let (session, stats, cache) = (
        session.clone(),
        state.stats.clone(),
        state.record_cache.clone(),
    );
    tokio::task::spawn_blocking(move || {
        let error_sender = sink.sender.clone();
        let count = rows.end - rows.start;
        match write_rows(sink, form, &session, &cache, &columns, rows) {
            Ok(complete) => stats.records_served(if complete { count } else { 0 }),
            // The client went away, an abort fault, or a value that does not fit its type:
            // fail the body.
            Err(error) => {
                let _ = error_sender.blocking_send(Err(error));
            }
        }
    });
    data_response(request_id, encoding, receiver)
}

/// The rows `rowrange` asks for, which must lie within the session's `record_count`.
fn requested_rows(request: &SandboxRequest, record_count: u64) -> Result<Range<u64>, OdpsError> {
    let range = request.param("rowrange").unwrap_or_default();
    parse_row_range(&range)
        .and_then(|(start, count)| {
            let end = start.checked_add(count)?;
            (end <= record_count).then_some(start..end)
        })
        .ok_or_else(|| {
            OdpsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidRowRange",
                format!("Row range '{range}' is invalid: the session holds {record_count} records"),
            )
        })
}

/// The columns `columns` names (every data column without it), with their types.
fn requested_columns(
    request: &SandboxRequest,
    table: &Table,
) -> Result<Vec<(usize, OdpsType)>, OdpsError> {
    let Some(names) = request.param("columns").filter(|c| !c.is_empty()) else {
        return Ok(table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.odps_type.clone()))
            .collect());
    };
    names
        .split(',')
        .map(|name| {
            let name = name.trim();
            table
                .column_index(name)
                .map(|i| (i, table.columns[i].odps_type.clone()))
                .ok_or_else(|| {
                    OdpsError::new(
                        StatusCode::BAD_REQUEST,
                        "InvalidColumnSpec",
                        format!("Column '{name}' is not a data column of {}", table.name),
                    )
                })
        })
        .collect()
}

/// Writes the record stream of `rows` of the session's table (or partition) into `sink`:
/// generated rows through the record cache when it is on. `Ok(false)` when a truncation
/// fault cut it short.
fn write_rows(
    sink: ChannelWriter,
    form: BodyForm,
    session: &DownloadSession,
    cache: &RecordCache,
    columns: &[(usize, OdpsType)],
    rows: Range<u64>,
) -> io::Result<bool> {
    let source = match session.partition {
        Some(index) => &session.table.partitions[index].rows,
        None => &session.table.rows,
    };
    let cell = |row, column, odps_type: &OdpsType| source.value(row, column, odps_type);
    if cache.is_enabled() && matches!(source, RowSource::Generated { .. }) {
        let key = BlockKey {
            table: session.table.cache_id,
            partition: session.partition,
            columns: columns.iter().map(|(index, _)| *index).collect(),
            block: 0,
        };
        let wire = form.wire;
        let encode = |block_rows| EncodedBlock::encode(block_rows, columns, wire, cell);
        write_body(sink, form, |writer| {
            write_cached(writer, cache, key, source.count(), rows, encode)
        })
    } else {
        write_body(sink, form, |writer| {
            let mut values = Vec::with_capacity(columns.len());
            rows.into_iter()
                .try_for_each(|row| write_row(writer, row, columns, cell, &mut values))
        })
    }
}

/// The 200 answer whose body is what `receiver` gets, compressed as `encoding`.
fn data_response(
    request_id: &str,
    encoding: ContentEncoding,
    receiver: mpsc::Receiver<io::Result<Bytes>>,
) -> Result<Reply, OdpsError> {
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/octet-stream")
        .header("x-odps-request-id", request_id);
    if let Some(name) = encoding.header_value() {
        builder = builder.header("content-encoding", name);
    }
    let body = ChannelBody { receiver }.boxed();
    builder.body(body).map(Reply::Respond).map_err(|e| {
        OdpsError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            e.to_string(),
        )
    })
}

/// `(start,count)`, parentheses included.
fn parse_row_range(text: &str) -> Option<(u64, u64)> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (start, count) = inner.split_once(',')?;
    Some((start.trim().parse().ok()?, count.trim().parse().ok()?))
}

/// The body compression, chosen from `Accept-Encoding` (odps-tunnel.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentEncoding {
    Identity,
    /// zlib container (RFC 1950), as both SDKs expect.
    Deflate,
    Zstd,
    Lz4Frame,
}

impl ContentEncoding {
    /// The first encoding the sandbox supports, in the client's order.
    pub fn from_accept(accept: Option<&str>) -> Self {
        accept
            .unwrap_or_default()
            .split(',')
            .map(|token| {
                token
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .find_map(|token| match token.as_str() {
                "deflate" => Some(ContentEncoding::Deflate),
                "zstd" => Some(ContentEncoding::Zstd),
                "x-lz4-frame" => Some(ContentEncoding::Lz4Frame),
                _ => None,
            })
            .unwrap_or(ContentEncoding::Identity)
    }

    pub fn header_value(self) -> Option<&'static str> {
        match self {
            ContentEncoding::Identity => None,
            ContentEncoding::Deflate => Some("deflate"),
            ContentEncoding::Zstd => Some("zstd"),
            ContentEncoding::Lz4Frame => Some("x-lz4-frame"),
        }
    }
}

/// Hands fixed-size chunks to the response body; blocks while the client is slow.
struct ChannelWriter {
    sender: mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_SIZE),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // Send before the buffer would grow: a reallocation per chunk costs more than the rest
        // of the copying.
        if self.buffer.len() + data.len() > CHUNK_SIZE {
            self.send_buffer()?;
        }
        // A chunk at most (cached records come in blocks): `write_all` hands over the rest.
        let taken = data.len().min(CHUNK_SIZE);
        self.buffer.extend_from_slice(&data[..taken]);
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()
    }
}

enum Compressor<W: Write> {
    Identity(W),
    Deflate(flate2::write::ZlibEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
    Lz4Frame(lz4_flex::frame::FrameEncoder<W>),
}

impl<W: Write> Compressor<W> {
    fn new(encoding: ContentEncoding, out: W) -> io::Result<Self> {
        Ok(match encoding {
            ContentEncoding::Identity => Compressor::Identity(out),
            ContentEncoding::Deflate => Compressor::Deflate(flate2::write::ZlibEncoder::new(
                out,
                flate2::Compression::fast(),
            )),
            ContentEncoding::Zstd => Compressor::Zstd(zstd::stream::write::Encoder::new(out, 1)?),
            ContentEncoding::Lz4Frame => {
                Compressor::Lz4Frame(lz4_flex::frame::FrameEncoder::new(out))
            }
        })
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Compressor::Identity(out) => Ok(out),
            Compressor::Deflate(encoder) => encoder.finish(),
            Compressor::Zstd(encoder) => encoder.finish(),
            Compressor::Lz4Frame(encoder) => encoder.finish().map_err(io::Error::other),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::Identity(out) => out.write(data),
            Compressor::Deflate(encoder) => encoder.write(data),
            Compressor::Zstd(encoder) => encoder.write(data),
            Compressor::Lz4Frame(encoder) => encoder.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::Identity(out) => out.flush(),
            Compressor::Deflate(encoder) => encoder.flush(),
            Compressor::Zstd(encoder) => encoder.flush(),
            Compressor::Lz4Frame(encoder) => encoder.flush(),
        }
    }
}

/// Applies a body fault to the uncompressed record stream, so the damage is at a known
/// record-stream offset whatever the compression.
struct FaultyStream<W: Write> {
    out: W,
    written: u64,
    truncate_after: Option<u64>,
    flip_at: Option<u64>,
}

/// Marks the deliberate end of a truncated stream.
#[derive(Debug)]
struct Truncated;

impl std::fmt::Display for Truncated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("record stream truncated by the sandbox fault plan")
    }
}

impl std::error::Error for Truncated {}

impl<W: Write> Write for FaultyStream<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut data = std::borrow::Cow::Borrowed(data);
        if let Some(limit) = self.truncate_after {
            let room = limit.saturating_sub(self.written);
            if (data.len() as u64) > room {
                self.out.write_all(&data[..room as usize])?;
                self.written = limit;
                return Err(io::Error::other(Truncated));
            }
        }
        if let Some(offset) = self.flip_at {
            if offset >= self.written && offset < self.written + data.len() as u64 {
                data.to_mut()[(offset - self.written) as usize] ^= 0xff;
            }
        }
        self.out.write_all(&data)?;
        self.written += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// How a data body is written: compression, wire variants and any body fault.
struct BodyForm {
    encoding: ContentEncoding,
    wire: WireOptions,
    fault: Option<FaultAction>,
}

/// The record stream a data request sends, on its way to the client.
type BodyWriter = RecordWriter<FaultyStream<Compressor<ChannelWriter>>>;

/// How a body cut short by a fault ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CutEnd {
    /// A clean end: only the record stream is short.
    Clean,
    /// The connection breaks.
    Abort,
    /// Nothing more comes until the client goes away.
    Stall,
}

/// Writes a record stream into `sink`: the records `write_records` writes, then the footer,
/// compressed and damaged as `form` says. `Ok(false)` when a truncation fault cut it short.
fn write_body(
    sink: ChannelWriter,
    form: BodyForm,
    write_records: impl FnOnce(&mut BodyWriter) -> io::Result<()>,
) -> io::Result<bool> {
    let (truncate_after, cut_end, flip_at) = match form.fault {
        Some(FaultAction::TruncateBody { after_bytes }) => (Some(after_bytes), CutEnd::Clean, None),
        Some(FaultAction::AbortBody { after_bytes }) => (Some(after_bytes), CutEnd::Abort, None),
        Some(FaultAction::StallBody { after_bytes }) => (Some(after_bytes), CutEnd::Stall, None),
        Some(FaultAction::FlipByte { offset }) => (None, CutEnd::Clean, Some(offset)),
        _ => (None, CutEnd::Clean, None),
    };
    let client = sink.sender.clone();
    let mut writer = RecordWriter::with_options(
        FaultyStream {
            out: Compressor::new(form.encoding, sink)?,
            written: 0,
            truncate_after,
            flip_at,
        },
        form.wire,
    );
    match write_records(&mut writer).and_then(|()| writer.finish()) {
        Ok(()) => {}
        Err(error) if error.get_ref().is_some_and(|inner| inner.is::<Truncated>()) => {
            if cut_end != CutEnd::Clean {
                return Err(fail_cut_body(writer, cut_end, &client));
            }
        }
        Err(error) => return Err(error),
    }
    let mut sink = writer.into_inner().out.finish()?;
    sink.flush()?;
    Ok(truncate_after.is_none())
}

/// Delivers what was cut so far, then fails the body as `cut_end` says: at once (hyper drops
/// the connection) or once the client hangs up (hyper then drops the body, and so the channel).
fn fail_cut_body(
    writer: BodyWriter,
    cut_end: CutEnd,
    client: &mpsc::Sender<io::Result<Bytes>>,
) -> io::Error {
    if let Err(error) = writer.into_inner().out.flush() {
        return error;
    }
    if cut_end == CutEnd::Stall {
        tokio::runtime::Handle::current().block_on(client.closed());
        return io::Error::new(io::ErrorKind::BrokenPipe, "client went away");
    }
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection aborted by the sandbox fault plan",
    )
}

/// Writes `rows` of a generated table from the record cache, encoding the blocks it lacks
/// with `encode`. Blocks end at `source_rows`, whatever the request, so that every request
/// shares them.
fn write_cached(
    writer: &mut BodyWriter,
    cache: &RecordCache,
    mut key: BlockKey,
    source_rows: u64,
    rows: Range<u64>,
    encode: impl Fn(Range<u64>) -> io::Result<EncodedBlock>,
) -> io::Result<()> {
    let mut row = rows.start;
    while row < rows.end {
        key.block = row / BLOCK_ROWS;
        let first = key.block * BLOCK_ROWS;
        let block_rows = first..(first + BLOCK_ROWS).min(source_rows);
        let until = rows.end.min(block_rows.end);
        let block = cache.block(&key, || encode(block_rows))?;
        let (records, crcs) = block.records((row - first) as usize..(until - first) as usize);
        writer.write_encoded(records, crcs)?;
        row = until;
    }
    Ok(())
}
