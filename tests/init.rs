//! The mini-init as a process-wide reaper: children started while it is active must be run
//! through it. Its own test binary, because an active `Init` reaps every child of the process
//! (other tests' `Command::output` would lose their children's exits).

#![allow(clippy::print_stderr)]

use kcpu::runner::init::{Exit, Init};
use kcpu::runner::oci::Rootfs;
use std::process::Command;
use std::time::Duration;

/// While the reaper thread runs (and other children keep exiting, so SIGCHLD keeps coming),
/// every `Init::output` still gets its child's exit and whole stdout. `Command::output` in the
/// same situation fails with ECHILD whenever the reaper wins the race; that is how
/// `run --oci` once built a rootfs without its loader.
#[test]
fn output_under_an_active_init_always_gets_its_exit() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let init = Init::start().expect("init");
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..100 {
                let mut c = Command::new("true");
                if let Ok(ch) = init.spawn(&mut c) {
                    let _ = ch.id();
                }
            }
        });
        for i in 0..100 {
            let mut c = Command::new("sh");
            c.args(["-c", &format!("echo line-{i}; exit {}", i % 3)]);
            let (exit, out) = init
                .output(&mut c, 1 << 10, Duration::from_secs(20))
                .expect("output");
            assert_eq!(exit, Exit::Code(i % 3), "run {i}");
            assert_eq!(String::from_utf8_lossy(&out), format!("line-{i}\n"));
        }
    });
    // Output beyond the limit is dropped, and the child is not blocked by it.
    let mut c = Command::new("sh");
    c.args(["-c", "head -c 100000 /dev/zero; exit 0"]);
    let (exit, out) = init
        .output(&mut c, 10, Duration::from_secs(20))
        .expect("output");
    assert_eq!((exit, out.len()), (Exit::Code(0), 10));
}

/// `Rootfs::under` an active init holds the dynamic kcpu binary's loader and libraries.
#[test]
fn rootfs_under_an_active_init_has_the_loader() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_kcpu"));
    let Ok(ldd) = Command::new("ldd").arg(&exe).output() else {
        eprintln!("skipped: ldd is not installed");
        return;
    };
    let listed = String::from_utf8_lossy(&ldd.stdout).into_owned();
    let init = Init::start().expect("init");
    for _ in 0..20 {
        let r = Rootfs::under(&init, &exe).expect("rootfs");
        for lib in listed.split_whitespace().filter(|w| w.starts_with('/')) {
            let inside = r.path().join(lib.trim_start_matches('/'));
            assert!(
                inside.exists(),
                "{} missing from the rootfs",
                inside.display()
            );
        }
        assert!(r.path().join("kcpu").exists());
    }
}

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
