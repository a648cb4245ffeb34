//! Tunnel upload sessions on the reader's client (odps-tunnel.md §8): create
//! (`POST …?uploads`, `create_partition` and `overwrite` as pyodps sends them), reload
//! (`GET …?uploadid=`), one block (`PUT …?uploadid=&blockid=`) and commit (`POST …?uploadid=`).

use datax_plugin_api::{log, PluginError};
use datax_plugin_kit::http::HttpError;
use datax_plugin_kit::retry::{retry, Cancellation};
use http::Method;
use serde_json::Value;

use crate::client::{describe_table, retry_failure, retry_policy, OdpsClient, OdpsRetries, Target};

/// What an upload session says.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadSession {
    pub id: String,
    pub status: String,
    /// The blocks the service holds, by id.
    pub blocks: Vec<u64>,
}

/// Where a session lives: the table and the partition spec (normalised).
pub struct UploadTarget<'a> {
    pub table: &'a str,
    pub partition: Option<&'a str>,
}

/// One block of a session: its id and record stream, compressed as `content_encoding` says.
/// Every attempt sends the same buffer (`Bytes` clones share it).
pub struct Block<'a> {
    pub session_id: &'a str,
    pub id: u64,
    pub body: bytes::Bytes,
    pub content_encoding: Option<&'a str>,
}

impl UploadTarget<'_> {
    fn describe(&self, project: &str) -> String {
        describe_table(project, self.table, self.partition)
    }
}

impl OdpsClient {
    /// `POST …?uploads`: a session that creates the partition when it is missing and, with
    /// `overwrite`, replaces the rows at commit.
    pub fn create_upload_session(
        &self,
        target: &UploadTarget<'_>,
        project: &str,
        overwrite: bool,
        cancellation: &dyn Cancellation,
    ) -> Result<UploadSession, PluginError> {
        let doing = format!(
            "creating an upload session for {}",
            target.describe(project)
        );
        let mut params = vec![("uploads", "")];
        if target.partition.is_some() {
            params.push(("create_partition", "true"));
        }
        if overwrite {
            params.push(("overwrite", "true"));
        }
        self.session_call(Method::POST, target, params, cancellation, &doing)
    }

    /// `POST …?uploadid=`: publishes every block the service holds.
    pub fn commit_upload(
        &self,
        target: &UploadTarget<'_>,
        project: &str,
        id: &str,
        cancellation: &dyn Cancellation,
    ) -> Result<UploadSession, PluginError> {
        let doing = format!(
            "committing upload session {id} of {}",
            target.describe(project)
        );
        self.session_call(
            Method::POST,
            target,
            vec![("uploadid", id)],
            cancellation,
            &doing,
        )
    }

    /// `GET …?uploadid=`: the session's state and block list.
    pub fn upload_session(
        &self,
        target: &UploadTarget<'_>,
        project: &str,
        id: &str,
        cancellation: &dyn Cancellation,
    ) -> Result<UploadSession, PluginError> {
        let doing = format!(
            "reading upload session {id} of {}",
            target.describe(project)
        );
        self.session_call(
            Method::GET,
            target,
            vec![("uploadid", id)],
            cancellation,
            &doing,
        )
    }

    fn session_call<'a>(
        &'a self,
        method: Method,
        target: &'a UploadTarget<'a>,
        mut params: Vec<(&'a str, &'a str)>,
        cancellation: &dyn Cancellation,
        doing: &str,
    ) -> Result<UploadSession, PluginError> {
        if let Some(spec) = target.partition {
            params.push(("partition", spec));
        }
        let path = self.table_path(target.table);
        let request = Target {
            tunnel: true,
            segments: &path,
            params: &params,
        };
        let body = self.call_text(method, &request, cancellation, doing)?;
        parse_upload_session(&body).map_err(|error| PluginError::io(format!("{doing}: {error}")))
    }

    /// `PUT …?uploadid=&blockid=`: one block with the SDKs' retries; the whole block is sent
    /// again each time.
    pub fn upload_block(
        &self,
        target: &UploadTarget<'_>,
        block: &Block<'_>,
        cancellation: &dyn Cancellation,
        on_retry: impl FnMut(&HttpError, u32, std::time::Duration),
    ) -> Result<(), PluginError> {
        let block_id = block.id.to_string();
        let mut params = vec![
            ("uploadid", block.session_id),
            ("blockid", block_id.as_str()),
        ];
        if let Some(spec) = target.partition {
            params.push(("partition", spec));
        }
        let path = self.table_path(target.table);
        let request = Target {
            tunnel: true,
            segments: &path,
            params: &params,
        };
        retry(
            &retry_policy(self.max_retries()),
            &OdpsRetries,
            cancellation,
            on_retry,
            |_| {
                let body = block.body.clone();
                self.call_with_body(
                    Method::PUT,
                    &request,
                    body,
                    block.content_encoding,
                    cancellation,
                )
                .map(drop)
            },
        )
        .map_err(|failed| retry_failure(failed, &format!("uploading block {block_id}")))?;
        log::debug(format!(
            "block {block_id} uploaded ({} bytes)",
            block.body.len()
        ));
        Ok(())
    }
}

fn parse_upload_session(body: &str) -> Result<UploadSession, String> {
    let json: Value = serde_json::from_str(body)
        .map_err(|error| format!("the session answer is not JSON: {error}"))?;
    let id = json["UploadID"]
        .as_str()
        .ok_or("the session answer has no UploadID")?;
    let blocks = json["UploadedBlockList"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|block| match &block["BlockID"] {
                    Value::Number(number) => number.as_u64(),
                    Value::String(text) => text.parse().ok(),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(UploadSession {
        id: id.to_string(),
        status: json["Status"].as_str().unwrap_or("normal").to_string(),
        blocks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_parse_with_their_block_list() {
        let body = r#"{"UploadID":"abc","Status":"normal",
            "UploadedBlockList":[{"BlockID":3,"CreateTime":1},{"BlockID":"7"}]}"#;
        assert_eq!(
            parse_upload_session(body).unwrap(),
            UploadSession {
                id: "abc".into(),
                status: "normal".into(),
                blocks: vec![3, 7],
            }
        );
        assert!(parse_upload_session("{}").unwrap_err().contains("UploadID"));
    }
}
