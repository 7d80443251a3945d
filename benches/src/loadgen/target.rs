//! The load generator's target: a loopback Socket.IO server, and nothing else.

use std::net::{IpAddr, SocketAddr};

/// Why a target URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The URL is not `ws://HOST:PORT[/path]`.
    #[error("target `{0}` is not a ws:// url; use e.g. ws://127.0.0.1:3000")]
    NotWebSocket(String),
    /// The host is not an IP literal on the loopback interface.
    #[error("target host `{0}` is not a loopback address; the load generator only targets 127.0.0.0/8, ::1 or localhost")]
    NotLoopback(String),
    /// The port is missing or not a number.
    #[error("target `{0}` has no valid port; use e.g. ws://127.0.0.1:3000")]
    NoPort(String),
}

/// A validated loopback target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Where to open TCP connections.
    pub addr: SocketAddr,
    /// The WebSocket URL of the Engine.IO endpoint, with its query.
    pub ws_url: String,
}

impl Target {
    /// Parses `ws://HOST:PORT[/path]`; the path defaults to `/socket.io/`.
    ///
    /// # Errors
    ///
    /// [`TargetError`] for anything but a `ws://` URL whose host is a loopback
    /// address (`127.0.0.0/8`, `::1`, `localhost`) with a port.
    ///
    /// # Examples
    ///
    /// ```
    /// use benches::loadgen::target::Target;
    /// let t = Target::parse("ws://127.0.0.1:3000").unwrap();
    /// assert_eq!(t.ws_url, "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket");
    /// assert!(Target::parse("ws://10.0.0.1:3000").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<Self, TargetError> {
        let rest = url
            .strip_prefix("ws://")
            .ok_or_else(|| TargetError::NotWebSocket(url.to_owned()))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6
                .find(']')
                .ok_or_else(|| TargetError::NotWebSocket(url.to_owned()))?;
            let port = v6[end + 1..]
                .strip_prefix(':')
                .ok_or_else(|| TargetError::NoPort(url.to_owned()))?;
            (&v6[..end], port)
        } else {
            authority
                .rsplit_once(':')
                .ok_or_else(|| TargetError::NoPort(url.to_owned()))?
        };
        let port: u16 = port
            .parse()
            .map_err(|_| TargetError::NoPort(url.to_owned()))?;
        let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
            IpAddr::from([127, 0, 0, 1])
        } else {
            host.parse()
                .map_err(|_| TargetError::NotLoopback(host.to_owned()))?
        };
        if !ip.is_loopback() {
            return Err(TargetError::NotLoopback(host.to_owned()));
        }
        let path = match path {
            "" | "/" => "/socket.io/",
            p => p,
        };
        let path = if path.ends_with('/') {
            path.to_owned()
        } else {
            format!("{path}/")
        };
        let addr = SocketAddr::new(ip, port);
        let host = match ip {
            IpAddr::V4(_) => ip.to_string(),
            IpAddr::V6(_) => format!("[{ip}]"),
        };
        Ok(Self {
            addr,
            ws_url: format!(
                "ws://{host}:{port}{path}{}",
                super::protocol::ENGINE_IO_QUERY
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_targets_are_accepted() {
        for url in [
            "ws://127.0.0.1:1",
            "ws://127.1.2.3:80/socket.io/",
            "ws://localhost:3000",
            "ws://[::1]:3000",
        ] {
            assert!(Target::parse(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn anything_off_this_machine_is_refused() {
        for url in [
            "ws://10.0.0.1:3000",
            "ws://192.168.1.1:3000",
            "ws://8.8.8.8:80",
            "ws://example.com:80",
            "ws://[2001:db8::1]:80",
        ] {
            assert!(
                matches!(Target::parse(url), Err(TargetError::NotLoopback(_))),
                "{url}"
            );
        }
        assert!(matches!(
            Target::parse("http://127.0.0.1:3000"),
            Err(TargetError::NotWebSocket(_))
        ));
        assert!(matches!(
            Target::parse("ws://127.0.0.1"),
            Err(TargetError::NoPort(_))
        ));
    }

    #[test]
    fn a_custom_path_is_kept() {
        let t = Target::parse("ws://127.0.0.1:9/custom").unwrap();
        assert_eq!(
            t.ws_url,
            "ws://127.0.0.1:9/custom/?EIO=4&transport=websocket"
        );
    }
}
