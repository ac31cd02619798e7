//! End-to-end: the status socket answers root only. A forked child drops to uid 65534 and
//! connects: with only the socket's mode 0600 in the way it gets EACCES; given back
//! CAP_DAC_OVERRIDE (so the mode no longer stops it) it reaches the daemon, whose SO_PEERCRED
//! check refuses it. Root, meanwhile, is answered. Also `vrrpd --signum`, which exporters run.

use std::ffi::CString;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use vrrpd_tests::scenario::vrrp_lab;
use vrrpd_tests::seed::{CheckScript, Seed};
use vrrpd_tests::{Router, State, TempDir, vrrpd_bin};

const NOBODY: libc::uid_t = 65534;
const CAP_DAC_OVERRIDE: u32 = 1;

/// Exit codes of the child.
const REFUSED_BY_MODE: i32 = 10;
const REFUSED_BY_DAEMON: i32 = 11;
const ANSWERED: i32 = 12;

/// Forks a child that becomes uid/gid 65534 (keeping CAP_DAC_OVERRIDE if `keep_dac`), asks the
/// socket for a status and exits with what happened.
fn connect_as_nobody(socket: &Path, keep_dac: bool) -> i32 {
    // Everything the child needs is prepared before fork: after it, only system calls.
    let path = CString::new(socket.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: sockaddr_un is plain data; all-zero is valid.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_bytes_with_nul();
    assert!(bytes.len() <= addr.sun_path.len());
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    // SAFETY: the child only makes async-signal-safe system calls on data prepared above, then
    // _exit()s; the parent waits for it.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: see above.
        unsafe { child(&addr, keep_dac) }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child status {status:#x}");
    libc::WEXITSTATUS(status)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The forked child. Exit 90+ means the setup itself failed.
unsafe fn child(addr: &libc::sockaddr_un, keep_dac: bool) -> ! {
    unsafe {
        if keep_dac && libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 {
            libc::_exit(90);
        }
        if libc::setgroups(0, std::ptr::null()) != 0
            || libc::setgid(NOBODY) != 0
            || libc::setuid(NOBODY) != 0
        {
            libc::_exit(91);
        }
        if keep_dac {
            let mut header = CapHeader {
                version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
                pid: 0,
            };
            let dac = 1 << CAP_DAC_OVERRIDE;
            let data = [
                CapData {
                    effective: dac,
                    permitted: dac,
                    inheritable: 0,
                },
                CapData {
                    effective: 0,
                    permitted: 0,
                    inheritable: 0,
                },
            ];
            if libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) != 0 {
                libc::_exit(92);
            }
        }
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
        if fd < 0 {
            libc::_exit(93);
        }
        let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        if libc::connect(fd, (addr as *const libc::sockaddr_un).cast(), len) != 0 {
            libc::_exit(if *libc::__errno_location() == libc::EACCES {
                REFUSED_BY_MODE
            } else {
                94
            });
        }
        let request = b"status\n";
        libc::write(fd, request.as_ptr().cast(), request.len());
        let mut buf = [0u8; 512];
        let mut got = 0usize;
        loop {
            let n = libc::read(fd, buf.as_mut_ptr().add(got).cast(), buf.len() - got);
            if n <= 0 {
                break;
            }
            got += n as usize;
            if got == buf.len() {
                break;
            }
        }
        let reply = &buf[..got];
        let refused = reply.starts_with(b"{\"error\"") && contains(reply, b"not root");
        libc::_exit(if refused {
            REFUSED_BY_DAEMON
        } else if reply.starts_with(b"{") {
            ANSWERED
        } else {
            95
        });
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn status_socket_refuses_non_root_peers() {
    let subnet = 42;
    let lab = vrrp_lab("ops-sock", 1, subnet);
    let check = CheckScript::new();
    let dir = TempDir::new("ops-sock");
    // Traversable by anyone, so that only the socket's own mode stands in the way.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("vrrpd.sock");
    let pid = dir.path().join("vrrpd.pid");
    let t0 = Instant::now();
    let router = Router::start_vrrpd_args(
        lab.router(0),
        &Seed::MasterBackupMaster.adapted(subnet, check.path()),
        &[
            "--status-socket",
            &socket.to_string_lossy(),
            "--pid",
            &pid.to_string_lossy(),
        ],
    );
    router.wait_state("VI_1", State::Master, t0);

    let meta = std::fs::metadata(&socket).expect("status socket exists");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    assert_eq!(
        connect_as_nobody(&socket, false),
        REFUSED_BY_MODE,
        "uid 65534 must not get through mode 0600\n{}",
        router.transcript()
    );
    assert_eq!(
        connect_as_nobody(&socket, true),
        REFUSED_BY_DAEMON,
        "uid 65534 with CAP_DAC_OVERRIDE must be refused by SO_PEERCRED\n{}",
        router.transcript()
    );
    router.wait_log("refused a client running as uid 65534");

    // Root is answered.
    let out = Command::new(vrrpd_bin())
        .args(["status", "--json", "--socket"])
        .arg(&socket)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"MASTER\""));
}

#[test]
fn signum_prints_keepalived_signal_numbers() {
    for (name, want) in [
        ("STOP", "15"),
        ("RELOAD", "1"),
        ("DATA", "10"),
        ("STATS", "12"),
        ("STATS_CLEAR", "63"),
    ] {
        let out = Command::new(vrrpd_bin())
            .arg(format!("--signum={name}"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want, "{name}");
    }
    let out = Command::new(vrrpd_bin())
        .arg("--signum=BOGUS")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unknown sigfunc BOGUS"));
}
