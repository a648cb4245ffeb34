//! Log Service request checks, in the order the service applies them: project (from
//! `Host`), framing, signature and time, logstore, body (sls-putlogs.md §0); then PutLogs and
//! ListShards are served here, GetCursor and PullLogs by [`super::pull`].

use std::io::Read;
use std::time::SystemTime;

use hyper::{Method, StatusCode};
use md5::{Digest, Md5};
use prost::Message;

use super::auth;
use super::proto::LogGroup;
use super::pull;
use super::store::{self, Route};
use super::{Answer, SlsError};
use crate::http::SandboxRequest;
use crate::server::State;

enum Operation {
    PutLogs { route_key: Option<String> },
    ListShards,
    GetCursor { shard: String },
    PullLogs { shard: String },
}

/// Serves the request.
pub(crate) fn serve(state: &State, request: &SandboxRequest) -> Result<Answer, SlsError> {
    let (logstore, operation) = route(request)?;
    let project = project_from_host(request.header("host"))?;
    if !state.log_store.has_project(&project) {
        return Err(SlsError::new(
            StatusCode::NOT_FOUND,
            "ProjectNotExist",
            format!("The Project does not exist : {project}"),
        ));
    }
    if !request.has_content_length {
        return Err(SlsError::new(
            StatusCode::LENGTH_REQUIRED,
            "MissingContentLength",
            "Content-Length is required",
        ));
    }
    authenticate(state, request)?;
    if !state.log_store.has_logstore(&project, &logstore) {
        return Err(store::logstore_not_exist(&logstore));
    }
    match operation {
        Operation::ListShards => Ok(Answer::json(list_shards(state, &project, &logstore))),
        Operation::GetCursor { shard } => {
            pull::get_cursor(state, request, &project, &logstore, &shard)
        }
        Operation::PullLogs { shard } => {
            pull::pull_logs(state, request, &project, &logstore, &shard)
        }
        Operation::PutLogs { route_key } => {
            let route = match route_key {
                Some(key) => Route::HashKey(hash_key(&key)?),
                None => Route::Balanced,
            };
            let group = decode_body(state, request)?;
            let stored = state.log_store.append(
                &project,
                &logstore,
                route,
                &group,
                unix_seconds(SystemTime::now()),
            )?;
            let compression = request
                .header("x-log-compresstype")
                .filter(|name| !name.is_empty())
                .map_or_else(|| "none".to_string(), str::to_ascii_lowercase);
            state.stats.logs_stored(stored, &compression);
            Ok(Answer::empty())
        }
    }
}

/// A hash key is 128 bits as up to 32 hex characters, the leading ones (sls-putlogs.md §2.1).
fn hash_key(key: &str) -> Result<u128, SlsError> {
    if key.len() > 32 || !key.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(SlsError::bad_request(
            "ParameterInvalid",
            format!("invalid hash key '{key}'"),
        ));
    }
    let padded = format!("{key:0<32}");
    u128::from_str_radix(&padded, 16)
        .map_err(|_| SlsError::bad_request("ParameterInvalid", format!("invalid hash key '{key}'")))
}

pub(crate) fn unix_seconds(time: SystemTime) -> u32 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs().min(u64::from(u32::MAX)) as u32)
}

fn route(request: &SandboxRequest) -> Result<(String, Operation), SlsError> {
    let segments: Vec<&str> = request
        .path
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .collect();
    let post = request.method == Method::POST;
    let operation = match (segments.as_slice(), post) {
        // The Go SDK posts to the bare logstore path, which behaves as load balancing.
        (["logstores", _], true) | (["logstores", _, "shards", "lb"], true) => {
            Operation::PutLogs { route_key: None }
        }
        (["logstores", _, "shards", "route"], true) => Operation::PutLogs {
            // Without a key the service falls back to load balancing.
            route_key: request.param("key").filter(|k| !k.is_empty()),
        },
        (["logstores", _, "shards"], false) if request.method == Method::GET => {
            Operation::ListShards
        }
        (["logstores", _, "shards", shard], false) if request.method == Method::GET => {
            let shard = shard.to_string();
            match request.param("type").as_deref() {
                Some("cursor") => Operation::GetCursor { shard },
                Some("log") => Operation::PullLogs { shard },
                other => {
                    return Err(SlsError::bad_request(
                        "ParameterInvalid",
                        format!(
                            "type {} is not served by the sandbox (cursor and log only)",
                            other.unwrap_or("(none)")
                        ),
                    ))
                }
            }
        }
        _ => {
            return Err(SlsError::new(
                StatusCode::NOT_FOUND,
                "ParameterInvalid",
                format!(
                    "{} {} is not served by the sandbox \
                     (PutLogs, ListShards, GetCursor and PullLogs only)",
                    request.method, request.path
                ),
            ))
        }
    };
    Ok((segments[1].to_string(), operation))
}

