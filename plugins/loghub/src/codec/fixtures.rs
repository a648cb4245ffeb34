//! Test fixtures: prost messages that decode what the builder wrote, and the spec's P1 bytes.

use prost::Message;

/// The LogGroup of sls-putlogs.md §5, to decode what the builder wrote.
#[derive(Clone, PartialEq, Message)]
pub struct LogGroup {
    #[prost(message, repeated, tag = "1")]
    pub logs: Vec<Log>,
    #[prost(string, optional, tag = "3")]
    pub topic: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub source: Option<String>,
    #[prost(message, repeated, tag = "6")]
    pub log_tags: Vec<LogTag>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Log {
    #[prost(uint32, required, tag = "1")]
    pub time: u32,
    #[prost(message, repeated, tag = "2")]
    pub contents: Vec<Content>,
    #[prost(fixed32, optional, tag = "4")]
    pub time_ns: Option<u32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Content {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, required, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct LogTag {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, required, tag = "2")]
    pub value: String,
}

pub fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// P1's bytes without the trailing `__pack_id__` tag, which this writer does not send.
pub const P1_WITHOUT_TAG: &str = "0a2f0880e2cfaa06120d0a056c6576656c1204494e464f12130a036d7367120c68656c6c6f20e4b896e7958c2515cd5b07\
    0a1e0881e2cfaa06120d0a056c6576656c12045741524e12070a036d73671200\
    1a056461746178220831302e302e302e31";
