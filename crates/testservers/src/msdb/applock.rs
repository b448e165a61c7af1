//! `sp_getapplock` / `sp_releaseapplock` with `@LockOwner = 'Session'`: exclusive
//! application locks held by a session until it releases them or disconnects, as SQL
//! Server keeps them. What this fixture does not do (waiting for a lock, transaction
//! owners, modes other than Exclusive) is refused with an error that says so, never
//! granted silently.
//!
//! Return codes as documented for SQL Server: 0 granted at once, -1 not granted within
//! `@LockTimeout` (here: a timeout of 0, answered at once), -999 a parameter or call
//! error; `sp_releaseapplock` 0, or -999 with error 1223 when the lock is not held.

use super::model::{Arg, ProcOutcome};
use super::value::{SqlError, Value};
use std::collections::HashMap;
use std::sync::Mutex;

/// The locks of one server: resource name (compared as given, as SQL Server compares
/// application lock resources in binary) to its owning session and how many times that
/// session holds it.
#[derive(Default)]
pub struct AppLocks {
    held: Mutex<HashMap<String, (u16, u32)>>,
}

/// Whether a procedure name (any database or schema) is one of these two.
pub fn is_applock_proc(name: &str) -> bool {
    name.eq_ignore_ascii_case("sp_getapplock") || name.eq_ignore_ascii_case("sp_releaseapplock")
}

fn arg<'a>(args: &'a [Arg], name: &str, position: usize) -> Option<&'a Value> {
    args.iter()
        .find(|a| {
            a.name
                .as_deref()
                .is_some_and(|n| n.trim_start_matches('@').eq_ignore_ascii_case(name))
        })
        .or_else(|| args.get(position).filter(|a| a.name.is_none()))
        .map(|a| &a.value)
}

fn text(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

fn outcome(status: i32, error: Option<SqlError>) -> ProcOutcome {
    ProcOutcome {
        return_status: status,
        error,
        ran: true,
        ..Default::default()
    }
}

fn unsupported(what: &str) -> ProcOutcome {
    outcome(
        -999,
        Some(SqlError::new(
            50000,
            16,
            1,
            format!("msdb-testserver supports application locks with {what} only"),
        )),
    )
}

impl AppLocks {
    /// Runs `sp_getapplock` or `sp_releaseapplock` for session `spid`.
    pub fn call(&self, spid: u16, proc: &str, args: &[Arg]) -> ProcOutcome {
        let Some(resource) = text(arg(args, "Resource", 0)).filter(|r| !r.is_empty()) else {
            return outcome(
                -999,
                Some(SqlError::new(
                    8145,
                    16,
                    1,
                    "@Resource is not a parameter for procedure sp_getapplock, or it is empty.",
                )),
            );
        };
        if resource.chars().count() > 255 {
            return outcome(
                -999,
                Some(SqlError::new(
                    8152,
                    16,
                    1,
                    "String or binary data would be truncated (@Resource is at most 255 characters).",
                )),
            );
        }
        let getting = proc.eq_ignore_ascii_case("sp_getapplock");
        let owner_pos = if getting { 2 } else { 1 };
        let owner = text(arg(args, "LockOwner", owner_pos)).unwrap_or_else(|| "Transaction".into());
        if !owner.eq_ignore_ascii_case("Session") {
            return unsupported("@LockOwner = 'Session'");
        }
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if getting {
            let mode = text(arg(args, "LockMode", 1)).unwrap_or_default();
            if !mode.eq_ignore_ascii_case("Exclusive") {
                return unsupported("@LockMode = 'Exclusive'");
            }
            let timeout = match arg(args, "LockTimeout", 3) {
                Some(Value::Int(n)) => *n,
                _ => return unsupported("@LockTimeout = 0"),
            };
            if timeout != 0 {
                return unsupported("@LockTimeout = 0");
            }
            match held.get_mut(&resource) {
                Some((owner, count)) if *owner == spid => {
                    *count += 1;
                    outcome(0, None)
                }
                Some(_) => outcome(-1, None),
                None => {
                    held.insert(resource, (spid, 1));
                    outcome(0, None)
                }
            }
        } else {
            match held.get_mut(&resource) {
                Some((owner, count)) if *owner == spid => {
                    *count -= 1;
                    if *count == 0 {
                        held.remove(&resource);
                    }
                    outcome(0, None)
                }
                _ => outcome(
                    -999,
                    Some(SqlError::new(
                        1223,
                        16,
                        1,
                        format!("Cannot release the application lock (Database Principal: 'public', Resource: '{resource}') because it is not currently held."),
                    )),
                ),
            }
        }
    }

    /// A session ended: its session-owned locks go with it.
    pub fn release_all(&self, spid: u16) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, (owner, _)| *owner != spid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(resource: &str, extra: &[(&str, Value)]) -> Vec<Arg> {
        let mut a = vec![Arg::named("@Resource", Value::Str(resource.into()))];
        for (n, v) in extra {
            a.push(Arg::named(n, v.clone()));
        }
        a
    }

    fn get(locks: &AppLocks, spid: u16, r: &str) -> i32 {
        locks
            .call(
                spid,
                "sp_getapplock",
                &args(
                    r,
                    &[
                        ("@LockMode", Value::Str("Exclusive".into())),
                        ("@LockOwner", Value::Str("Session".into())),
                        ("@LockTimeout", Value::Int(0)),
                    ],
                ),
            )
            .return_status
    }

    fn release(locks: &AppLocks, spid: u16, r: &str) -> ProcOutcome {
        locks.call(
            spid,
            "sp_releaseapplock",
            &args(r, &[("@LockOwner", Value::Str("Session".into()))]),
        )
    }

    #[test]
    fn one_session_holds_a_resource_until_it_releases_or_leaves() {
        let locks = AppLocks::default();
        assert_eq!(get(&locks, 51, "a"), 0);
        assert_eq!(get(&locks, 52, "a"), -1);
        assert_eq!(get(&locks, 52, "A"), 0, "resource names compare in binary");
        assert_eq!(get(&locks, 51, "a"), 0, "a holder may take it again");
        let o = release(&locks, 52, "a");
        assert_eq!(o.return_status, -999);
        assert_eq!(o.error.unwrap().number, 1223);
        assert_eq!(release(&locks, 51, "a").return_status, 0);
        assert_eq!(get(&locks, 52, "a"), -1, "held twice, released once");
        assert_eq!(release(&locks, 51, "a").return_status, 0);
        assert_eq!(get(&locks, 52, "a"), 0);
        locks.release_all(52);
        assert_eq!(get(&locks, 51, "a"), 0);
    }

    #[test]
    fn what_is_not_implemented_is_refused() {
        let locks = AppLocks::default();
        let o = locks.call(
            51,
            "sp_getapplock",
            &args("a", &[("@LockMode", Value::Str("Exclusive".into()))]),
        );
        assert_eq!(o.return_status, -999);
        assert!(o.error.unwrap().message.contains("Session"));
        let o = locks.call(
            51,
            "sp_getapplock",
            &args(
                "a",
                &[
                    ("@LockMode", Value::Str("Exclusive".into())),
                    ("@LockOwner", Value::Str("Session".into())),
                    ("@LockTimeout", Value::Int(5000)),
                ],
            ),
        );
        assert!(o.error.unwrap().message.contains("@LockTimeout = 0"));
    }
}
