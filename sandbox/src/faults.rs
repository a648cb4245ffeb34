//! Fault injection for the plugins' reliability tests. A plan is a list of rules; the first
//! rule that matches a request and fires decides what goes wrong with it.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::odps::generator::splitmix64;

/// One rule, e.g. `{"target": "sls", "action": {"type": "error", "status": 503,
/// "code": "ServerBusy"}, "count": 2}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    #[serde(default)]
    pub target: FaultTarget,
    /// Only requests whose raw path contains this text.
    #[serde(default)]
    pub path_contains: Option<String>,
    pub action: FaultAction,
    /// Fire on the next `count` matching requests, then retire. Unlimited when unset.
    #[serde(default)]
    pub count: Option<u64>,
    /// Fire on each matching request with this probability, drawn from `seed`.
    #[serde(default)]
    pub probability: Option<f64>,
    #[serde(default)]
    pub seed: u64,
}

/// Which requests a rule looks at.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FaultTarget {
    #[default]
    Any,
    /// MaxCompute REST (`/api/...`).
    Odps,
    /// Every tunnel request: session create/reload and data.
    Tunnel,
    /// Tunnel `?data` downloads and block uploads (`PUT ?uploadid&blockid`).
    TunnelData,
    /// Tunnel upload commits (`POST ?uploadid`) only.
    TunnelCommit,
    /// Log Service PutLogs (and ListShards).
    Sls,
    /// Log Service GetCursor.
    SlsGetCursor,
    /// Log Service PullLogs.
    SlsPullLogs,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Answer with this status and service-shaped error code instead of serving.
    Error {
        status: u16,
        code: String,
        #[serde(default)]
        message: String,
    },
    /// Close the connection without any reply.
    Close,
    /// Wait, then serve normally.
    Delay { millis: u64 },
    /// Tunnel data: end the record stream after this many (uncompressed) bytes; the HTTP
    /// body ends cleanly, so only the missing footer tells. PullLogs: send only this many
    /// bytes of the (compressed) body, headers unchanged, so only decompression tells.
    TruncateBody { after_bytes: u64 },
    /// Tunnel data: send this many (uncompressed) record-stream bytes, then break the
    /// connection mid-body, as a network failure would. A block upload: read this many bytes
    /// of its body, then close the connection while the client is still sending; nothing is
    /// stored.
    AbortBody { after_bytes: u64 },
    /// Tunnel data: send this many (uncompressed) record-stream bytes, then nothing more,
    /// the connection held open until the client goes away: a body that stalls after its
    /// headers.
    StallBody { after_bytes: u64 },
    /// Tunnel data: invert the (uncompressed) record-stream byte at this offset.
    FlipByte { offset: u64 },
    /// PutLogs, a tunnel block upload or an upload commit: do it (store the logs or the
    /// block, publish the session), then close the connection without replying.
    DropReply,
}

/// The kind of request being served, for rule matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    OdpsRest,
    TunnelSession,
    TunnelData,
    /// A block upload (`PUT ?uploadid&blockid`); `tunnel_data` rules match it too.
    TunnelUpload,
    TunnelCommit,
    PutLogs,
    GetCursor,
    PullLogs,
}

impl FaultTarget {
    fn matches(self, kind: RequestKind) -> bool {
        match self {
            FaultTarget::Any => true,
            FaultTarget::Odps => kind == RequestKind::OdpsRest,
            FaultTarget::Tunnel => matches!(
                kind,
                RequestKind::TunnelSession
                    | RequestKind::TunnelData
                    | RequestKind::TunnelUpload
                    | RequestKind::TunnelCommit
            ),
            FaultTarget::TunnelData => {
                matches!(kind, RequestKind::TunnelData | RequestKind::TunnelUpload)
            }
            FaultTarget::TunnelCommit => kind == RequestKind::TunnelCommit,
            FaultTarget::Sls => kind == RequestKind::PutLogs,
            FaultTarget::SlsGetCursor => kind == RequestKind::GetCursor,
            FaultTarget::SlsPullLogs => kind == RequestKind::PullLogs,
        }
    }
}

impl FaultAction {
    /// Body faults only make sense for the requests they can act on.
    fn applies_to(&self, kind: RequestKind) -> bool {
        match self {
            FaultAction::TruncateBody { .. } => {
                matches!(kind, RequestKind::TunnelData | RequestKind::PullLogs)
            }
            // An upload's abort is decided as its body arrives ([`FaultInjector::pick_upload_abort`]).
            FaultAction::AbortBody { .. }
            | FaultAction::StallBody { .. }
            | FaultAction::FlipByte { .. } => kind == RequestKind::TunnelData,
            FaultAction::DropReply => matches!(
                kind,
                RequestKind::PutLogs | RequestKind::TunnelUpload | RequestKind::TunnelCommit
            ),
            _ => true,
        }
    }
}

struct ActiveRule {
    rule: FaultRule,
    remaining: Option<u64>,
    random_state: u64,
}

#[derive(Default)]
pub(crate) struct FaultInjector {
    rules: Mutex<Vec<ActiveRule>>,
}

impl FaultInjector {
    pub fn new(rules: Vec<FaultRule>) -> Self {
        let injector = FaultInjector::default();
        injector.replace(rules);
        injector
    }

