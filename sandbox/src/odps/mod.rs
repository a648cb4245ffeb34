//! The MaxCompute side: REST metadata under `/api` and the table tunnel at the host root,
//! both on the sandbox port (odps-tunnel.md §1).

pub mod auth;
pub(crate) mod cache;
pub mod codec;
pub mod config;
pub mod generator;
pub mod meta;
pub(crate) mod tunnel;
pub mod types;
pub(crate) mod upload;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use hyper::header::HeaderValue;
use hyper::{Method, StatusCode};

use crate::faults::RequestKind;
use crate::http::{percent_decode, response, Reply, SandboxRequest};
use crate::server::{take_fault, State};
use auth::AuthFailure;
use config::{parse_partition_spec, OdpsConfig};
use meta::{cdata, xml_escape, Table, OWNER};

/// The served projects and their tables, keyed by lower-case name: MaxCompute names are
/// case-insensitive. A table is an immutable snapshot: an upload commit or a partition
/// creation swaps in a changed copy, so a download session keeps reading what it opened.
pub(crate) struct Catalog {
    projects: HashMap<String, Mutex<HashMap<String, Arc<Table>>>>,
    /// Open tunnel upload sessions (odps-tunnel.md §8).
    pub uploads: upload::UploadSessions,
}

impl Catalog {
    pub fn new(config: &OdpsConfig) -> anyhow::Result<Self> {
        let mut projects = HashMap::new();
        for project in &config.projects {
            let mut tables = HashMap::new();
            for table in &project.tables {
                tables.insert(table.name.to_ascii_lowercase(), Arc::new(table.to_table()?));
            }
            projects.insert(project.name.to_ascii_lowercase(), Mutex::new(tables));
        }
        Ok(Catalog {
            projects,
            uploads: upload::UploadSessions::default(),
        })
    }

    /// The project's tables as they are now, or `None` for an unknown project.
    fn tables(&self, project: &str) -> Option<Vec<Arc<Table>>> {
        let tables = self.projects.get(&project.to_ascii_lowercase())?;
        let tables = tables.lock().unwrap_or_else(|e| e.into_inner());
        Some(tables.values().cloned().collect())
    }

    fn table(&self, project: &str, table: &str) -> Option<Option<Arc<Table>>> {
        let tables = self.projects.get(&project.to_ascii_lowercase())?;
        let tables = tables.lock().unwrap_or_else(|e| e.into_inner());
        Some(tables.get(&table.to_ascii_lowercase()).cloned())
    }

    /// Applies `change` to a copy of the table and publishes the copy, under the project's
    /// lock so concurrent commits do not lose each other's rows.
    pub fn update_table<T>(
        &self,
        project: &str,
        table: &str,
        change: impl FnOnce(&mut Table) -> Result<T, OdpsError>,
    ) -> Result<T, OdpsError> {
        let tables = self
            .projects
            .get(&project.to_ascii_lowercase())
            .ok_or_else(|| no_such_project(project))?;
        let mut tables = tables.lock().unwrap_or_else(|e| e.into_inner());
        let current = tables
            .get_mut(&table.to_ascii_lowercase())
            .ok_or_else(|| no_such_table(project, table))?;
        let mut copy = Table::clone(current);
        let outcome = change(&mut copy)?;
        *current = Arc::new(copy);
        Ok(outcome)
    }
}

fn no_such_project(project: &str) -> OdpsError {
    OdpsError::new(
        StatusCode::NOT_FOUND,
        "NoSuchProject",
        format!("ODPS-0420111:Project not found - '{project}'"),
    )
}

fn no_such_table(project: &str, table: &str) -> OdpsError {
    OdpsError::new(
        StatusCode::NOT_FOUND,
        "NoSuchTable",
        format!("ODPS-0130131:Table not found - '{project}.{table}'"),
    )
}

