//! Helpers shared by the tests that run the real `aunsorm` binary.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `aunsorm args` with `stdin`, the store `store` (if any), the variables `env` set
/// and those in `remove` unset. A panic (exit 101) fails the test.
pub(crate) fn aunsorm(
    store: Option<&Path>,
    env: &[(&str, &str)],
    remove: &[&str],
    args: &[&str],
    stdin: &[u8],
) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aunsorm"));
    c.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(s) = store {
        c.env("AUNSORM_STORE", s);
    }
    for k in remove {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let mut c = c.spawn().unwrap();
    c.stdin.take().unwrap().write_all(stdin).unwrap();
    no_panic(c.wait_with_output().unwrap())
}

/// `out`, after checking the process did not panic (exit 101).
pub(crate) fn no_panic(out: Output) -> Output {
    assert_ne!(
        out.status.code(),
        Some(101),
        "panic: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Sends SIGTERM to a server and waits (bounded) for a clean exit.
pub(crate) fn stop(mut child: Child) {
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            return;
        }
        assert!(Instant::now() < deadline, "server did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}
