//! The status socket: a Unix stream socket (default [`DEFAULT_SOCKET`], mode 0600) where a
//! client writes one request line (`status`) and reads one JSON line back: a [`Status`], or
//! `{"error": "..."}`. Peers are checked with SO_PEERCRED and only root is answered, so the mode
//! is not the only guard (a socket made reachable by a wrong directory mode still refuses).

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tracing::{debug, warn};

use super::snapshot::Status;
use super::{StatusError, StatusHandle};

/// Where `vrrpd run` listens and `vrrpd status` connects by default.
pub const DEFAULT_SOCKET: &str = "/run/vrrpd/vrrpd.sock";

/// The only request so far.
pub const REQUEST_STATUS: &str = "status";

/// A bound status socket; removes its file on drop unless another daemon replaced it since.
pub struct StatusSocket {
    listener: Option<UnixListener>,
    path: PathBuf,
    inode: u64,
}

impl StatusSocket {
    /// Binds `path` with mode 0600 (set before `listen`, so nobody can connect in between). A
    /// stale file from a daemon that died is replaced; a live daemon's socket is not.
    pub fn bind(path: &Path) -> Result<StatusSocket, StatusError> {
        let err = |source| StatusError::Socket {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        if path.exists() {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(StatusError::InUse(path.to_path_buf()));
            }
            std::fs::remove_file(path).map_err(err)?;
        }
        let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)
            .map_err(err)?;
        socket
            .bind(&socket2::SockAddr::unix(path).map_err(err)?)
            .map_err(err)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
        socket.listen(16).map_err(err)?;
        socket.set_nonblocking(true).map_err(err)?;
        socket.set_cloexec(true).map_err(err)?;
        let std_listener: std::os::unix::net::UnixListener = socket.into();
        let listener = UnixListener::from_std(std_listener).map_err(err)?;
        let inode = std::fs::metadata(path).map_err(err)?.ino();
        Ok(StatusSocket {
            listener: Some(listener),
            path: path.to_path_buf(),
            inode,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the listener to serve it; the socket file stays owned by `self`.
    pub fn take_listener(&mut self) -> Option<UnixListener> {
        self.listener.take()
    }
}

impl Drop for StatusSocket {
    fn drop(&mut self) {
        if std::fs::metadata(&self.path).is_ok_and(|m| m.ino() == self.inode) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Answers connections on `listener` until the task is dropped.
pub async fn serve(listener: UnixListener, status: StatusHandle) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                warn!("status socket: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let status = status.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, &status).await {
                debug!("status socket: {e}");
            }
        });
    }
}

async fn answer(stream: UnixStream, status: &StatusHandle) -> std::io::Result<()> {
    let uid = stream.peer_cred()?.uid();
    let (read, mut write) = stream.into_split();
    if uid != 0 {
        warn!("status socket: refused a client running as uid {uid} (only root is answered)");
        return send_error(
            &mut write,
            &format!("permission denied: uid {uid} is not root"),
        )
        .await;
    }
    let mut request = String::new();
    let mut reader = BufReader::new(read).take(256);
    tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut request))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    match request.trim() {
        REQUEST_STATUS => match status.get().await {
            Some(s) => {
                let mut json = serde_json::to_vec(&s).map_err(std::io::Error::other)?;
                json.push(b'\n');
                write.write_all(&json).await?;
                write.shutdown().await
            }
            None => send_error(&mut write, "vrrpd is stopping").await,
        },
        other => send_error(&mut write, &format!("unknown request {other:?}")).await,
    }
}

async fn send_error(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    message: &str,
) -> std::io::Result<()> {
    let mut line = serde_json::json!({ "error": message }).to_string();
    line.push('\n');
    write.write_all(line.as_bytes()).await?;
    write.shutdown().await
}

use tokio::io::AsyncReadExt as _;

/// `vrrpd status`: asks the daemon at `path` and returns the raw JSON and its decoding.
pub fn query(path: &Path) -> Result<(serde_json::Value, Status), StatusError> {
    use std::io::{Read as _, Write as _};
    let err = |source| StatusError::Socket {
        path: path.to_path_buf(),
        source,
    };
    let mut stream = std::os::unix::net::UnixStream::connect(path).map_err(err)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(err)?;
    stream
        .write_all(format!("{REQUEST_STATUS}\n").as_bytes())
        .map_err(err)?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).map_err(err)?;
    let value: serde_json::Value =
        serde_json::from_str(&reply).map_err(|e| StatusError::Reply(e.to_string()))?;
    if let Some(message) = value.get("error").and_then(|m| m.as_str()) {
        return Err(StatusError::Refused(message.to_string()));
    }
    let status: Status =
        serde_json::from_value(value.clone()).map_err(|e| StatusError::Reply(e.to_string()))?;
    if status.schema != super::SCHEMA_VERSION {
        return Err(StatusError::Schema(status.schema));
    }
    Ok((value, status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_live_socket_is_refused_and_a_stale_one_replaced() {
        let dir = crate::testutil::TempDir::new("status-socket");
        let path = dir.path().join("vrrpd.sock");
        // Left by a daemon that died: the file exists, nobody listens.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let live = StatusSocket::bind(&path).expect("a stale socket file is replaced");
        match StatusSocket::bind(&path) {
            Err(StatusError::InUse(p)) => assert_eq!(p, path),
            Err(e) => panic!("wrong refusal: {e}"),
            Ok(_) => panic!("bound over a live daemon's socket"),
        }
        // The refusal left the live daemon's socket in place and answering.
        assert!(std::os::unix::net::UnixStream::connect(&path).is_ok());
        drop(live);
        assert!(!path.exists());
    }
}