/// A MaxCompute error, rendered as REST XML or tunnel JSON (odps-tunnel.md §7).
#[derive(Debug)]
pub(crate) struct OdpsError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl OdpsError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        OdpsError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    fn from_auth(failure: AuthFailure) -> Self {
        let unauthorized = StatusCode::UNAUTHORIZED;
        match failure {
            AuthFailure::Missing => OdpsError::new(
                unauthorized,
                "Unauthorized",
                "The request authorization header is invalid or missing.",
            ),
            AuthFailure::UnknownAccessKey => OdpsError::new(
                unauthorized,
                "InvalidAccessKeyId",
                "ODPS-0410051:Invalid credentials - accessKeyId not found",
            ),
            AuthFailure::BadSecurityToken => OdpsError::new(
                unauthorized,
                "InvalidSecurityToken",
                "ODPS-0410051:Invalid credentials - the security token is missing or invalid",
            ),
            AuthFailure::SignatureMismatch => OdpsError::new(
                unauthorized,
                "SignatureNotMatch",
                "ODPS-0410042:Invalid signature value - User signature dose not match",
            ),
            AuthFailure::BadDate => OdpsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "ODPS-0410030:Invalid Date header - expected RFC 1123 GMT",
            ),
            AuthFailure::Expired => OdpsError::new(
                StatusCode::FORBIDDEN,
                "RequestTimeTooSkewed",
                "ODPS-0410031:Authentication request expired - the Date header is more than 15 minutes off",
            ),
        }
    }

    /// The REST shape: XML `<Error>` with the request id inside and in `x-odps-request-id`.
    pub fn rest_reply(&self, request_id: &str) -> Reply {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{}</Code>\n  <Message>{}</Message>\n  \
             <RequestId>{request_id}</RequestId>\n  <HostId>127.0.0.1</HostId>\n</Error>\n",
            self.code,
            cdata(&self.message)
        );
        Reply::Respond(response(
            self.status,
            &[
                ("content-type", "application/xml".into()),
                ("x-odps-request-id", request_id.into()),
            ],
            body,
        ))
    }

    /// The tunnel shape: JSON `{Code, Message, RequestId}`.
    pub fn tunnel_reply(&self, request_id: &str) -> Reply {
        let body = serde_json::json!({
            "Code": self.code,
            "Message": self.message,
            "RequestId": request_id,
        });
        Reply::Respond(response(
            self.status,
            &[
                ("content-type", "application/json".into()),
                ("x-odps-request-id", request_id.into()),
            ],
            body.to_string(),
        ))
    }
}

/// `/projects/{p}[/schemas/{s}]/tables/{t}` or `/projects/{p}[/tunnel]`, decoded.
#[derive(Debug, PartialEq)]
pub(crate) enum Resource {
    Project(String),
    TunnelService(String),
    Tables(String),
    Table { project: String, table: String },
}

pub(crate) fn parse_resource(relative_path: &str) -> Option<Resource> {
    let segments: Vec<String> = relative_path
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .map(|s| percent_decode(s, false))
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    Some(match segments.as_slice() {
        ["projects", p] => Resource::Project(p.to_string()),
        ["projects", p, "tunnel"] => Resource::TunnelService(p.to_string()),
        ["projects", p, "tables"] | ["projects", p, "schemas", _, "tables"] => {
            Resource::Tables(p.to_string())
        }
        ["projects", p, "tables", t] | ["projects", p, "schemas", _, "tables", t] => {
            Resource::Table {
                project: p.to_string(),
                table: t.to_string(),
            }
        }
        _ => return None,
    })
}

/// Authenticates a request for either endpoint.
pub(crate) fn authenticate(
    state: &State,
    request: &SandboxRequest,
    relative_path: &str,
) -> Result<(), OdpsError> {
    auth::verify(
        &state.config,
        request.method.as_str(),
        &request.headers,
        relative_path,
        &request.query,
        SystemTime::now(),
    )
    .map_err(OdpsError::from_auth)
}

pub(crate) fn find_table(
    catalog: &Catalog,
    project: &str,
    table: &str,
) -> Result<Arc<Table>, OdpsError> {
    catalog
        .table(project, table)
        .ok_or_else(|| no_such_project(project))?
        .ok_or_else(|| no_such_table(project, table))
}

