//! A minimal Redis client for the fleet cache: `GET`, `SET EX`, `SET NX PX` and a
//! compare-and-delete script, spoken in RESP over a tokio `TcpStream`.
//!
//! Four commands do not justify the `redis` crate and its dependency tree; the protocol for
//! them is a few dozen lines. Connections are opened lazily and kept in a small pool, so
//! concurrent lookups do not queue behind one socket. Every command has a timeout: a Redis
//! that hangs must not hang the render.

use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::CacheError;

/// The port a `redis://` URL without one means.
const DEFAULT_PORT: u16 = 6379;
/// How long one command may take, connecting included.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest value read back; cache entries are far smaller.
const MAX_BULK: usize = 64 << 20;
/// The longest reply line read (a status, an error, a length): a server that never ends its
/// line must not fill the memory before the command times out.
const MAX_LINE: u64 = 64 << 10;
/// Deletes a lock only if it still holds our token (another renderer may own it by now).
const UNLOCK_SCRIPT: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

/// A parsed `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` URL.
///
/// Shown (`Display`, `Debug`) without the user and password.
///
/// ```
/// use imgpolicy::cache::RedisUrl;
///
/// let url: RedisUrl = "redis://:secret@127.0.0.1/2".parse().unwrap();
/// assert_eq!(url.to_string(), "redis://127.0.0.1:6379/2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    host: String,
    port: u16,
    db: u32,
    username: Option<String>,
    password: Option<String>,
}

impl FromStr for RedisUrl {
    type Err = CacheError;

    fn from_str(text: &str) -> Result<Self, CacheError> {
        let shown = match text.rsplit_once('@') {
            Some((before, after)) => format!("{}***@{after}", &before[..before.find("//").map_or(0, |i| i + 2)]),
            None => text.to_owned(),
        };
        let invalid = |reason| CacheError::InvalidRedisUrl { url: shown.clone(), reason };
        let rest = text.strip_prefix("redis://").ok_or_else(|| invalid("expected `redis://HOST[:PORT][/DB]`"))?;
        let (authority, db) = rest.split_once('/').unwrap_or((rest, ""));
        let db = if db.is_empty() { 0 } else { db.parse().map_err(|_| invalid("the database must be a number"))? };
        let (userinfo, address) = match authority.rsplit_once('@') {
            Some((userinfo, address)) => (Some(userinfo), address),
            None => (None, authority),
        };
        let (username, password) = match userinfo.map(|info| info.split_once(':').unwrap_or(("", info))) {
            Some((user, password)) => {
                ((!user.is_empty()).then(|| user.to_owned()), (!password.is_empty()).then(|| password.to_owned()))
            }
            None => (None, None),
        };
        let port = |text: &str| text.parse::<u16>().map_err(|_| invalid("the port must be a number"));
        let (host, port) = if let Some(inner) = address.strip_prefix('[') {
            let (host, after) = inner.split_once(']').ok_or_else(|| invalid("no `]` after an IPv6 address"))?;
            match after.strip_prefix(':') {
                Some(text) => (host, port(text)?),
                None if after.is_empty() => (host, DEFAULT_PORT),
                None => return Err(invalid("the port must be a number")),
            }
        } else {
            match address.split_once(':') {
                Some((host, text)) => (host, port(text)?),
                None => (address, DEFAULT_PORT),
            }
        };
        if host.is_empty() || host.contains(['/', '?', '#', ' ']) {
            return Err(invalid("no host"));
        }
        Ok(Self { host: host.to_owned(), port, db, username, password })
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "redis://[{}]:{}/{}", self.host, self.port, self.db)
        } else {
            write!(f, "redis://{}:{}/{}", self.host, self.port, self.db)
        }
    }
}

impl fmt::Debug for RedisUrl {
    // Hand-written so that the password never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

/// One RESP reply.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
}

/// One connection, authenticated and on the right database.
struct Connection {
    stream: BufReader<TcpStream>,
}

impl Connection {
    async fn open(url: &RedisUrl) -> Result<Self, String> {
        let stream = TcpStream::connect((url.host.as_str(), url.port)).await.map_err(|error| error.to_string())?;
        let _ = stream.set_nodelay(true);
        let mut connection = Self { stream: BufReader::new(stream) };
        if let Some(password) = &url.password {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(username) = &url.username {
                args.push(username.as_bytes());
            }
            args.push(password.as_bytes());
            // The server's message may quote what it got; say only that it refused.
            if let Reply::Error(_) = connection.call(&args).await? {
                return Err("authentication refused".to_owned());
            }
        }
        if url.db != 0 {
            let db = url.db.to_string();
            if let Reply::Error(message) = connection.call(&[b"SELECT", db.as_bytes()]).await? {
                return Err(format!("SELECT {db}: {message}"));
            }
        }
        Ok(connection)
    }

