//! Process-wide protections set up at start-up (`app`): no core dumps (they would carry
//! the SQL password and package passwords from the heap), no death by SIGXFSZ in the
//! middle of a write, and literal passwords wiped
//! from the process's own argv once parsed (`/proc/PID/cmdline`, `ps`).
//!
//! What can and cannot be done about argv: the kernel serves `/proc/PID/cmdline` from
//! the process's own memory (the strings the C runtime was started with), so
//! overwriting those bytes in place hides them from `ps` from then on. It cannot hide
//! them before `main` runs (a window of milliseconds), nor from shell history, audit
//! logs (`execve` auditing) or a process listing taken in that window: `env:NAME` and
//! `file:PATH` stay the way to keep a password off the command line. The original argv
//! is reachable only where the C runtime hands it to `.init_array` functions (glibc on
//! Linux); elsewhere (musl, macOS, Windows) nothing is overwritten.

/// Turns core dumps off for this process: a crash must not write its memory to disk.
pub fn disable_core_dumps() {
    #[cfg(unix)]
    {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: plain system calls with a valid, initialised argument.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, &zero);
        }
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: PR_SET_DUMPABLE takes one integer argument. Not dumpable also keeps other
    // processes of the same user from ptrace-attaching and reading /proc/PID/mem.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Ignores SIGXFSZ (a `ulimit -f` reached): by default it kills the process mid-write
/// with no message and leaves the temporary file behind; ignored, the write fails with
/// EFBIG and takes the path a full disk takes (exit 1, the message, the temporary file
/// removed, the destination as it was).
pub fn ignore_file_size_signal() {
    #[cfg(unix)]
    // SAFETY: setting a standard signal's disposition to SIG_IGN; no handler runs.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Overwrites every occurrence of each secret in the process's original argv with `*`.
/// Returns how many argv bytes were overwritten (0 where argv cannot be reached).
pub fn wipe_from_argv(secrets: &[&str]) -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        original_argv::wipe(secrets)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = secrets;
        0
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod original_argv {
    use std::ffi::{c_char, c_int, CStr};
    use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

    static ARGC: AtomicUsize = AtomicUsize::new(0);
    static ARGV: AtomicPtr<*mut c_char> = AtomicPtr::new(std::ptr::null_mut());

    /// glibc calls `.init_array` functions with (argc, argv, envp), as the standard
    /// library relies on for `std::env::args` itself.
    #[used]
    #[link_section = ".init_array.00099"]
    static CAPTURE: extern "C" fn(c_int, *mut *mut c_char, *mut *mut c_char) = capture;

    extern "C" fn capture(argc: c_int, argv: *mut *mut c_char, _env: *mut *mut c_char) {
        ARGC.store(argc.max(0) as usize, Ordering::Relaxed);
        ARGV.store(argv, Ordering::Relaxed);
    }

    pub fn wipe(secrets: &[&str]) -> usize {
        let argv = ARGV.load(Ordering::Relaxed);
        let argc = ARGC.load(Ordering::Relaxed);
        if argv.is_null() {
            return 0;
        }
        let mut wiped = 0;
        // The program name (argv[0]) holds no password.
        for i in 1..argc {
            // SAFETY: argv has argc entries, each a NUL-terminated string owned by the
            // process for its lifetime; only bytes before the NUL are written, so each
            // string keeps its length. std copied the arguments before this runs.
            unsafe {
                let arg = *argv.add(i);
                if arg.is_null() {
                    continue;
                }
                let len = CStr::from_ptr(arg).to_bytes().len();
                let bytes = std::slice::from_raw_parts_mut(arg.cast::<u8>(), len);
                for secret in secrets.iter().map(|s| s.as_bytes()) {
                    wiped += overwrite_all(bytes, secret);
                }
            }
        }
        wiped
    }

    fn overwrite_all(haystack: &mut [u8], needle: &[u8]) -> usize {
        if needle.is_empty() || needle.len() > haystack.len() {
            return 0;
        }
        let starts: Vec<usize> = memchr::memmem::find_iter(haystack, needle).collect();
        let mut wiped = 0;
        for start in starts {
            for b in &mut haystack[start..start + needle.len()] {
                if *b != b'*' {
                    *b = b'*';
                    wiped += 1;
                }
            }
        }
        wiped
    }
}