/// `Host: {project}.{endpoint}`: the project is the first label (sls-putlogs.md §2.2).
fn project_from_host(host: Option<&str>) -> Result<String, SlsError> {
    let host = host.ok_or_else(|| SlsError::bad_request("MissingHost", "Host is required"))?;
    match host.split_once('.') {
        Some((project, rest)) if !project.is_empty() && !rest.is_empty() => Ok(project.to_string()),
        _ => Err(SlsError::bad_request(
            "InvalidHost",
            format!("Host '{host}' does not start with a project name"),
        )),
    }
}

fn authenticate(state: &State, request: &SandboxRequest) -> Result<(), SlsError> {
    let authorization = request.header("authorization").ok_or_else(|| {
        SlsError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "The Authorization header is missing",
        )
    })?;
    if let Some(v4) = authorization.strip_prefix("SLS4-HMAC-SHA256 ") {
        return authenticate_v4(state, request, v4);
    }
    let (access_id, signature) = authorization
        .strip_prefix("LOG ")
        .and_then(|rest| rest.rsplit_once(':'))
        .ok_or_else(|| {
            SlsError::bad_request(
                "ParameterInvalid",
                "Authorization must be 'LOG {AccessKeyId}:{Signature}' or SLS4-HMAC-SHA256",
            )
        })?;
    let secret = credential_secret(state, request, access_id)?;

    // `x-log-date`, when present, replaces `Date` for the time check (sls-putlogs.md §2.3).
    let date = request
        .header("date")
        .ok_or_else(|| SlsError::bad_request("MissingDate", "the Date header is required"))?;
    let checked_date = request.header("x-log-date").unwrap_or(date);
    let sent = httpdate::parse_http_date(checked_date).map_err(|_| {
        SlsError::bad_request(
            "InvalidDateFormat",
            format!("'{checked_date}' is not an RFC 1123 date"),
        )
    })?;
    check_skew(state, sent, checked_date)?;

    let header = |name: &str| request.header(name).unwrap_or_default();
    let string_to_sign = auth::string_to_sign(
        request.method.as_str(),
        header("content-md5"),
        header("content-type"),
        date,
        text_headers(request),
        &request.path,
        &request.params(),
    );
    if auth::signature(secret, &string_to_sign) != signature {
        return Err(signature_mismatch(signature));
    }
    Ok(())
}

/// `SLS4-HMAC-SHA256 Credential={id}/{yyyymmdd}/{region}/sls/aliyun_v4_request,Signature={hex}`
/// (sls-putlogs.md §4); the time is `x-log-date`, the payload hash `x-log-content-sha256`.
fn authenticate_v4(state: &State, request: &SandboxRequest, fields: &str) -> Result<(), SlsError> {
    let malformed = || {
        SlsError::bad_request(
            "ParameterInvalid",
            "malformed SLS4-HMAC-SHA256 Authorization",
        )
    };
    let mut credential_scope = None;
    let mut signature = None;
    for field in fields.split(',') {
        match field.trim().split_once('=') {
            Some(("Credential", value)) => credential_scope = Some(value),
            Some(("Signature", value)) => signature = Some(value),
            _ => {}
        }
    }
    let (credential_scope, signature) = credential_scope.zip(signature).ok_or_else(malformed)?;
    let scope: Vec<&str> = credential_scope.split('/').collect();
    let [access_id, day, region, "sls", "aliyun_v4_request"] = scope.as_slice() else {
        return Err(malformed());
    };
    let secret = credential_secret(state, request, access_id)?;

    let log_date = request
        .header("x-log-date")
        .ok_or_else(|| SlsError::bad_request("MissingDate", "x-log-date is required with v4"))?;
    let sent = chrono::NaiveDateTime::parse_from_str(log_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| {
            SlsError::bad_request(
                "InvalidDateFormat",
                format!("'{log_date}' is not YYYYMMDDTHHMMSSZ"),
            )
        })?
        .and_utc();
    check_skew(state, sent.into(), log_date)?;

    let payload_hash = request.header("x-log-content-sha256").unwrap_or_default();
    // The SDKs may send the empty-body hash when content hashing is off.
    if payload_hash != auth::EMPTY_SHA256 && payload_hash != auth::sha256_hex(&request.body) {
        return Err(SlsError::bad_request(
            "ParameterInvalid",
            "x-log-content-sha256 does not match the body",
        ));
    }
    let canonical_request = auth::v4_canonical_request(
        request.method.as_str(),
        &request.path,
        &request.params(),
        text_headers(request),
        payload_hash,
    );
    let expected = auth::signature_v4(secret, day, region, log_date, &canonical_request);
    if expected != signature {
        return Err(signature_mismatch(signature));
    }
    Ok(())
}