    async fn call(&mut self, args: &[&[u8]]) -> Result<Reply, String> {
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            request.extend_from_slice(arg);
            request.extend_from_slice(b"\r\n");
        }
        self.stream.get_mut().write_all(&request).await.map_err(|error| error.to_string())?;
        self.read_reply().await
    }

    async fn read_reply(&mut self) -> Result<Reply, String> {
        let mut line = Vec::new();
        (&mut self.stream).take(MAX_LINE).read_until(b'\n', &mut line).await.map_err(|error| error.to_string())?;
        let text = std::str::from_utf8(&line).ok().and_then(|line| line.strip_suffix("\r\n"));
        let Some(text) = text.filter(|text| !text.is_empty()) else {
            return Err("connection closed or malformed reply".to_owned());
        };
        // The type byte is ASCII in any reply; a server's other first character must not panic.
        let Some((kind, rest)) = text.split_at_checked(1) else {
            return Err(format!("unexpected reply `{}`", text.escape_debug()));
        };
        let number = || rest.parse::<i64>().map_err(|_| format!("malformed reply `{}`", text.escape_debug()));
        match kind {
            "+" => Ok(Reply::Simple(rest.to_owned())),
            "-" => Ok(Reply::Error(rest.to_owned())),
            ":" => Ok(Reply::Integer(number()?)),
            "$" => {
                let Ok(length) = usize::try_from(number()?) else { return Ok(Reply::Bulk(None)) };
                if length > MAX_BULK {
                    return Err(format!("a value of {length} bytes is too large"));
                }
                let mut value = vec![0; length + 2];
                self.stream.read_exact(&mut value).await.map_err(|error| error.to_string())?;
                if !value.ends_with(b"\r\n") {
                    return Err(format!("malformed reply: a value of {length} bytes not followed by CRLF"));
                }
                value.truncate(length);
                Ok(Reply::Bulk(Some(value)))
            }
            _ => Err(format!("unexpected reply `{}`", text.escape_debug())),
        }
    }
}

/// A Redis server with a pool of connections, opened on demand.
pub struct Redis {
    url: RedisUrl,
    idle: Mutex<Vec<Connection>>,
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redis").field("url", &self.url).finish_non_exhaustive()
    }
}

impl Redis {
    /// A client for `url`; nothing is connected until the first command.
    pub fn new(url: RedisUrl) -> Self {
        Self { url, idle: Mutex::default() }
    }

    /// The server, for messages.
    pub fn url(&self) -> &RedisUrl {
        &self.url
    }

    /// Runs one command on a pooled connection, within [`COMMAND_TIMEOUT`].
    async fn command(&self, args: &[&[u8]]) -> Result<Reply, CacheError> {
        let failed = |reason: String| CacheError::Redis { server: self.url.to_string(), reason };
        let pooled = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let attempt = async {
            let mut connection = match pooled {
                Some(connection) => connection,
                None => Connection::open(&self.url).await?,
            };
            let reply = connection.call(args).await?;
            Ok::<_, String>((connection, reply))
        };
        let (connection, reply) = tokio::time::timeout(COMMAND_TIMEOUT, attempt)
            .await
            .map_err(|_| failed(format!("no answer within {COMMAND_TIMEOUT:?}")))?
            .map_err(failed)?;
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(connection);
        match reply {
            Reply::Error(message) => Err(failed(message)),
            reply => Ok(reply),
        }
    }

