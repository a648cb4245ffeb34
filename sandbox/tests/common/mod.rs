//! Shared by the integration tests: configs, signed clients for both services, and the
//! Python runner.
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use datax_sandbox::odps::auth as odps_auth;
use datax_sandbox::odps::types::OdpsType;
use datax_sandbox::sls::auth as sls_auth;
use datax_sandbox::{Credential, Sandbox, SandboxConfig, SandboxHandle};
use md5::{Digest, Md5};

pub const ACCESS_ID: &str = "sandbox-access-id";
pub const ACCESS_KEY: &str = "sandbox-access-key";
pub const STS_ID: &str = "sts-id";
pub const STS_KEY: &str = "sts-key";
pub const STS_TOKEN: &str = "sts-token";
pub const PROJECT: &str = "aliyun_account";
pub const TABLE: &str = "ak_biz_log_detail";
pub const GENERATED_TABLE: &str = "ak_biz_log_generated";
pub const PARTITION: &str = "pt=20161226";
pub const SLS_PROJECT: &str = "datax-demo";
pub const LOGSTORE: &str = "ak_biz_log";

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped example config plus the all-types fixture table and an STS credential.
pub fn test_config_json() -> serde_json::Value {
    let read = |path: PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    };
    let mut config = read(crate_dir().join("examples/sandbox.json"));
    let all_types = read(crate_dir().join("tests/fixtures/all_types_table.json"));
    config["odps"]["projects"][0]["tables"]
        .as_array_mut()
        .unwrap()
        .push(all_types);
    config["credentials"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "access_id": STS_ID, "access_key": STS_KEY, "security_token": STS_TOKEN
        }));
    config
}

pub fn test_config() -> SandboxConfig {
    let config = SandboxConfig::from_json(&test_config_json().to_string()).unwrap();
    assert_eq!(
        config.credentials[0].access_id,
        Credential::new(ACCESS_ID, ACCESS_KEY).access_id
    );
    config
}

pub fn start() -> SandboxHandle {
    Sandbox::start(test_config()).unwrap()
}

/// The column types of [`TABLE`], in order.
pub fn detail_types() -> Vec<OdpsType> {
    ["string", "bigint", "string", "double", "datetime", "string"]
        .iter()
        .map(|t| OdpsType::parse(t).unwrap())
        .collect()
}

pub fn http_date(offset_secs: i64) -> String {
    let now = SystemTime::now();
    let at = if offset_secs >= 0 {
        now + Duration::from_secs(offset_secs as u64)
    } else {
        now - Duration::from_secs(offset_secs.unsigned_abs())
    };
    httpdate::fmt_http_date(at)
}

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build()
}

/// The response whatever its status: `(status, headers, body)`.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
}

/// A request that got no HTTP response: the connection failed or was dropped.
#[derive(Debug)]
pub struct NoReply(pub String);

pub fn finish(result: Result<ureq::Response, ureq::Error>) -> Result<Reply, NoReply> {
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(other) => return Err(NoReply(other.to_string())),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .map(|name| {
            let value = response.header(&name).unwrap_or_default().to_string();
            (name, value)
        })
        .collect();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut body)
        .map_err(|e| NoReply(e.to_string()))?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// A signed MaxCompute request, as pyodps builds it (odps-tunnel.md §2.1): `url_path` is
/// what follows the endpoint, `query` is already encoded.
pub struct OdpsRequest<'a> {
    pub endpoint: &'a str,
    pub method: &'a str,
    pub path: String,
    pub query: String,
    pub headers: Vec<(&'a str, String)>,
    pub access_id: &'a str,
    pub access_key: &'a str,
    pub date: String,
}

impl<'a> OdpsRequest<'a> {
    pub fn new(endpoint: &'a str, method: &'a str, path: &str, query: &str) -> Self {
        OdpsRequest {
            endpoint,
            method,
            path: path.to_string(),
            query: query.to_string(),
            headers: vec![("x-odps-tunnel-version", "6".to_string())],
            access_id: ACCESS_ID,
            access_key: ACCESS_KEY,
            date: http_date(0),
        }
    }

    pub fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn send(&self) -> Result<Reply, NoReply> {
        finish(self.call(&agent()).map_err(|error| *error))
    }

    /// The response as `agent` gets it, its body still to read.
    pub fn call(&self, agent: &ureq::Agent) -> Result<ureq::Response, Box<ureq::Error>> {
        let mut signed_headers: Vec<(&str, &str)> =
            self.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        signed_headers.push(("date", self.date.as_str()));
        let string_to_sign =
            odps_auth::string_to_sign(self.method, signed_headers, &self.path, &self.query);
        let signature = odps_auth::signature_v2(self.access_key, &string_to_sign);
        let url = if self.query.is_empty() {
            format!("{}{}", self.endpoint, self.path)
        } else {
            format!("{}{}?{}", self.endpoint, self.path, self.query)
        };
        let mut request = agent
            .request(self.method, &url)
            .set("Date", &self.date)
            .set(
                "Authorization",
                &format!("ODPS {}:{signature}", self.access_id),
            );
        for (name, value) in &self.headers {
            request = request.set(name, value);
        }
        if self.method == "POST" {
            request.send_bytes(&[])
        } else {
            request.call()
        }
        .map_err(Box::new)
    }
}

