//! A small SMTP client (RFC 5321, STARTTLS RFC 3207, AUTH RFC 4954,
//! PIPELINING RFC 2920) on std's `TcpStream` and rustls. lettre still
//! builds the messages; this module only carries them.
//!
//! Why our own client and not lettre's `SmtpConnection` or another crate:
//! lettre 0.11's reply parser rejects what RFC 5321 allows (a bare `250`
//! without text, a multi-line final reply such as `250-queued` / `250 `,
//! lines ending in a bare LF), it has one socket timeout for everything,
//! and its pipelining puts DATA and QUIT where a server that refused a
//! recipient is in data mode. Fixing that at the boundary would mean
//! re-reading every reply ourselves anyway. mail-send (Stalwart) parses
//! replies well and speaks rustls, but it is async only (tokio) with a
//! single timeout per client, and our workers are plain threads. What we
//! need is small: read lines leniently, parse replies, and give every stage
//! (connect, greeting, each command, the final reply) its own deadline and
//! a message naming it. That is this file.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

/// A reply line longer than this is not SMTP (RFC 5321 allows 512 bytes).
const MAX_LINE: usize = 64 * 1024;

/// One server reply: its code and its text lines (possibly none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// 2 for 2xx, 3 for 3xx, …
    pub fn class(&self) -> u16 {
        self.code / 100
    }

    /// The first line's text, e.g. the server's name in a greeting.
    pub fn first_line(&self) -> &str {
        self.lines.first().map_or("", String::as_str)
    }

    /// The enhanced status code (RFC 3463) at the start of the text,
    /// `5.7.8`, if there is one.
    pub fn enhanced(&self) -> Option<&str> {
        let word = self.first_line().split_whitespace().next()?;
        let parts: Vec<&str> = word.split('.').collect();
        let digits = |p: &str, max: usize| {
            !p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit())
        };
        (parts.len() == 3
            && matches!(parts[0], "2" | "4" | "5")
            && digits(parts[1], 3)
            && digits(parts[2], 3))
        .then_some(word)
    }

    /// The code and enhanced status code only (`535 5.7.8`): all that is
    /// shown of a reply to AUTH, whose text may echo the credentials.
    pub fn status(&self) -> String {
        match self.enhanced() {
            Some(enhanced) => format!("{} {enhanced}", self.code),
            None => self.code.to_string(),
        }
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code)?;
        for line in self.lines.iter().filter(|l| !l.trim().is_empty()) {
            write!(f, " {}", line.trim())?;
        }
        Ok(())
    }
}

/// What a stage of the session is called in messages: "the server did
/// not answer {stage} within 30 s".
pub type Stage = &'static str;

/// Why a session step failed without a reply.
#[derive(Debug)]
pub enum Error {
    /// No (complete) reply within the stage's time.
    Timeout { stage: Stage, after: Duration },
    /// The connection closed or failed.
    Io { stage: Stage, error: io::Error },
    /// The server sent a line that is not an SMTP reply.
    Garbled { stage: Stage, line: String },
    /// TLS failed (handshake, certificate, or a record that is not TLS).
    Tls { stage: Stage, error: rustls::Error },
    /// Replies that cannot be trusted: a multi-line reply whose lines carry
    /// different codes, or a reply to a command not yet sent.
    Protocol { stage: Stage, what: String },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Timeout { stage, after } => write!(
                f,
                "the server did not answer {stage} within {}",
                seconds(*after)
            ),
            Error::Io { stage, error } if error.kind() == io::ErrorKind::UnexpectedEof => {
                write!(f, "the server closed the connection during {stage}")
            }
            Error::Io { stage, error } => write!(f, "connection failed during {stage}: {error}"),
            Error::Garbled { stage, line } => write!(
                f,
                "the server's answer to {stage} is not an SMTP reply: {:?}",
                truncate(line, 80)
            ),
            Error::Tls { stage, error } => write!(f, "TLS failed during {stage}: {error}"),
            Error::Protocol { stage, what } => {
                write!(f, "protocol error during {stage}: {what}")
            }
        }
    }
}

impl std::error::Error for Error {}

/// `30 s`, `1.5 s`.
pub fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// What the server said it can do in its EHLO reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    pub pipelining: bool,
    pub starttls: bool,
    /// AUTH mechanisms, upper case.
    pub auth: Vec<String>,
}