    /// `GET key`: the value, or `None`.
    ///
    /// # Errors
    /// [`CacheError::Redis`] when the server cannot be reached or refuses.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        match self.command(&[b"GET", key.as_bytes()]).await? {
            Reply::Bulk(value) => Ok(value),
            other => Err(self.unexpected("GET", &other)),
        }
    }

    /// `SET key value EX seconds`, the seconds rounded up (at least one).
    ///
    /// # Errors
    /// As [`Redis::get`].
    pub async fn set_ex(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let seconds = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
        let seconds = seconds.max(1).to_string();
        match self.command(&[b"SET", key.as_bytes(), value, b"EX", seconds.as_bytes()]).await? {
            Reply::Simple(_) => Ok(()),
            other => Err(self.unexpected("SET", &other)),
        }
    }

    /// `SET key token NX PX millis`: whether the lock was taken.
    ///
    /// # Errors
    /// As [`Redis::get`].
    pub async fn lock(&self, key: &str, token: &str, ttl: Duration) -> Result<bool, CacheError> {
        let millis = ttl.as_millis().max(1).to_string();
        match self.command(&[b"SET", key.as_bytes(), token.as_bytes(), b"NX", b"PX", millis.as_bytes()]).await? {
            Reply::Simple(_) => Ok(true),
            Reply::Bulk(None) => Ok(false),
            other => Err(self.unexpected("SET NX", &other)),
        }
    }

    /// Deletes the lock `key` if it still holds `token`.
    ///
    /// # Errors
    /// As [`Redis::get`].
    pub async fn unlock(&self, key: &str, token: &str) -> Result<(), CacheError> {
        match self.command(&[b"EVAL", UNLOCK_SCRIPT.as_bytes(), b"1", key.as_bytes(), token.as_bytes()]).await? {
            Reply::Integer(_) => Ok(()),
            other => Err(self.unexpected("EVAL", &other)),
        }
    }

    fn unexpected(&self, command: &str, reply: &Reply) -> CacheError {
        CacheError::Redis { server: self.url.to_string(), reason: format!("unexpected reply to {command}: {reply:?}") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let cases = [
            ("redis://127.0.0.1:6380/3", "redis://127.0.0.1:6380/3"),
            ("redis://cache", "redis://cache:6379/0"),
            ("redis://cache/", "redis://cache:6379/0"),
            ("redis://user:pw@cache:1/2", "redis://cache:1/2"),
            ("redis://[::1]:7000/1", "redis://[::1]:7000/1"),
        ];
        for (text, shown) in cases {
            let url: RedisUrl = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(url.to_string(), shown, "{text}");
            assert!(!format!("{url:?}").contains("pw"));
        }
        let url: RedisUrl = "redis://user:pw@cache".parse().expect("url");
        assert_eq!((url.username.as_deref(), url.password.as_deref()), (Some("user"), Some("pw")));
        let url: RedisUrl = "redis://:pw@cache".parse().expect("url");
        assert_eq!((url.username.as_deref(), url.password.as_deref()), (None, Some("pw")));
    }

    /// What reading one reply from a server that sends `bytes` gives.
    fn reply_to(bytes: &'static [u8]) -> Result<Reply, String> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let address = listener.local_addr().expect("address");
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("a connection");
            // The client may hang up before reading it all (the endless line): that is fine.
            let _ = std::io::Write::write_all(&mut stream, bytes);
        });
        let reply = crate::registry::block_on(async {
            let stream = TcpStream::connect(address).await.map_err(|error| error.to_string())?;
            Connection { stream: BufReader::new(stream) }.read_reply().await
        })
        .expect("runtime");
        server.join().expect("server thread");
        reply
    }

    #[test]
    fn reads_replies_and_refuses_malformed_ones() {
        assert_eq!(reply_to(b"+OK\r\n"), Ok(Reply::Simple("OK".into())));
        assert_eq!(reply_to(b":3\r\n"), Ok(Reply::Integer(3)));
        assert_eq!(reply_to(b"$2\r\nab\r\n"), Ok(Reply::Bulk(Some(b"ab".to_vec()))));
        assert_eq!(reply_to(b"$-1\r\n"), Ok(Reply::Bulk(None)));
        assert_eq!(reply_to("\u{e9}t\u{e9}\r\n".as_bytes()), Err("unexpected reply `\u{e9}t\u{e9}`".into()));
        assert_eq!(reply_to(b"$2\r\nabcd"), Err("malformed reply: a value of 2 bytes not followed by CRLF".into()));
        assert_eq!(reply_to(b""), Err("connection closed or malformed reply".into()));
        let endless: &'static [u8] = Box::leak([b'+'].repeat(1 << 20).into_boxed_slice());
        assert_eq!(reply_to(endless), Err("connection closed or malformed reply".into()));
    }

    #[test]
    fn rejects_bad_urls_without_echoing_passwords() {
        for (text, message) in [
            ("http://cache", "invalid redis URL `http://cache`: expected `redis://HOST[:PORT][/DB]`"),
            ("redis://cache:port", "invalid redis URL `redis://cache:port`: the port must be a number"),
            ("redis://cache/x", "invalid redis URL `redis://cache/x`: the database must be a number"),
            ("redis://:secret@/x", "invalid redis URL `redis://***@/x`: the database must be a number"),
            ("redis://", "invalid redis URL `redis://`: no host"),
        ] {
            let error = text.parse::<RedisUrl>().expect_err(text);
            assert_eq!(error.to_string(), message);
        }
    }
}
