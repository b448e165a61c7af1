//! Azure Files REST test server (issue 4).