impl Extensions {
    fn parse(reply: &Reply) -> Self {
        let mut ext = Extensions::default();
        // The first line is the server's greeting, not an extension.
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_whitespace();
            let keyword = words.next().unwrap_or("").to_ascii_uppercase();
            match keyword.as_str() {
                "PIPELINING" => ext.pipelining = true,
                "STARTTLS" => ext.starttls = true,
                // `AUTH=LOGIN` is an old Outlook spelling of the same thing.
                "AUTH" => ext.auth.extend(
                    words
                        .map(|w| w.to_ascii_uppercase())
                        .filter(|w| !w.is_empty()),
                ),
                k if k.starts_with("AUTH=") => {
                    ext.auth.push(k[5..].to_string());
                    ext.auth.extend(words.map(|w| w.to_ascii_uppercase()));
                }
                _ => {}
            }
        }
        let mut seen = Vec::new();
        ext.auth.retain(|m| {
            let new = !seen.contains(m);
            seen.push(m.clone());
            new
        });
        ext
    }
}

/// The connection, before or after TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Why no connection could be opened.
#[derive(Debug)]
pub enum ConnectError {
    /// The name does not resolve.
    Resolve(String),
    /// Every address refused or did not answer in time.
    Connect(String),
}

/// One SMTP connection, speaking line by line with a deadline per step.
pub struct Client {
    stream: Stream,
    buf: Vec<u8>,
    /// Bound on each stage: connect, greeting, each command, final reply.
    pub timeout: Duration,
    /// Texts never shown in a reply (the password and its encodings).
    secrets: Secrets,
    /// Between `354` and the reply to the final dot: QUIT would be data.
    in_data: bool,
    /// A read, write or TLS handshake failed: say nothing more.
    dead: bool,
}