fn text_headers(request: &SandboxRequest) -> impl Iterator<Item = (&str, &str)> {
    request
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
}

/// The secret of a known AccessKeyId, after checking an STS key's token.
fn credential_secret<'a>(
    state: &'a State,
    request: &SandboxRequest,
    access_id: &str,
) -> Result<&'a str, SlsError> {
    let credential = state.config.credential(access_id).ok_or_else(|| {
        SlsError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            format!("AccessKeyId not found: {access_id}"),
        )
    })?;
    if let Some(token) = &credential.security_token {
        if request.header("x-acs-security-token") != Some(token.as_str()) {
            return Err(SlsError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "The security token you provided is invalid or missing",
            ));
        }
    }
    Ok(&credential.access_key)
}

fn check_skew(state: &State, sent: SystemTime, shown: &str) -> Result<(), SlsError> {
    let now = SystemTime::now();
    let skew = now
        .duration_since(sent)
        .or_else(|_| sent.duration_since(now))
        .unwrap_or_default();
    if skew.as_secs() > state.config.max_clock_skew_secs {
        return Err(SlsError::bad_request(
            "RequestTimeExpired",
            format!("Request time {shown} has been expired"),
        ));
    }
    Ok(())
}

fn signature_mismatch(signature: &str) -> SlsError {
    SlsError::new(
        StatusCode::UNAUTHORIZED,
        "SignatureNotMatch",
        format!("Signature {signature} not matched."),
    )
}

/// Checks the body's headers, decompresses and decodes it, and validates the LogGroup.
fn decode_body(state: &State, request: &SandboxRequest) -> Result<LogGroup, SlsError> {
    let limits = &state.config.sls;
    match request.header("x-log-apiversion") {
        None => {
            return Err(SlsError::bad_request(
                "MissingAPIVersion",
                "x-log-apiversion is required",
            ))
        }
        Some("0.6.0") => {}
        Some(other) => {
            return Err(SlsError::bad_request(
                "InvalidAPIVersion",
                format!("unsupported x-log-apiversion {other}"),
            ))
        }
    }
    match request.header("content-type") {
        None => {
            return Err(SlsError::bad_request(
                "MissingContentType",
                "Content-Type is required",
            ))
        }
        Some(t) if t.eq_ignore_ascii_case("application/x-protobuf") => {}
        Some(other) => {
            return Err(SlsError::bad_request(
                "InvalidContentType",
                format!("Content-Type {other} is not supported; send application/x-protobuf"),
            ))
        }
    }
    if let Some(md5) = request.header("content-md5") {
        let actual = hex_upper(&Md5::digest(&request.body));
        if !md5.eq_ignore_ascii_case(&actual) {
            return Err(SlsError::bad_request(
                "ParameterInvalid",
                format!("Content-MD5 {md5} does not match the body ({actual})"),
            ));
        }
    }
    let raw_size: u64 = request
        .header("x-log-bodyrawsize")
        .ok_or_else(|| {
            SlsError::bad_request("MissingBodyRawSize", "x-log-bodyrawsize is required")
        })?
        .trim()
        .parse()
        .map_err(|_| {
            SlsError::bad_request("InvalidBodyRawSize", "x-log-bodyrawsize is not a number")
        })?;
    if raw_size > limits.max_raw_body_bytes {
        return Err(SlsError::bad_request(
            "PostBodyTooLarge",
            format!(
                "body size {raw_size} must little than {} bytes",
                limits.max_raw_body_bytes
            ),
        ));
    }
    let raw = decompress(request, raw_size as usize)?;
    if raw.len() as u64 != raw_size {
        return Err(SlsError::bad_request(
            "InvalidBodyRawSize",
            format!(
                "x-log-bodyrawsize is {raw_size} but the body holds {} bytes",
                raw.len()
            ),
        ));
    }
    // Decoded from `Bytes`, the values are slices of `raw`, not copies.
    let group = LogGroup::decode(bytes::Bytes::from(raw)).map_err(|e| {
        SlsError::bad_request("PostBodyInvalid", format!("bad LogGroup protobuf: {e}"))
    })?;
    validate(&group, limits.max_logs_per_group)?;
    Ok(group)
}

