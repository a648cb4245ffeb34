//! The PutLogs body, a proto2 `LogGroup` (sls-putlogs.md §5). Written by hand with prost's
//! derive so no `protoc` is needed. Required fields are declared optional so that a missing
//! one can be reported instead of silently defaulting.

#[derive(Clone, PartialEq, prost::Message)]
pub struct LogGroup {
    #[prost(message, repeated, tag = "1")]
    pub logs: Vec<Log>,
    #[prost(string, optional, tag = "2")]
    pub reserved: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub topic: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub source: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub machine_uuid: Option<String>,
    #[prost(message, repeated, tag = "6")]
    pub log_tags: Vec<LogTag>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Log {
    /// Required: Unix seconds.
    #[prost(uint32, optional, tag = "1")]
    pub time: Option<u32>,
    #[prost(message, repeated, tag = "2")]
    pub contents: Vec<LogContent>,
    /// Nanosecond part, 0..999 999 999.
    #[prost(fixed32, optional, tag = "4")]
    pub time_ns: Option<u32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LogContent {
    /// Required; UTF-8, which `putlogs` checks. Bytes, as the value, so that decoding a
    /// group copies neither.
    #[prost(bytes = "bytes", optional, tag = "1")]
    pub key: Option<bytes::Bytes>,
    /// Required. Declared `bytes` (as in the Python SDK's raw variant) so that a value that
    /// is not UTF-8 is stored rather than failing the whole group; a slice of the body it
    /// was decoded from, not a copy.
    #[prost(bytes = "bytes", optional, tag = "2")]
    pub value: Option<bytes::Bytes>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LogTag {
    #[prost(string, optional, tag = "1")]
    pub key: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}