impl Client {
    /// Opens a TCP connection to the first address that answers within
    /// `timeout`.
    pub fn connect(host: &str, port: u16, timeout: Duration) -> Result<Client, ConnectError> {
        let addrs: Vec<SocketAddr> = match (host, port).to_socket_addrs() {
            Ok(addrs) => addrs.collect(),
            Err(e) => return Err(ConnectError::Resolve(format!("cannot find {host}: {e}"))),
        };
        if addrs.is_empty() {
            return Err(ConnectError::Resolve(format!("{host} has no address")));
        }
        let mut last = String::new();
        let several = addrs.len() > 1;
        for addr in addrs {
            // The caller names the server; only with several addresses
            // does the one that failed say more.
            let at = if several {
                format!("{addr}: ")
            } else {
                String::new()
            };
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(tcp) => {
                    let _ = tcp.set_nodelay(true);
                    return Ok(Client {
                        stream: Stream::Plain(tcp),
                        buf: Vec::new(),
                        timeout,
                        secrets: Secrets::default(),
                        in_data: false,
                        dead: false,
                    });
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                    ) =>
                {
                    last = format!("{at}no answer within {}", seconds(timeout));
                }
                Err(e) => last = format!("{at}{e}"),
            }
        }
        Err(ConnectError::Connect(last))
    }

    /// Our side's address, for an address-literal EHLO name.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.stream.tcp().local_addr().ok()
    }

    /// Texts to cut out of every reply from now on, however short.
    pub fn add_secrets(&mut self, secrets: impl IntoIterator<Item = String>) {
        self.secrets.add(secrets);
    }

    /// Starts TLS on this connection (implicit TLS or after STARTTLS).
    pub fn start_tls(
        &mut self,
        config: Arc<ClientConfig>,
        host: &str,
        stage: Stage,
    ) -> Result<(), Error> {
        let result = self.handshake(config, host, stage);
        self.dead |= result.is_err();
        result
    }

    fn handshake(
        &mut self,
        config: Arc<ClientConfig>,
        host: &str,
        stage: Stage,
    ) -> Result<(), Error> {
        let name = ServerName::try_from(host.to_string()).map_err(|_| Error::Tls {
            stage,
            error: rustls::Error::General(format!("`{host}` is not a valid server name")),
        })?;
        let tcp = match &self.stream {
            Stream::Plain(tcp) => tcp
                .try_clone()
                .map_err(|error| Error::Io { stage, error })?,
            Stream::Tls(_) => {
                return Err(Error::Tls {
                    stage,
                    error: rustls::Error::General("TLS is already on".into()),
                });
            }
        };
        if !self.buf.is_empty() {
            // RFC 3207: nothing may come before the handshake; a server that
            // sends more is being tampered with.
            return Err(Error::Garbled {
                stage,
                line: String::from_utf8_lossy(&self.buf).into_owned(),
            });
        }
        let conn =
            ClientConnection::new(config, name).map_err(|error| Error::Tls { stage, error })?;
        let mut tls = StreamOwned::new(conn, tcp);
        let deadline = Instant::now() + self.timeout;
        while tls.conn.is_handshaking() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout {
                    stage,
                    after: self.timeout,
                });
            }
            let _ = tls.sock.set_read_timeout(Some(left));
            let _ = tls.sock.set_write_timeout(Some(left));
            if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
                return Err(io_error(stage, e, self.timeout));
            }
        }
        self.stream = Stream::Tls(Box::new(tls));
        Ok(())
    }

    /// Writes bytes (commands, or the message) within the stage's time.
    pub fn send(&mut self, bytes: &[u8], stage: Stage) -> Result<(), Error> {
        let _ = self.stream.tcp().set_write_timeout(Some(self.timeout));
        let result = self
            .stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .map_err(|e| io_error(stage, e, self.timeout));
        self.dead |= result.is_err();
        result
    }

    /// Sends one command line and reads its reply. A reply already
    /// waiting was not asked for: the server is out of step.
    pub fn command(&mut self, line: &str, stage: Stage) -> Result<Reply, Error> {
        self.nothing_unread(stage)?;
        self.send(format!("{line}\r\n").as_bytes(), stage)?;
        self.read_reply(stage)
    }

    /// Fails if the server said more than the replies read so far (found
    /// in what was read with them; costs nothing).
    pub fn nothing_unread(&mut self, stage: Stage) -> Result<(), Error> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.dead = true;
        Err(early(stage))
    }

    /// [`Self::nothing_unread`], and also nothing waiting on the socket
    /// right now (one non-blocking read, through TLS if on): before the
    /// message, where a `250` sent with the `354` would be taken for the
    /// reply to the message.
    pub fn expect_silence(&mut self, stage: Stage) -> Result<(), Error> {
        if self.buf.is_empty() && self.stream.tcp().set_nonblocking(true).is_ok() {
            let mut chunk = [0u8; 4096];
            let read = self.stream.read(&mut chunk);
            let _ = self.stream.tcp().set_nonblocking(false);
            if let Ok(n) = read {
                // 0 is a closed connection: the next write finds it.
                self.buf.extend_from_slice(&chunk[..n]);
            }
        }
        self.nothing_unread(stage)
    }

    /// Reads one reply, single or multi-line, within the stage's time.
    /// Lenient as RFC 5321 4.2 asks: a code alone (`250`) is a reply, lines
    /// may end in a bare LF, and text after `250-` lines is kept.
    pub fn read_reply(&mut self, stage: Stage) -> Result<Reply, Error> {
        let result = self.read_reply_lines(stage);
        self.dead |= result.is_err();
        result
    }

    fn read_reply_lines(&mut self, stage: Stage) -> Result<Reply, Error> {
        let deadline = Instant::now() + self.timeout;
        let mut lines = Vec::new();
        let mut first_code = None;
        loop {
            let line = self.read_line(stage, deadline)?;
            let bytes = line.as_bytes();
            let code = match bytes.get(..3) {
                Some(digits)
                    if digits.iter().all(u8::is_ascii_digit)
                        && (b'1'..=b'5').contains(&digits[0]) =>
                {
                    u16::from(digits[0] - b'0') * 100
                        + u16::from(digits[1] - b'0') * 10
                        + u16::from(digits[2] - b'0')
                }
                _ => {
                    let line = self.secrets.cut(&line).unwrap_or_else(withheld);
                    return Err(Error::Garbled { stage, line });
                }
            };
            if *first_code.get_or_insert(code) != code {
                let first = first_code.unwrap_or(code);
                return Err(Error::Protocol {
                    stage,
                    what: format!(
                        "the lines of one reply carry different codes ({first} and {code}), \
                         so it is neither an acceptance nor a refusal"
                    ),
                });
            }
            let (last, text) = match bytes.get(3) {
                None => (true, ""),
                Some(b'-') => (false, &line[4..]),
                Some(b' ') => (true, &line[4..]),
                // Not RFC 5321, but unambiguous: take it as the last line.
                Some(_) => (true, &line[3..]),
            };
            lines.push(text.to_string());
            if last {
                return Ok(self.secrets.cut_reply(Reply { code, lines }));
            }
        }
    }

    /// One line without its CRLF or bare LF.
    fn read_line(&mut self, stage: Stage, deadline: Instant) -> Result<String, Error> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let rest = self.buf.split_off(pos + 1);
                let mut line = std::mem::replace(&mut self.buf, rest);
                while matches!(line.last(), Some(b'\n' | b'\r')) {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.buf.len() > MAX_LINE {
                let line = String::from_utf8_lossy(&self.buf[..80]).into_owned();
                let line = self.secrets.cut(&line).unwrap_or_else(withheld);
                return Err(Error::Garbled { stage, line });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout {
                    stage,
                    after: self.timeout,
                });
            }
            let _ = self.stream.tcp().set_read_timeout(Some(left));
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(Error::Io {
                        stage,
                        error: io::ErrorKind::UnexpectedEof.into(),
                    });
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(stage, e, self.timeout)),
            }
        }
    }

    /// EHLO, or HELO for a server that does not know EHLO.
    pub fn hello(&mut self, name: &str) -> Result<Result<Extensions, Reply>, Error> {
        let reply = self.command(&format!("EHLO {name}"), "EHLO")?;
        if reply.class() == 2 {
            return Ok(Ok(Extensions::parse(&reply)));
        }
        if matches!(reply.code, 500 | 502) {
            let reply = self.command(&format!("HELO {name}"), "HELO")?;
            if reply.class() == 2 {
                return Ok(Ok(Extensions::default()));
            }
            return Ok(Err(reply));
        }
        Ok(Err(reply))
    }

    /// Marks the start of the message data (after `354`).
    pub fn set_in_data(&mut self, in_data: bool) {
        self.in_data = in_data;
    }

    /// Ends the session politely, unless the server is in data mode
    /// (where QUIT would be part of the message) or the line is dead.
    pub fn quit(mut self) {
        if !self.in_data && !self.dead {
            self.timeout = self.timeout.min(Duration::from_secs(5));
            let _ = self.command("QUIT", "QUIT");
        }
        self.abort();
    }

    /// Closes the connection without another word.
    pub fn abort(&self) {
        let _ = self.stream.tcp().shutdown(std::net::Shutdown::Both);
    }
}