/// A signed PutLogs request (sls-putlogs.md §0).
pub struct PutLogs<'a> {
    pub sls_endpoint: &'a str,
    pub host: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub raw_size: usize,
    pub compress_type: Option<&'a str>,
    pub access_id: &'a str,
    pub access_key: &'a str,
    pub security_token: Option<&'a str>,
    pub date: String,
    pub content_md5: Option<String>,
}

impl<'a> PutLogs<'a> {
    /// An uncompressed PutLogs of `raw` to the default project and logstore.
    pub fn new(sls_endpoint: &'a str, raw: Vec<u8>) -> Self {
        PutLogs {
            sls_endpoint,
            host: format!("{SLS_PROJECT}.cn-hangzhou.log.aliyuncs.com"),
            path: format!("/logstores/{LOGSTORE}/shards/lb"),
            query: Vec::new(),
            raw_size: raw.len(),
            body: raw,
            compress_type: None,
            access_id: ACCESS_ID,
            access_key: ACCESS_KEY,
            security_token: None,
            date: http_date(0),
            content_md5: None,
        }
    }

    pub fn compressed(mut self, compress_type: &'a str, body: Vec<u8>) -> Self {
        self.compress_type = Some(compress_type);
        self.body = body;
        self
    }

    pub fn send(&self) -> Result<Reply, NoReply> {
        let md5 = self.content_md5.clone().unwrap_or_else(|| {
            Md5::digest(&self.body)
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect()
        });
        let mut headers = vec![
            ("x-log-apiversion", "0.6.0".to_string()),
            ("x-log-signaturemethod", "hmac-sha1".to_string()),
            ("x-log-bodyrawsize", self.raw_size.to_string()),
        ];
        if let Some(compress_type) = self.compress_type {
            headers.push(("x-log-compresstype", compress_type.to_string()));
        }
        if let Some(token) = self.security_token {
            headers.push(("x-acs-security-token", token.to_string()));
        }
        let content_type = "application/x-protobuf";
        let string_to_sign = sls_auth::string_to_sign(
            "POST",
            &md5,
            content_type,
            &self.date,
            headers.iter().map(|(n, v)| (*n, v.as_str())),
            &self.path,
            &self.query,
        );
        let signature = sls_auth::signature(self.access_key, &string_to_sign);
        let query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let url = format!(
            "http://{}{}{}{}",
            self.sls_endpoint,
            self.path,
            if query.is_empty() { "" } else { "?" },
            query.join("&")
        );
        let mut request = agent()
            .post(&url)
            .set("Host", &self.host)
            .set("Date", &self.date)
            .set("Content-Type", content_type)
            .set("Content-MD5", &md5)
            .set(
                "Authorization",
                &format!("LOG {}:{signature}", self.access_id),
            );
        for (name, value) in &headers {
            request = request.set(name, value);
        }
        finish(request.send_bytes(&self.body))
    }
}

/// Runs a script under `tests/python/` with `$PYTHON` (else `python3`) and fails the test (never
/// skips) when Python or the client packages are missing: `scripts/test.sh` installs
/// `requirements-dev.txt` into `.venv-test` and points `PYTHON` at it.
pub fn run_python(script: &str, args: &[&str]) {
    let path = crate_dir().join("tests/python").join(script);
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(&python)
        .arg(&path)
        .args(args)
        .env("TZ", "UTC")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed ({}) under {python}; `bash scripts/test.sh` runs it with the clients of \
         requirements-dev.txt installed\n\
         --- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    println!("{stdout}");
}

/// Runs `pyodps_read.py` against `sandbox`, with the test config for it to compare with.
pub fn run_pyodps_read(sandbox: &SandboxHandle) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_json(dir.path(), "config.json", &test_config_json());
    run_python(
        "pyodps_read.py",
        &[
            config.to_str().unwrap(),
            sandbox.odps_endpoint(),
            sandbox.tunnel_endpoint(),
        ],
    );
}

pub fn write_json(dir: &Path, name: &str, value: &serde_json::Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path
}

/// PutLogs of one log (`k` = `v`) to the default logstore.
pub fn put_one_log(sandbox: &SandboxHandle) -> Result<Reply, NoReply> {
    use prost::Message;
    let group = datax_sandbox::sls::proto::LogGroup {
        logs: vec![datax_sandbox::sls::proto::Log {
            time: Some(1_700_000_000),
            contents: vec![datax_sandbox::sls::proto::LogContent {
                key: Some("k".into()),
                value: Some(b"v".to_vec().into()),
            }],
            time_ns: None,
        }],
        ..Default::default()
    };
    PutLogs::new(sandbox.sls_endpoint(), group.encode_to_vec()).send()
}
