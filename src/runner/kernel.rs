//! The running kernel's identity (I/O shell): release, `CONFIG_HZ` and the CFS bandwidth
//! slice. One place reads them, for `run` (recorded in every measurement) and `simulate`
//! (the `--hz` default).

/// What the running kernel says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelInfo {
    /// `uname -r`.
    pub release: String,
    /// `CONFIG_HZ` from `/boot/config-<release>`, when that file is readable.
    pub hz: Option<u32>,
    /// The kernel configuration file consulted for `hz`.
    pub config_path: String,
    /// `kernel.sched_cfs_bandwidth_slice_us`.
    pub slice_us: Option<u64>,
}

/// `CONFIG_HZ=N` from kernel config text (`/boot/config-<release>`).
pub fn parse_config_hz(text: &str) -> Option<u32> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("CONFIG_HZ="))
        .and_then(|v| v.trim().parse().ok())
}

/// Reads the running kernel's release, `CONFIG_HZ` and bandwidth slice; missing files give
/// `None`, never an error.
pub fn detect() -> KernelInfo {
    let release = rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned();
    let config_path = format!("/boot/config-{release}");
    let hz = std::fs::read_to_string(&config_path)
        .ok()
        .as_deref()
        .and_then(parse_config_hz);
    let slice_us = std::fs::read_to_string("/proc/sys/kernel/sched_cfs_bandwidth_slice_us")
        .ok()
        .and_then(|t| t.trim().parse().ok());
    KernelInfo {
        release,
        hz,
        config_path,
        slice_us,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_hz() {
        assert_eq!(
            parse_config_hz("# CONFIG_HZ_100 is not set\nCONFIG_HZ_250=y\nCONFIG_HZ=250\n"),
            Some(250)
        );
        assert_eq!(parse_config_hz("  CONFIG_HZ=1000  \n"), Some(1000));
        assert_eq!(parse_config_hz("CONFIG_HZ_1000=y\n"), None);
    }

    #[test]
    fn detect_never_fails() {
        let k = detect();
        assert!(!k.release.is_empty());
        assert!(k.config_path.ends_with(&k.release));
    }
}