/// A reply that came before its command was sent.
fn early(stage: Stage) -> Error {
    Error::Protocol {
        stage,
        what: "the server answered before it was asked (a reply sent ahead of its command)".into(),
    }
}

/// What is shown of a line that held a short secret.
fn withheld() -> String {
    "(not shown: it contains the password)".to_string()
}

/// The password and its encodings, cut from every reply. A secret of
/// four characters or more is cut wherever it stands; a shorter one (a
/// two-letter password) only counts where it stands as a word of its
/// own, and then the whole text goes, not just the word: cutting every
/// `ab` out of replies would mangle them, and leaving a one-word echo
/// would show the password.
#[derive(Default)]
struct Secrets(Vec<String>);

/// Shorter secrets are matched as words, see [`Secrets`].
const SHORT_SECRET: usize = 4;

impl Secrets {
    fn add(&mut self, secrets: impl IntoIterator<Item = String>) {
        for secret in secrets {
            // base64 without its padding too: some servers trim it.
            let unpadded = secret.trim_end_matches('=').to_string();
            for s in [secret, unpadded] {
                if !s.is_empty() && !self.0.contains(&s) {
                    self.0.push(s);
                }
            }
        }
        // Longest first, so a password inside its own encoding goes whole.
        self.0.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// `text` with every secret cut out, or `None` if it must not be
    /// shown at all.
    fn cut(&self, text: &str) -> Option<String> {
        let mut text = text.to_string();
        for secret in &self.0 {
            if secret.chars().count() >= SHORT_SECRET {
                if text.contains(secret.as_str()) {
                    text = text.replace(secret.as_str(), "<redacted>");
                }
            } else if stands_alone(&text, secret) {
                return None;
            }
        }
        Some(text)
    }

    /// A reply with its secrets cut; a line that cannot be shown leaves
    /// only the code and enhanced status code.
    fn cut_reply(&self, reply: Reply) -> Reply {
        if self.0.is_empty() {
            return reply;
        }
        let cut: Option<Vec<String>> = reply.lines.iter().map(|l| self.cut(l)).collect();
        match cut {
            Some(lines) => Reply { lines, ..reply },
            None => {
                let enhanced = reply
                    .enhanced()
                    .map(|e| format!("{e} "))
                    .unwrap_or_default();
                let lines = vec![format!("{enhanced}{}", withheld())];
                Reply { lines, ..reply }
            }
        }
    }
}

/// Whether `word` occurs in `text` not glued to letters or digits on a
/// side where it has one itself.
fn stands_alone(text: &str, word: &str) -> bool {
    let glued = |a: Option<char>, b: Option<char>| matches!((a, b), (Some(a), Some(b)) if a.is_alphanumeric() && b.is_alphanumeric());
    let (first, last) = (word.chars().next(), word.chars().last());
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !glued(before, first) && !glued(last, after)
    })
}