/// `GET /api/...`: project, tunnel discovery, table and partition metadata (odps-tunnel.md §1, §11).
pub(crate) async fn handle_rest(state: &State, request: &SandboxRequest) -> Reply {
    let request_id = crate::http::new_request_id();
    let relative_path = request.path.strip_prefix("/api").unwrap_or(&request.path);
    let Some(admitted) = take_fault(
        state,
        RequestKind::OdpsRest,
        &request.path,
        "odps",
        OdpsError::new,
    )
    .await
    else {
        return Reply::Drop;
    };
    let outcome = admitted
        .and_then(|_| authenticate(state, request, relative_path))
        .and_then(|()| serve_rest(state, request, relative_path));
    match outcome {
        Ok(mut reply) => {
            state.stats.request("odps", "ok");
            if let (Reply::Respond(response), Ok(id)) =
                (&mut reply, HeaderValue::from_str(&request_id))
            {
                response.headers_mut().insert("x-odps-request-id", id);
            }
            reply
        }
        Err(error) => {
            state.stats.request("odps", &error.code);
            error.rest_reply(&request_id)
        }
    }
}

fn serve_rest(
    state: &State,
    request: &SandboxRequest,
    relative_path: &str,
) -> Result<Reply, OdpsError> {
    if request.method != Method::GET && request.method != Method::HEAD {
        return Err(OdpsError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("{} is not served by the sandbox", request.method),
        ));
    }
    match parse_resource(relative_path) {
        Some(Resource::Project(project)) => {
            find_project(state, &project)?;
            Ok(xml_reply(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Project>\n  <Name>{}</Name>\n  <Type>managed</Type>\n  \
                 <Comment></Comment>\n  <Owner>{}</Owner>\n  <State>AVAILABLE</State>\n</Project>\n",
                xml_escape(&project),
                xml_escape(OWNER)
            )))
        }
        // The tunnel answers on this same port; the client adds the REST scheme (§1).
        Some(Resource::TunnelService(project)) => {
            find_project(state, &project)?;
            Ok(Reply::Respond(response(
                StatusCode::OK,
                &[("content-type", "text/plain".into())],
                format!("127.0.0.1:{}", state.port),
            )))
        }
        Some(Resource::Tables(project)) => {
            Ok(xml_reply(tables_xml(find_project(state, &project)?)))
        }
        Some(Resource::Table { project, table }) => {
            let table = find_table(&state.catalog, &project, &table)?;
            serve_table(request, &table, &project)
        }
        None => Err(OdpsError::new(
            StatusCode::NOT_FOUND,
            "NoSuchObject",
            format!("Unknown resource {relative_path}"),
        )),
    }
}

/// A 200 answer of `body`, an XML document.
fn xml_reply(body: String) -> Reply {
    Reply::Respond(response(
        StatusCode::OK,
        &[("content-type", "application/xml".into())],
        body,
    ))
}

/// The tables of `project`, or `NoSuchProject`.
fn find_project(state: &State, project: &str) -> Result<Vec<Arc<Table>>, OdpsError> {
    state
        .catalog
        .tables(project)
        .ok_or_else(|| no_such_project(project))
}

/// The project's table list, by name.
fn tables_xml(mut names: Vec<Arc<Table>>) -> String {
    names.sort_by(|a, b| a.name.cmp(&b.name));
    let mut body = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Tables>\n  <Marker></Marker>\n  <MaxItems>10000</MaxItems>\n",
    );
    for table in names {
        body.push_str(&format!(
            "  <Table>\n    <Name>{}</Name>\n    <Owner>{}</Owner>\n  </Table>\n",
            xml_escape(&table.name),
            xml_escape(OWNER)
        ));
    }
    body.push_str("</Tables>\n");
    body
}

/// A table's metadata, its partition list (`?partitions[&partition=prefix]`) or one
/// partition's metadata (`?partition=spec`).
fn serve_table(request: &SandboxRequest, table: &Table, project: &str) -> Result<Reply, OdpsError> {
    if request.has_param("partitions") {
        let prefix = parse_partition_spec(&request.param("partition").unwrap_or_default());
        return Ok(xml_reply(table.partitions_xml(&prefix)));
    }
    let Some(spec) = request.param("partition") else {
        return Ok(xml_reply(table.table_xml(project)));
    };
    let index = table
        .partition_index(&parse_partition_spec(&spec))
        .ok_or_else(|| {
            OdpsError::new(
                StatusCode::NOT_FOUND,
                "NoSuchPartition",
                format!(
                    "ODPS-0130121:Partition not found - '{spec}' of {}",
                    table.name
                ),
            )
        })?;
    Ok(xml_reply(meta::partition_xml(&table.partitions[index])))
}
