//! msdb TDS test server (issue 3).