/// Sorts an I/O error into timeout, TLS or plain I/O.
fn io_error(stage: Stage, e: io::Error, after: Duration) -> Error {
    if matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) {
        return Error::Timeout { stage, after };
    }
    let tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned();
    match tls {
        Some(error) => Error::Tls { stage, error },
        None => Error::Io { stage, error: e },
    }
}

/// The message as DATA content: every line ending CRLF (a bare LF or CR
/// becomes CRLF, which strict servers require), lines starting with `.`
/// doubled (RFC 5321 4.5.2), and the final `.` line, in one buffer so it
/// goes out in one write.
pub fn data_content(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 50 + 5);
    let mut at_line_start = true;
    let mut i = 0;
    while i < message.len() {
        let b = message[i];
        match b {
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                if b == b'\r' && message.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                at_line_start = true;
            }
            _ => {
                if at_line_start && b == b'.' {
                    out.push(b'.');
                }
                out.push(b);
                at_line_start = false;
            }
        }
        i += 1;
    }
    if !at_line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// The name we give in EHLO: `--helo`, else this machine's fully qualified
/// name, else an address literal of our side of the connection
/// (`[192.0.2.1]`, `[IPv6:2001:db8::1]`), which RFC 5321 4.1.4 allows when
/// there is no name. A bare short host name (`vm`) is refused by strict
/// servers.
pub fn hello_name(fqdn: Option<&str>, local: Option<SocketAddr>) -> String {
    if let Some(name) = fqdn {
        return name.to_string();
    }
    match local.map(|a| a.ip()) {
        Some(std::net::IpAddr::V4(ip)) => format!("[{ip}]"),
        Some(std::net::IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
            Some(v4) => format!("[{v4}]"),
            None => format!("[IPv6:{ip}]"),
        },
        None => "[127.0.0.1]".to_string(),
    }
}

/// This machine's fully qualified domain name, if it has one: the host
/// name when it has a dot, else the first dotted alias of it in
/// /etc/hosts (as `hostname -f` finds it on most systems).
pub fn local_fqdn() -> Option<String> {
    let short = hostname::get().ok()?.into_string().ok()?;
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    fqdn_from(&short, &hosts)
}