fn decompress(request: &SandboxRequest, raw_size: usize) -> Result<Vec<u8>, SlsError> {
    let body = &request.body;
    let failed = |e: String| SlsError::bad_request("PostBodyUncompressError", e);
    match request
        .header("x-log-compresstype")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") => Ok(body.to_vec()),
        // A raw LZ4 block: no frame and no size prefix (sls-putlogs.md §6).
        Some("lz4") => {
            lz4_flex::block::decompress(body, raw_size).map_err(|e| failed(e.to_string()))
        }
        // zlib container (RFC 1950).
        Some("deflate") => {
            read_limited(flate2::read::ZlibDecoder::new(body.as_ref()), raw_size).map_err(failed)
        }
        Some("zstd") => zstd::stream::read::Decoder::new(body.as_ref())
            .map_err(|e| failed(e.to_string()))
            .and_then(|decoder| read_limited(decoder, raw_size).map_err(failed)),
        Some(other) => Err(SlsError::bad_request(
            "InvalidCompressType",
            format!("unsupported x-log-compresstype {other}"),
        )),
    }
}

/// Reads at most one byte past the declared size, so a lying header cannot make the
/// sandbox inflate without bound.
fn read_limited(reader: impl Read, raw_size: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(raw_size);
    reader
        .take(raw_size as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Required fields present, keys non-empty, at most `max_logs` logs.
fn validate(group: &LogGroup, max_logs: u64) -> Result<(), SlsError> {
    if group.logs.len() as u64 > max_logs {
        return Err(SlsError::bad_request(
            "PostBodyTooLarge",
            format!(
                "{} logs in one LogGroup, more than {max_logs}",
                group.logs.len()
            ),
        ));
    }
    let invalid = |message: String| SlsError::bad_request("PostBodyInvalid", message);
    for (index, log) in group.logs.iter().enumerate() {
        if log.time.is_none() {
            return Err(invalid(format!("log {index} has no Time")));
        }
        if log.time_ns.is_some_and(|ns| ns >= 1_000_000_000) {
            return Err(invalid(format!("log {index} has Time_ns out of range")));
        }
        for content in &log.contents {
            match (&content.key, &content.value) {
                (Some(key), Some(_)) if key.is_empty() => {
                    return Err(invalid(format!("log {index} has an empty content key")))
                }
                (Some(key), Some(_)) if std::str::from_utf8(key).is_err() => {
                    return Err(invalid(format!(
                        "log {index} has a content key that is not UTF-8"
                    )))
                }
                (Some(_), Some(_)) => {}
                _ => {
                    return Err(invalid(format!(
                        "log {index} has a content without Key or Value"
                    )))
                }
            }
        }
    }
    for tag in &group.log_tags {
        if tag.key.as_deref().unwrap_or_default().is_empty() || tag.value.is_none() {
            return Err(invalid("a LogTag lacks its Key or Value".into()));
        }
    }
    Ok(())
}

/// The logstore's shards: read-write ones, and read-only ones that were split.
fn list_shards(state: &State, project: &str, logstore: &str) -> serde_json::Value {
    let shards: Vec<serde_json::Value> = state
        .log_store
        .shard_ranges(project, logstore)
        .iter()
        .map(|range| {
            serde_json::json!({
                "shardID": range.id,
                "status": if range.read_only { "readonly" } else { "readwrite" },
                "inclusiveBeginKey": format!("{:032x}", range.begin_key),
                "exclusiveEndKey": format!("{:032x}", range.end_key),
                "createTime": 1_482_710_400u64,
            })
        })
        .collect();
    serde_json::Value::Array(shards)
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