    pub fn replace(&self, rules: Vec<FaultRule>) {
        let active = rules
            .into_iter()
            .map(|rule| ActiveRule {
                remaining: rule.count,
                random_state: rule.seed,
                rule,
            })
            .collect();
        *self.rules.lock().unwrap_or_else(|e| e.into_inner()) = active;
    }

    /// The rules still active, with `count` showing what is left of each.
    pub fn current(&self) -> Vec<FaultRule> {
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|active| FaultRule {
                count: active.remaining,
                ..active.rule.clone()
            })
            .collect()
    }

    /// The fault to inflict on this request, if any; consumes one use of the rule.
    pub fn pick(&self, kind: RequestKind, path: &str) -> Option<FaultAction> {
        self.pick_where(kind, path, |action| action.applies_to(kind))
    }

    /// For a block upload whose body has not been read yet: the bytes to read before breaking
    /// the connection, when an `abort_body` rule fires. Other rules are left to [`Self::pick`].
    pub fn pick_upload_abort(&self, path: &str) -> Option<u64> {
        let is_abort = |action: &FaultAction| matches!(action, FaultAction::AbortBody { .. });
        match self.pick_where(RequestKind::TunnelUpload, path, is_abort)? {
            FaultAction::AbortBody { after_bytes } => Some(after_bytes),
            _ => None,
        }
    }

    fn pick_where(
        &self,
        kind: RequestKind,
        path: &str,
        applies: impl Fn(&FaultAction) -> bool,
    ) -> Option<FaultAction> {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let mut fired = None;
        for (index, active) in rules.iter_mut().enumerate() {
            let rule = &active.rule;
            if !rule.target.matches(kind)
                || !applies(&rule.action)
                || active.remaining == Some(0)
                || rule
                    .path_contains
                    .as_ref()
                    .is_some_and(|needle| !path.contains(needle.as_str()))
            {
                continue;
            }
            if let Some(probability) = rule.probability {
                active.random_state = splitmix64(active.random_state);
                let draw = (active.random_state >> 11) as f64 / (1u64 << 53) as f64;
                if draw >= probability {
                    continue;
                }
            }
            if let Some(remaining) = active.remaining.as_mut() {
                *remaining -= 1;
            }
            fired = Some((index, rule.action.clone()));
            break;
        }
        let (index, action) = fired?;
        if rules[index].remaining == Some(0) {
            rules.remove(index);
        }
        Some(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(target: FaultTarget, action: FaultAction) -> FaultRule {
        FaultRule {
            target,
            path_contains: None,
            action,
            count: Some(1),
            probability: None,
            seed: 0,
        }
    }

    #[test]
    fn an_upload_abort_fires_as_the_body_arrives_and_only_then() {
        let abort = FaultAction::AbortBody { after_bytes: 10 };
        let faults = FaultInjector::new(vec![rule(FaultTarget::TunnelData, abort.clone())]);
        // The handler's pick of an upload leaves it alone; a download's would take it.
        assert_eq!(
            faults.pick(RequestKind::TunnelUpload, "/projects/p/tables/t"),
            None
        );
        assert_eq!(faults.pick_upload_abort("/projects/p/tables/t"), Some(10));
        assert!(faults.current().is_empty(), "used up");

        let faults = FaultInjector::new(vec![rule(FaultTarget::TunnelData, abort.clone())]);
        assert_eq!(
            faults.pick(RequestKind::TunnelData, "/projects/p/tables/t"),
            Some(abort)
        );
    }

    #[test]
    fn a_stalled_body_is_for_downloads_only() {
        let stall = FaultAction::StallBody { after_bytes: 10 };
        let faults = FaultInjector::new(vec![rule(FaultTarget::Any, stall.clone())]);
        for kind in [
            RequestKind::TunnelSession,
            RequestKind::TunnelUpload,
            RequestKind::TunnelCommit,
            RequestKind::PullLogs,
        ] {
            assert_eq!(faults.pick(kind, "/p"), None, "{kind:?}");
        }
        assert_eq!(faults.pick_upload_abort("/p"), None);
        assert_eq!(faults.pick(RequestKind::TunnelData, "/p"), Some(stall));
        let parsed: FaultRule = serde_json::from_str(
            r#"{"target": "tunnel_data", "action": {"type": "stall_body", "after_bytes": 5}}"#,
        )
        .unwrap();
        assert_eq!(parsed.action, FaultAction::StallBody { after_bytes: 5 });
    }

    #[test]
    fn drop_reply_reaches_uploads_and_commits_not_sessions() {
        let drop = || rule(FaultTarget::Tunnel, FaultAction::DropReply);
        let faults = FaultInjector::new(vec![drop()]);
        assert_eq!(faults.pick(RequestKind::TunnelSession, "/p"), None);
        assert_eq!(faults.pick(RequestKind::TunnelData, "/p"), None);
        assert_eq!(
            faults.pick(RequestKind::TunnelCommit, "/p"),
            Some(FaultAction::DropReply)
        );
        let commit_only = rule(FaultTarget::TunnelCommit, FaultAction::DropReply);
        let faults = FaultInjector::new(vec![commit_only]);
        assert_eq!(faults.pick(RequestKind::TunnelUpload, "/p"), None);
        assert_eq!(
            faults.pick(RequestKind::TunnelCommit, "/p"),
            Some(FaultAction::DropReply)
        );
    }
}
