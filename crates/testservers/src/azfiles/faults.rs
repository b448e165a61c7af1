//! Fault injection: rules that make matching requests fail with an error status, wait,
//! or lose their connection. Rules come from `--fault JSON` flags or `POST /_control/faults`.
//!
//! A rule counts the requests that match its filters (`method`, `op`, `path`), from the
//! moment it is added. It fires on match number `nth` (1-based, default 1) and the
//! `times - 1` matches after it (default `times` 1), or on every match from `nth` on when
//! `always` is true ("a failure that outlasts the retries").

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Answer with `status` (default 503) and error `code` (default ServerBusy).
    #[default]
    Fail,
    /// Close the connection without answering (after reading the request).
    Drop,
    /// Wait `delay_ms`, then serve the request normally.
    Delay,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default)]
    pub action: Action,
    /// HTTP method, e.g. `PUT` (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Operation name, e.g. `PutRange`, `CreateFile`, `GetFile` (see README).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// Substring of the decoded share-relative path, e.g. `pkgs/p.dtsx`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    #[serde(default)]
    pub always: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Matching requests seen so far (reported by `GET /_control/faults`).
    #[serde(default)]
    pub seen: u64,
    /// Times this rule fired.
    #[serde(default)]
    pub fired: u64,
}

/// What the server does with a request after consulting the rules.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    pub delay_ms: u64,
    /// Status and error code to answer with instead of serving.
    pub fail: Option<(u16, String)>,
    pub drop: bool,
}

impl Rule {
    fn matches(&self, method: &str, op: &str, path: &str) -> bool {
        // An omitted filter matches everything.
        self.method.iter().all(|m| m.eq_ignore_ascii_case(method))
            && self.op.iter().all(|o| o.eq_ignore_ascii_case(op))
            && self.path.iter().all(|p| path.contains(p.as_str()))
    }

    /// Counts a matching request; true if the rule fires on it.
    fn hit(&mut self) -> bool {
        self.seen += 1;
        let nth = self.nth.unwrap_or(1).max(1);
        let fires = self.seen >= nth && (self.always || self.seen < nth + self.times.unwrap_or(1));
        if fires {
            self.fired += 1;
        }
        fires
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.action == Action::Delay && self.delay_ms.is_none() {
            return Err("a delay rule needs delay_ms".into());
        }
        if let Some(s) = self.status {
            if !(400..=599).contains(&s) {
                return Err(format!("status {s} is not an error status"));
            }
        }
        Ok(())
    }
}

/// The active rules, in the order they were added.
#[derive(Debug, Default)]
pub struct Faults {
    pub rules: Vec<Rule>,
}

impl Faults {
    /// Consults every rule for one request. Delays add up; the first firing fail or drop
    /// rule decides the answer.
    pub fn check(&mut self, method: &str, op: &str, path: &str) -> Outcome {
        let mut out = Outcome::default();
        for r in self.rules.iter_mut() {
            if !r.matches(method, op, path) || !r.hit() {
                continue;
            }
            match r.action {
                Action::Delay => out.delay_ms += r.delay_ms.unwrap_or(0),
                Action::Fail if out.fail.is_none() && !out.drop => {
                    let status = r.status.unwrap_or(503);
                    let code = r
                        .code
                        .clone()
                        .unwrap_or_else(|| default_code(status).to_string());
                    out.fail = Some((status, code));
                }
                Action::Drop if out.fail.is_none() => out.drop = true,
                _ => {}
            }
        }
        out
    }
}

pub fn default_code(status: u16) -> &'static str {
    match status {
        503 => "ServerBusy",
        500 => "InternalError",
        408 | 504 => "OperationTimedOut",
        429 => "ServerBusy",
        _ => "InternalError",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: &str) -> Rule {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn nth_matching_request_fails_once() {
        let mut f = Faults {
            rules: vec![rule(r#"{"op":"PutRange","nth":2}"#)],
        };
        assert_eq!(f.check("PUT", "PutRange", "d/f"), Outcome::default());
        assert_eq!(f.check("GET", "GetFile", "d/f"), Outcome::default());
        assert_eq!(
            f.check("PUT", "PutRange", "d/f").fail,
            Some((503, "ServerBusy".to_string()))
        );
        assert_eq!(f.check("PUT", "PutRange", "d/f"), Outcome::default());
        assert_eq!((f.rules[0].seen, f.rules[0].fired), (3, 1));
    }

    #[test]
    fn always_and_times_and_filters() {
        let mut f = Faults {
            rules: vec![
                rule(r#"{"action":"fail","status":500,"path":"pkgs/","always":true,"nth":2}"#),
                rule(r#"{"action":"delay","delay_ms":5,"method":"get","times":2}"#),
                rule(r#"{"action":"drop","op":"DeleteFile"}"#),
            ],
        };
        assert_eq!(f.check("PUT", "CreateFile", "pkgs/a"), Outcome::default());
        for _ in 0..5 {
            assert_eq!(
                f.check("PUT", "PutRange", "pkgs/a").fail,
                Some((500, "InternalError".into()))
            );
        }
        assert_eq!(f.check("GET", "GetFile", "x").delay_ms, 5);
        assert_eq!(f.check("GET", "GetFile", "x").delay_ms, 5);
        assert_eq!(f.check("GET", "GetFile", "x").delay_ms, 0);
        assert!(f.check("DELETE", "DeleteFile", "x").drop);
        assert!(!f.check("DELETE", "DeleteFile", "x").drop);
    }

    #[test]
    fn validation() {
        assert!(rule(r#"{"action":"delay"}"#).validate().is_err());
        assert!(rule(r#"{"status":200}"#).validate().is_err());
        assert!(serde_json::from_str::<Rule>(r#"{"bogus":1}"#).is_err());
    }
}