fn fqdn_from(short: &str, hosts: &str) -> Option<String> {
    let usable = |name: &str| {
        crate::campaign::address::is_domain(name) && name.contains('.') && {
            let lower = name.to_ascii_lowercase();
            !(lower.starts_with("localhost") || lower.ends_with(".localdomain"))
        }
    };
    if usable(short) {
        return Some(short.to_string());
    }
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap_or("");
        let names: Vec<&str> = line.split_whitespace().skip(1).collect();
        if names.iter().any(|n| n.eq_ignore_ascii_case(short))
            && let Some(name) = names.iter().find(|n| usable(n))
        {
            return Some((*name).to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A server that writes `script` after the greeting is read by the
    /// client, then keeps the connection open until the client is done.
    fn client_reading(script: &'static [u8]) -> (Client, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            tcp.write_all(script).unwrap();
            let mut sink = [0u8; 64];
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = tcp.read(&mut sink);
        });
        let client = Client::connect("127.0.0.1", port, Duration::from_secs(5)).unwrap();
        (client, server)
    }

    #[test]
    fn replies_rfc_5321_allows() {
        let (mut c, server) =
            client_reading(b"250\r\n250-queued\r\n250 \r\n250-one\n250 two\n220 ok\r\n354\r\n");
        let r = c.read_reply("bare").unwrap();
        assert_eq!((r.code, r.lines.clone()), (250, vec![String::new()]));
        assert_eq!(r.to_string(), "250");
        let r = c.read_reply("multi").unwrap();
        assert_eq!(r.code, 250);
        assert_eq!(r.to_string(), "250 queued");
        let r = c.read_reply("lf").unwrap();
        assert_eq!(r.to_string(), "250 one two");
        assert_eq!(c.read_reply("x").unwrap().first_line(), "ok");
        assert_eq!(c.read_reply("x").unwrap().code, 354);
        c.abort();
        server.join().unwrap();
    }

    #[test]
    fn garbage_and_silence_are_named_by_stage() {
        let (mut c, server) = client_reading(b"hello there\r\n");
        c.timeout = Duration::from_millis(300);
        let e = c.read_reply("the greeting").unwrap_err();
        assert!(e.to_string().contains("not an SMTP reply"), "{e}");
        let e = c.read_reply("the greeting").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the server did not answer the greeting within 0.3 s"
        );
        c.abort();
        server.join().unwrap();
    }

    #[test]
    fn secrets_are_cut_from_replies() {
        let (mut c, server) = client_reading(b"535 5.7.8 bad AGFsaWNlAHMzY3JldA== for you\r\n");
        c.add_secrets(["AGFsaWNlAHMzY3JldA==".to_string()]);
        let r = c.read_reply("AUTH").unwrap();
        assert_eq!(r.to_string(), "535 5.7.8 bad <redacted> for you");
        c.abort();
        server.join().unwrap();
    }

    #[test]
    fn short_secrets_take_the_whole_text_only_where_they_stand_alone() {
        let mut secrets = Secrets::default();
        secrets.add(["ab".to_string(), "YWI=".to_string()]);
        // Every "ab" in ordinary words stays.
        assert_eq!(
            secrets.cut("unable to relay: absent").as_deref(),
            Some("unable to relay: absent")
        );
        // The password as a word of its own: the whole text goes.
        for echo in ["bad password ab", "'ab' is wrong", "ab", "pw=ab;"] {
            assert_eq!(secrets.cut(echo), None, "{echo}");
        }
        // Its base64, padded or not, is cut where it stands.
        assert_eq!(
            secrets.cut("got YWI= here").as_deref(),
            Some("got <redacted> here")
        );
        assert_eq!(secrets.cut("got YWI, trimmed"), None);
        let reply = Reply {
            code: 535,
            lines: vec!["5.7.8 password ab refused".into()],
        };
        assert_eq!(
            secrets.cut_reply(reply).to_string(),
            "535 5.7.8 (not shown: it contains the password)"
        );
        // A secret with its own punctuation at the edge is found anywhere.
        let mut secrets = Secrets::default();
        secrets.add(["!!".to_string()]);
        assert_eq!(secrets.cut("x!!y"), None);
    }

    #[test]
    fn the_status_of_a_reply_is_its_code_and_enhanced_code() {
        let reply = |code, text: &str| Reply {
            code,
            lines: vec![text.into()],
        };
        assert_eq!(
            reply(535, "5.7.139 Authentication unsuccessful").status(),
            "535 5.7.139"
        );
        assert_eq!(reply(535, "Error: AUTH PLAIN AGpv").status(), "535");
        assert_eq!(reply(334, "").status(), "334");
        assert_eq!(
            reply(534, "5.7.9 Application-specific").enhanced(),
            Some("5.7.9")
        );
        assert_eq!(reply(550, "1.2.3 no").enhanced(), None);
    }

    #[test]
    fn mixed_codes_and_unasked_replies_are_protocol_errors() {
        let (mut c, server) = client_reading(b"550-rejected\r\n250 ok\r\n");
        let e = c.read_reply("the end of the message").unwrap_err();
        assert!(matches!(e, Error::Protocol { .. }), "{e}");
        assert!(
            e.to_string().contains("different codes (550 and 250)"),
            "{e}"
        );
        c.abort();
        server.join().unwrap();

        let (mut c, server) = client_reading(b"354 go ahead\r\n250 ok\r\n");
        // Read the 354 only once both lines are surely there.
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(c.read_reply("DATA").unwrap().code, 354);
        let e = c.expect_silence("DATA").unwrap_err();
        assert!(
            e.to_string().contains("answered before it was asked"),
            "{e}"
        );
        c.abort();
        server.join().unwrap();

        let (mut c, server) = client_reading(b"354 go ahead\r\n");
        assert_eq!(c.read_reply("DATA").unwrap().code, 354);
        c.expect_silence("DATA").unwrap();
        c.abort();
        server.join().unwrap();
    }

    #[test]
    fn a_garbled_line_is_cut_too() {
        let (mut c, server) = client_reading(b"AGpvAGh1bnRlcjI= echoed\r\n");
        c.add_secrets(["AGpvAGh1bnRlcjI=".to_string()]);
        let e = c.read_reply("AUTH").unwrap_err();
        assert!(!e.to_string().contains("AGpvAGh1bnRlcjI"), "{e}");
        c.abort();
        server.join().unwrap();
    }

    #[test]
    fn no_quit_in_data_mode_or_on_a_dead_line() {
        for (in_data, expected) in [(true, ""), (false, "QUIT\r\n")] {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = std::thread::spawn(move || {
                let (mut tcp, _) = listener.accept().unwrap();
                tcp.write_all(b"221 bye\r\n").unwrap();
                let mut got = String::new();
                tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let _ = tcp.read_to_string(&mut got);
                got
            });
            let mut c = Client::connect("127.0.0.1", port, Duration::from_secs(5)).unwrap();
            c.set_in_data(in_data);
            c.quit();
            assert_eq!(server.join().unwrap(), expected);
        }
    }

    #[test]
    fn extensions() {
        let reply = Reply {
            code: 250,
            lines: [
                "mx.example.org hi",
                "PIPELINING",
                "auth plain LOGIN",
                "AUTH=LOGIN CRAM-MD5",
                "STARTTLS",
                "SIZE 10",
            ]
            .map(String::from)
            .to_vec(),
        };
        let ext = Extensions::parse(&reply);
        assert!(ext.pipelining && ext.starttls);
        assert_eq!(ext.auth, ["PLAIN", "LOGIN", "CRAM-MD5"]);
        // The greeting line is not a keyword, even if it looks like one.
        let reply = Reply {
            code: 250,
            lines: vec!["PIPELINING".into()],
        };
        assert!(!Extensions::parse(&reply).pipelining);
    }

    #[test]
    fn data_is_dot_stuffed_with_crlf() {
        let out = data_content(b"Subject: x\r\n\r\n.hidden\nok.\r\n..two\rend");
        assert_eq!(
            out,
            b"Subject: x\r\n\r\n..hidden\r\nok.\r\n...two\r\nend\r\n.\r\n"
        );
        assert_eq!(data_content(b"a\r\n"), b"a\r\n.\r\n");
    }

    #[test]
    fn hello_names() {
        let hosts = "127.0.0.1 localhost\n127.0.1.1 vm.branch.example.org vm # comment\n";
        assert_eq!(
            fqdn_from("vm", hosts).as_deref(),
            Some("vm.branch.example.org")
        );
        assert_eq!(fqdn_from("vm", "127.0.1.1 vm\n"), None);
        assert_eq!(
            fqdn_from("mail.example.org", "").as_deref(),
            Some("mail.example.org")
        );
        assert_eq!(fqdn_from("localhost.localdomain", ""), None);
        assert_eq!(
            hello_name(None, Some("127.0.0.1:25".parse().unwrap())),
            "[127.0.0.1]"
        );
        assert_eq!(
            hello_name(None, Some("[::1]:25".parse().unwrap())),
            "[IPv6:::1]"
        );
        assert_eq!(hello_name(Some("a.example"), None), "a.example");
        use crate::campaign::address::is_domain;
        assert!(is_domain("mx-1.example.org") && !is_domain("bad name") && !is_domain("-x.org"));
    }
}
