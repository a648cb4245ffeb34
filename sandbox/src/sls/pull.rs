//! GetCursor and PullLogs, as aliyun-log-python-sdk's `get_cursor` and `pull_logs` (and the
//! Java SDK's `GetCursor`, `BatchGetLog`) speak them, after the checks every request passes
//! ([`super::putlogs`]). A cursor is the base64 of a group's position in its shard, in
//! decimal, as the service's cursors look; clients treat it as opaque.

use std::io::Write;

use base64::Engine;

use super::store::CursorFrom;
use super::{Answer, SlsError};
use crate::http::SandboxRequest;
use crate::server::State;

/// Most log groups one PullLogs returns, and its default.
const MAX_PULL_COUNT: u64 = 1000;

pub(crate) fn encode_cursor(position: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(position.to_string())
}

fn decode_cursor(name: &str, cursor: &str) -> Result<u64, SlsError> {
    base64::engine::general_purpose::STANDARD
        .decode(cursor.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| {
            SlsError::bad_request("InvalidCursor", format!("{name} {cursor} is invalid"))
        })
}

fn shard_id(shard: &str) -> Result<u32, SlsError> {
    shard.parse().map_err(|_| {
        SlsError::bad_request(
            "ParameterInvalid",
            format!("shard id {shard} is not a number"),
        )
    })
}

/// `GET /logstores/{ls}/shards/{id}?type=cursor&from=begin|end|{unix seconds}` →
/// `{"cursor": ".."}`.
pub(crate) fn get_cursor(
    state: &State,
    request: &SandboxRequest,
    project: &str,
    logstore: &str,
    shard: &str,
) -> Result<Answer, SlsError> {
    let from = match request.param("from").as_deref() {
        Some("begin") => CursorFrom::Begin,
        Some("end") => CursorFrom::End,
        Some(time) => CursorFrom::Time(time.parse().map_err(|_| {
            SlsError::bad_request(
                "ParameterInvalid",
                format!("from {time} is not begin, end or Unix seconds"),
            )
        })?),
        None => {
            return Err(SlsError::bad_request(
                "ParameterInvalid",
                "from is required",
            ))
        }
    };
    let position = state
        .log_store
        .cursor(project, logstore, shard_id(shard)?, from)?;
    Ok(Answer::json(
        serde_json::json!({ "cursor": encode_cursor(position) }),
    ))
}

/// `GET /logstores/{ls}/shards/{id}?type=log&cursor=..&count=..[&end_cursor=..]`: a
/// `LogGroupList`, compressed as `Accept-Encoding` asks (lz4, zstd, deflate, or none).
pub(crate) fn pull_logs(
    state: &State,
    request: &SandboxRequest,
    project: &str,
    logstore: &str,
    shard: &str,
) -> Result<Answer, SlsError> {
    let shard = shard_id(shard)?;
    let cursor = request
        .param("cursor")
        .ok_or_else(|| SlsError::bad_request("ParameterInvalid", "cursor is required"))?;
    let start = decode_cursor("cursor", &cursor)?;
    let count = match request.param("count") {
        None => MAX_PULL_COUNT,
        Some(count) => count
            .parse()
            .ok()
            .filter(|count| (1..=MAX_PULL_COUNT).contains(count))
            .ok_or_else(|| {
                SlsError::bad_request(
                    "ParameterInvalid",
                    format!("count {count} is not 1 to {MAX_PULL_COUNT}"),
                )
            })?,
    };
    let end = match request.param("end_cursor").filter(|end| !end.is_empty()) {
        Some(end) => Some(decode_cursor("end_cursor", &end)?),
        None => None,
    };
    let pulled = state
        .log_store
        .pull(project, logstore, shard, start, count, end)?;
    let raw_size = pulled.list.len();
    let (compress_type, body) = compress(request.header("accept-encoding"), pulled.list)
        .map_err(|e| compress_failed(&e))?;
    let mut headers = vec![
        ("content-type", "application/x-protobuf".to_string()),
        ("x-log-cursor", encode_cursor(pulled.next)),
        ("x-log-count", pulled.groups.to_string()),
        ("x-log-bodyrawsize", raw_size.to_string()),
    ];
    if let Some(compress_type) = compress_type {
        headers.push(("x-log-compresstype", compress_type.to_string()));
    }
    Ok(Answer { body, headers })
}

fn compress_failed(error: &std::io::Error) -> SlsError {
    SlsError::new(
        hyper::StatusCode::INTERNAL_SERVER_ERROR,
        "InternalServerError",
        format!("cannot compress the answer: {error}"),
    )
}

/// The first of lz4, zstd and deflate that `Accept-Encoding` lists, else uncompressed; the
/// compression's `x-log-compresstype` and the bytes.
fn compress(
    accept_encoding: Option<&str>,
    raw: Vec<u8>,
) -> std::io::Result<(Option<&'static str>, Vec<u8>)> {
    let wanted = accept_encoding
        .unwrap_or_default()
        .split(',')
        .map(|name| name.trim().to_ascii_lowercase())
        .find(|name| matches!(name.as_str(), "lz4" | "zstd" | "deflate"));
    Ok(match wanted.as_deref() {
        // A raw LZ4 block, as PutLogs bodies (sls-putlogs.md §6).
        Some("lz4") => (Some("lz4"), lz4_flex::block::compress(&raw)),
        Some("zstd") => (Some("zstd"), zstd::bulk::compress(&raw, 1)?),
        Some("deflate") => {
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(&raw)?;
            (Some("deflate"), encoder.finish()?)
        }
        _ => (None, raw),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_look_like_the_services() {
        assert_eq!(
            encode_cursor(1737669036017218454),
            "MTczNzY2OTAzNjAxNzIxODQ1NA=="
        );
        assert_eq!(
            decode_cursor("cursor", "MTczNzY2OTAzNjAxNzIxODQ1NA==").unwrap(),
            1737669036017218454
        );
        assert_eq!(
            decode_cursor("cursor", "bm90IGEgbnVtYmVy")
                .unwrap_err()
                .code,
            "InvalidCursor"
        );
        assert_eq!(
            decode_cursor("cursor", "%%%").unwrap_err().code,
            "InvalidCursor"
        );
    }

    #[test]
    fn the_answer_is_compressed_as_asked() {
        let raw = b"abcabcabcabcabcabc".to_vec();
        let (kind, lz4) = compress(Some("lz4"), raw.clone()).unwrap();
        assert_eq!(kind, Some("lz4"));
        assert_eq!(lz4_flex::block::decompress(&lz4, raw.len()).unwrap(), raw);
        let (kind, zstd) = compress(Some("gzip, zstd"), raw.clone()).unwrap();
        assert_eq!(kind, Some("zstd"));
        assert_eq!(zstd::bulk::decompress(&zstd, raw.len()).unwrap(), raw);
        assert_eq!(
            compress(Some(""), raw.clone()).unwrap(),
            (None, raw.clone())
        );
        assert_eq!(compress(None, raw.clone()).unwrap(), (None, raw));
    }
}
