//! An in-process SMTP server for integration tests.
//!
//! It really speaks SMTP: the protocol state machine is `mailin`'s, the I/O
//! loop is ours so the server can be stopped (mailin-embedded cannot be), can
//! upgrade to TLS with a certificate made at runtime, and can misbehave on
//! purpose (temporary failures, dropped or closed connections, slow replies).
//!
//! Every server listens on 127.0.0.1 only and is stopped when dropped.
//!
//! Set `SMTP_TEST_TRACE=1` to log every line the server reads and writes.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mailin::{Action, AuthMechanism, Handler, Response, Session, SessionBuilder};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConnection, StreamOwned};

mod sasl;
pub use sasl::Sasl;

/// A stuck client (or test) must not hang the suite forever.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the non-blocking accept loop checks the stop flag.
const ACCEPT_POLL: Duration = Duration::from_millis(5);
/// Far above RFC 5321's 1000 bytes, so long lines from a sloppy client
/// still work, yet bounded so a runaway client cannot eat all memory.
const MAX_LINE: usize = 1 << 20;

/// Shared closure type for [`ServerConfig::temp_fail_if`].
pub type TempFailFn = Arc<dyn Fn(usize) -> bool + Send + Sync>;

/// How the server behaves. Start from `ServerConfig::default()` (plain SMTP,
/// no auth, accepts everything) and chain the builder methods.
///
/// "Message index" below is 1-based and counts every completed DATA (the
/// final `.` line) across all connections, in the order they finished,
/// including attempts that were temp-failed.
#[derive(Clone, Default)]
pub struct ServerConfig {
    /// Offer STARTTLS. The certificate chains to [`SmtpServer::ca_pem`].
    starttls: bool,
    /// Refuse MAIL with 530 until STARTTLS was done (implies `starttls`).
    require_tls: bool,
    /// Offer AUTH PLAIN and LOGIN and require it before MAIL (530 otherwise).
    /// With TLS enabled AUTH is only offered after STARTTLS, as real servers do.
    auth: Option<(String, String)>,
    /// Message indexes that get `451 4.3.0 try again later` (not recorded).
    temp_fail: Vec<usize>,
    /// Like `temp_fail`, but decided by a closure of the message index.
    temp_fail_if: Option<TempFailFn>,
    /// After message k, drop the connection without replying to the next
    /// command (once per server).
    drop_after: Option<usize>,
    /// After message k, answer the next command with `421 4.7.0 closing`
    /// and close (once per server).
    close_421_after: Option<usize>,
    /// Recipients refused at RCPT TO with `550 5.1.1 no such user`
    /// (compared case-insensitively).
    reject_rcpt: Vec<String>,
    /// Sleep this long before answering the end of DATA (a slow server).
    delay_per_message: Duration,

    // ---- Delivery faults (issue 9: exactly-once). Messages these faults
    // touch were received whole, so they count in `received()` although
    // the client never saw a 250 for them: a real server would deliver them.
    /// Offer PIPELINING in the EHLO reply (RFC 2920).
    pipelining: bool,
    /// Message indexes after whose final dot the connection is dropped
    /// without a reply.
    drop_after_data: Vec<usize>,
    /// Like `drop_after_data`, decided by a closure of the message index.
    drop_after_data_if: Option<TempFailFn>,
    /// Message indexes whose end-of-DATA reply waits `late_by` first (set it
    /// past the client's `--timeout`).
    late_reply: Vec<usize>,
    late_by: Duration,
    /// Message indexes answered with a line that is not an SMTP reply.
    garbage_reply: Vec<usize>,
    /// Answer the end of DATA with a multi-line 250 reply.
    multiline_data_reply: bool,
    /// After every k messages on one connection, answer the next command
    /// with `421 4.7.0 closing` and close.
    close_421_every: Option<usize>,
    /// At most this many sessions at once; more get `421` at the greeting.
    max_sessions: Option<usize>,

    /// Answer the end of DATA with `550-…` / `250 …`: lines whose codes
    /// differ (the message was received whole).
    mixed_codes_reply: bool,
    /// Answer DATA with `354` and, in the same packet, a `250`, before
    /// the message was sent.
    early_reply_with_354: bool,

    // ---- SMTP conformance (issue 10): what real servers legitimately do,
    // and what strict ones refuse. One nested struct, set with `quirks`.
    quirks: Quirks,

    // ---- A provider's limits (issue 22).
    /// Once this many messages were received, answer every MAIL FROM with
    /// this reply (a daily sending quota: `550 5.4.5 Daily user sending
    /// limit exceeded`).
    quota_after: Option<(usize, u16, String)>,
    /// For this long after the server starts, answer every RCPT TO with
    /// `451 4.7.1 Greylisted` (a greylisting server).
    greylist_for: Duration,

    /// Issues 22 and 25: OAuth2 logins and leaky answers to AUTH.
    sasl: Sasl,
}

/// Issue 10's group: replies RFC 5321 allows but naive clients choke on,
/// strict-server policies, and certificates other than the test CA's.
#[derive(Clone, Default)]
pub struct Quirks {
    /// Single-line replies are the code alone (`250`, `354`, `221`).
    pub bare_codes: bool,
    /// Reply lines end in a bare LF instead of CRLF.
    pub bare_lf: bool,
    /// Accept connections but never send the greeting.
    pub never_greet: bool,
    /// Answer MAIL FROM with 553 (sender not owned by the login).
    pub refuse_sender_at_mail: bool,
    /// Answer every RCPT TO with 553 (Postfix's sender login mismatch,
    /// reported at RCPT time).
    pub refuse_sender_at_rcpt: bool,
    /// Recipients answered `450 4.2.0 try again later` at RCPT TO.
    pub defer_rcpt: Vec<String>,
    /// Answer every AUTH with a 535 that echoes the client's AUTH line.
    pub echo_auth_in_535: bool,
    /// Refuse an EHLO/HELO name that is neither a dotted domain nor an
    /// address literal (Postfix's `reject_non_fqdn_helo_hostname`).
    pub need_fqdn_helo: bool,
    /// TLS from the first byte (smtps, port 465 style) instead of STARTTLS.
    pub implicit_tls: bool,
    /// Which certificate the server presents.
    pub cert: CertKind,
}

/// The server's certificate.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub enum CertKind {
    /// Signed by the test CA, for `localhost` and `127.0.0.1`.
    #[default]
    TestCa,
    /// Self-signed and marked as a CA, as `openssl req -x509` makes it.
    SelfSignedCa,
    /// Signed by the test CA, but for `mail.example.org` only.
    OtherHost,
}

impl ServerConfig {
    /// `self` changed by `change`, for the builder methods below.
    fn set(mut self, change: impl FnOnce(&mut Self)) -> Self {
        change(&mut self);
        self
    }

    /// Offer STARTTLS.
    pub fn starttls(self) -> Self {
        self.set(|c| c.starttls = true)
    }

    /// Offer STARTTLS and refuse MAIL before it.
    pub fn require_tls(self) -> Self {
        self.set(|c| {
            c.starttls = true;
            c.require_tls = true;
        })
    }

    /// Require AUTH with these credentials.
    pub fn auth(self, user: &str, password: &str) -> Self {
        self.set(|c| c.auth = Some((user.to_owned(), password.to_owned())))
    }

    /// Temp-fail these message indexes.
    pub fn temp_fail(self, indexes: impl IntoIterator<Item = usize>) -> Self {
        self.set(|c| c.temp_fail.extend(indexes))
    }

    /// Temp-fail every message index for which `f` returns true.
    pub fn temp_fail_if(self, f: impl Fn(usize) -> bool + Send + Sync + 'static) -> Self {
        self.set(|c| c.temp_fail_if = Some(Arc::new(f)))
    }

    /// Drop the connection silently after message `k`.
    pub fn drop_after(self, k: usize) -> Self {
        self.set(|c| c.drop_after = Some(k))
    }

    /// Send 421 and close after message `k`.
    pub fn close_421_after(self, k: usize) -> Self {
        self.set(|c| c.close_421_after = Some(k))
    }

    /// Refuse this recipient with 550.
    pub fn reject_rcpt(self, address: &str) -> Self {
        self.set(|c| c.reject_rcpt.push(address.to_owned()))
    }

    /// Delay every end-of-DATA reply.
    pub fn delay_per_message(self, delay: Duration) -> Self {
        self.set(|c| c.delay_per_message = delay)
    }

    // ---- Delivery faults (issue 9), see the fields above.

    /// Offer PIPELINING.
    pub fn pipelining(self) -> Self {
        self.set(|c| c.pipelining = true)
    }

    /// Drop the connection after receiving these messages whole, unanswered.
    pub fn drop_after_data(self, indexes: impl IntoIterator<Item = usize>) -> Self {
        self.set(|c| c.drop_after_data.extend(indexes))
    }

    /// Drop after receiving every message index for which `f` is true.
    pub fn drop_after_data_if(self, f: impl Fn(usize) -> bool + Send + Sync + 'static) -> Self {
        self.set(|c| c.drop_after_data_if = Some(Arc::new(f)))
    }

    /// Answer these messages only after `delay`.
    pub fn late_reply(self, indexes: impl IntoIterator<Item = usize>, delay: Duration) -> Self {
        self.set(|c| {
            c.late_reply.extend(indexes);
            c.late_by = delay;
        })
    }

    /// Answer these messages with a line that does not parse.
    pub fn garbage_reply(self, indexes: impl IntoIterator<Item = usize>) -> Self {
        self.set(|c| c.garbage_reply.extend(indexes))
    }

    /// Answer every message with a multi-line 250.
    pub fn multiline_data_reply(self) -> Self {
        self.set(|c| c.multiline_data_reply = true)
    }

    /// 421 and close after every `k` messages on a connection.
    pub fn close_421_every(self, k: usize) -> Self {
        self.set(|c| c.close_421_every = Some(k))
    }

    /// At most `k` sessions at once.
    pub fn max_sessions(self, k: usize) -> Self {
        self.set(|c| c.max_sessions = Some(k))
    }

    /// Answer every message with `550-…` / `250 …`.
    pub fn mixed_codes_reply(self) -> Self {
        self.set(|c| c.mixed_codes_reply = true)
    }

    /// Send a `250` together with the `354`.
    pub fn early_reply_with_354(self) -> Self {
        self.set(|c| c.early_reply_with_354 = true)
    }

    /// Log in as `sasl` says (OAuth2, retired passwords, leaky replies).
    pub fn sasl(self, sasl: Sasl) -> Self {
        self.set(|c| c.sasl = sasl)
    }

    // ---- SMTP conformance (issue 10), see `Quirks`.

    /// Behave as `quirks` says.
    pub fn quirks(self, quirks: Quirks) -> Self {
        self.set(|c| c.quirks = quirks)
    }

    /// After `n` messages, answer MAIL FROM with `code text` (a quota).
    pub fn quota_after(self, n: usize, code: u16, text: &str) -> Self {
        self.set(|c| c.quota_after = Some((n, code, text.to_string())))
    }

    /// Greylist every recipient for `d` after the server starts.
    pub fn greylist_for(self, d: Duration) -> Self {
        self.set(|c| c.greylist_for = d)
    }

    fn drops_after(&self, index: usize) -> bool {
        self.drop_after_data.contains(&index)
            || self.drop_after_data_if.as_ref().is_some_and(|f| f(index))
    }

    fn tls_enabled(&self) -> bool {
        self.starttls || self.require_tls
    }

    fn temp_fails(&self, index: usize) -> bool {
        self.temp_fail.contains(&index) || self.temp_fail_if.as_ref().is_some_and(|f| f(index))
    }

    fn rejects(&self, rcpt: &str) -> bool {
        self.reject_rcpt
            .iter()
            .any(|r| r.eq_ignore_ascii_case(rcpt))
    }
}

/// One message the server accepted (its 250 reply to DATA was written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Reverse path, without angle brackets.
    pub mail_from: String,
    /// Accepted forward paths, without angle brackets, in RCPT order.
    pub rcpt_to: Vec<String>,
    /// Message content as received, dot-unstuffed, each line ending in CRLF.
    pub data: Vec<u8>,
    /// Whether the session had done STARTTLS.
    pub tls: bool,
    /// The user that authenticated on this connection, if any.
    pub auth_user: Option<String>,
}

impl Received {
    /// The message content as text, for quick assertions.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The message as its reader sees it.
    pub fn mail(&self) -> crate::support::Mail {
        crate::support::mail(&self.data)
    }
}

/// A running test server; stopped on drop.
pub struct SmtpServer {
    addr: SocketAddr,
    ca_pem: String,
    cert_pem: String,
    cert_der: Vec<u8>,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl SmtpServer {
    /// Binds 127.0.0.1 on a free port and starts accepting connections.
    /// Panics (in the test thread) if that is impossible.
    pub fn start(config: ServerConfig) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind test SMTP server");
        // Non-blocking so the accept loop can notice the stop flag.
        listener
            .set_nonblocking(true)
            .expect("make test SMTP listener non-blocking");
        let addr = listener.local_addr().expect("test SMTP server address");
        let pki = TestPki::generate(config.quirks.cert);

        let mut session = SessionBuilder::new("localhost");
        if config.tls_enabled() {
            session.enable_start_tls();
        }
        if config.auth.is_some() {
            session
                .enable_auth(AuthMechanism::Plain)
                .enable_auth(AuthMechanism::Login);
            if !config.tls_enabled() {
                // Otherwise mailin never offers AUTH on a plain connection.
                session.insecure_enable_plaintext_auth();
            }
        }

        let shared = Arc::new(Shared {
            config,
            tls: pki.server_config,
            session,
            port: addr.port(),
            trace: std::env::var_os("SMTP_TEST_TRACE").is_some_and(|v| !v.is_empty() && v != "0"),
            stop: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            peak_sessions: AtomicUsize::new(0),
            refused_sessions: AtomicUsize::new(0),
            state: Mutex::new(State::default()),
            open: Mutex::new(HashMap::new()),
            started: Instant::now(),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("smtp-test-accept-{}", addr.port()))
                .spawn(move || accept_loop(listener, shared))
                .expect("spawn test SMTP accept thread")
        };
        SmtpServer {
            addr,
            ca_pem: pki.ca_pem,
            cert_pem: pki.cert_pem,
            cert_der: pki.cert_der,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// The listening port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `smtp://127.0.0.1:PORT`, for `--smtp`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port())
    }

    /// The listening address (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// PEM of the test CA that signed the server certificate (valid for
    /// `localhost` and `127.0.0.1`); write it to a file for `--ca-cert`.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// PEM of the server's own certificate (for pinning with --ca-cert).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// DER of the server's own certificate (for --tls-fingerprint).
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// Every line the server read in command mode (EHLO, MAIL, RCPT, DATA,
    /// RSET, QUIT, …), across all connections, trimmed; message content
    /// is not included.
    pub fn commands(&self) -> Vec<String> {
        lock(&self.shared.state).commands.clone()
    }

    /// How many commands the server read that start with `verb`
    /// (case-insensitively).
    pub fn count(&self, verb: &str) -> usize {
        self.commands_starting(verb).len()
    }

    /// The commands received that start with `verb` (in any case).
    pub fn commands_starting(&self, verb: &str) -> Vec<String> {
        let verb = verb.to_ascii_uppercase();
        let commands = &lock(&self.shared.state).commands;
        commands
            .iter()
            .filter(|c| c.to_ascii_uppercase().starts_with(&verb))
            .cloned()
            .collect()
    }

    /// Accepted messages so far, in acceptance order.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.state).received.clone()
    }

    /// Checks that no client ever connected, so nothing was sent.
    #[track_caller]
    pub fn assert_untouched(&self) {
        assert!(self.received().is_empty());
        assert_eq!(self.connections(), 0);
    }

    /// Number of TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// The most sessions that were open at once (refused ones not counted).
    pub fn peak_sessions(&self) -> usize {
        self.shared.peak_sessions.load(Ordering::SeqCst)
    }

    /// Sessions turned away with 421 because of `max_sessions`.
    pub fn refused_sessions(&self) -> usize {
        self.shared.refused_sessions.load(Ordering::SeqCst)
    }

    /// Number of completed DATA transfers so far, including temp-failed ones.
    pub fn attempts(&self) -> usize {
        lock(&self.shared.state).attempts
    }

    /// Waits until at least `n` messages were accepted; false on timeout.
    /// For tests that run the client in the background.
    pub fn wait_for_received(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if lock(&self.shared.state).received.len() >= n {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Closes the listener and every open connection and joins all server
    /// threads. Idempotent; also done on drop.
    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take()
            && acceptor.join().is_err()
        {
            eprintln!("[smtp-test {}] accept thread panicked", self.port());
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// State shared by the accept thread, the connection threads and the handle.
struct Shared {
    config: ServerConfig,
    tls: Arc<rustls::ServerConfig>,
    session: SessionBuilder,
    port: u16,
    trace: bool,
    stop: AtomicBool,
    connections: AtomicUsize,
    /// Sessions open now, the most at once, and those refused by `max_sessions`.
    active: AtomicUsize,
    peak_sessions: AtomicUsize,
    refused_sessions: AtomicUsize,
    state: Mutex<State>,
    /// Clones of open sockets, so `stop` can shut down blocked readers.
    open: Mutex<HashMap<u64, TcpStream>>,
    /// When the server started (for `greylist_for`).
    started: Instant,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    commands: Vec<String>,
    attempts: usize,
    drop_fired: bool,
    close_421_fired: bool,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn log(&self, msg: impl std::fmt::Display) {
        eprintln!("[smtp-test {}] {msg}", self.port);
    }
}

/// Ignores poisoning: one panicking thread must not take the others down.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    let mut next_id = 0u64;
    while !shared.stopping() {
        let tcp = match listener.accept() {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                if e.kind() != io::ErrorKind::WouldBlock {
                    shared.log(format_args!("accept failed: {e}"));
                }
                thread::sleep(ACCEPT_POLL);
                continue;
            }
        };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let id = next_id;
        next_id += 1;
        // Accepted sockets may inherit non-blocking mode on some platforms.
        let clone = tcp.set_nonblocking(false).and_then(|()| tcp.try_clone());
        match clone {
            Ok(clone) => lock(&shared.open).insert(id, clone),
            Err(e) => {
                shared.log(format_args!("cannot set up connection: {e}"));
                continue;
            }
        };
        let worker = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("smtp-test-conn-{id}"))
                .spawn(move || serve_connection(shared, tcp, id))
        };
        match worker {
            Ok(handle) => workers.push(handle),
            Err(e) => {
                shared.log(format_args!("cannot spawn connection thread: {e}"));
                if let Some(s) = lock(&shared.open).remove(&id) {
                    let _ = s.shutdown(Shutdown::Both);
                }
            }
        }
        // Finished threads need no join; dropping their handles is enough.
        workers.retain(|h| !h.is_finished());
    }
    drop(listener);
    for (_, s) in lock(&shared.open).drain() {
        let _ = s.shutdown(Shutdown::Both);
    }
    for worker in workers {
        if worker.join().is_err() {
            shared.log("connection thread panicked");
        }
    }
}

fn serve_connection(shared: Arc<Shared>, tcp: TcpStream, id: u64) {
    if let Err(e) = run_session(&shared, tcp)
        && !shared.stopping()
    {
        shared.log(format_args!("connection {id}: {e}"));
    }
    if let Some(s) = lock(&shared.open).remove(&id) {
        // Our clone keeps the socket open, so close it explicitly.
        let _ = s.shutdown(Shutdown::Both);
    }
}

/// What the connection loop expects the next line to be.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Mode {
    Command,
    Data,
    AuthResponse,
}

/// Per-connection state, shared between the mailin `Handler` (owned by the
/// `Session`, which has no accessor for it) and the connection loop.
#[derive(Default)]
struct Conn {
    tls: bool,
    auth_user: Option<String>,
    mail_from: String,
    rcpt_to: Vec<String>,
    data: Vec<u8>,
    /// Set at end of DATA: the reply we really send (see `data_end`).
    finished: Option<Finished>,
    /// Fault injection armed for the next command on this connection.
    drop_next: bool,
    close_421_next: bool,
    /// Messages finished on this connection (for `close_421_every`).
    messages: usize,
    /// An OAuth2 token was refused with RFC 7628's challenge: the next
    /// line is the client's answer, which should be this.
    oauth_challenged: Option<&'static str>,
    /// The password the login used, for `Sasl::echo_password_at_mail`.
    password: Option<String>,
}

struct Finished {
    index: usize,
    reply: Response,
    accepted: Option<Received>,
    /// What the server does instead of (or besides) a plain reply.
    fault: DataFault,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DataFault {
    None,
    /// Close without replying.
    Drop,
    /// Reply with a line that is no SMTP reply.
    Garbage,
}

struct ConnHandler {
    shared: Arc<Shared>,
    conn: Rc<RefCell<Conn>>,
}

impl ConnHandler {
    fn check_credentials(&mut self, user: &str, password: &str) -> Response {
        let right = matches!(&self.shared.config.auth, Some((u, p)) if u == user && p == password);
        if let Some(refusal) = self.shared.config.sasl.password_refusal(password, right) {
            return refusal;
        }
        if !right {
            return Response::custom(535, "5.7.8 authentication credentials invalid".into());
        }
        let mut conn = self.conn.borrow_mut();
        conn.auth_user = Some(user.to_owned());
        conn.password = Some(password.to_owned());
        mailin::response::AUTH_OK
    }
}

impl Handler for ConnHandler {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        let mut conn = self.conn.borrow_mut();
        conn.mail_from = from.to_owned();
        conn.rcpt_to.clear();
        conn.data.clear();
        mailin::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        if self.shared.config.rejects(to) {
            return Response::custom(550, "5.1.1 no such user".into());
        }
        self.conn.borrow_mut().rcpt_to.push(to.to_owned());
        mailin::response::OK
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.conn.borrow_mut().data.clear();
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.conn.borrow_mut().data.extend_from_slice(buf);
        Ok(())
    }

    /// Always returns 250 to mailin and leaves the real reply in
    /// `Conn::finished`: on an error reply mailin's FSM stays in DATA state
    /// and would swallow every later command as message content.
    fn data_end(&mut self) -> Response {
        let index = {
            let mut state = lock(&self.shared.state);
            state.attempts += 1;
            state.attempts
        };
        let config = &self.shared.config;
        sleep_unless_stopped(config.delay_per_message, &self.shared.stop);
        if config.late_reply.contains(&index) {
            sleep_unless_stopped(config.late_by, &self.shared.stop);
        }
        let fault = if config.drops_after(index) {
            DataFault::Drop
        } else if config.garbage_reply.contains(&index) {
            DataFault::Garbage
        } else {
            DataFault::None
        };
        let mut conn = self.conn.borrow_mut();
        let data = std::mem::take(&mut conn.data);
        let finished = if config.temp_fails(index) {
            Finished {
                index,
                reply: Response::custom(451, "4.3.0 try again later".into()),
                accepted: None,
                fault,
            }
        } else {
            Finished {
                index,
                fault,
                reply: Response::custom(250, format!("2.0.0 OK queued as {index}")),
                accepted: Some(Received {
                    mail_from: conn.mail_from.clone(),
                    rcpt_to: conn.rcpt_to.clone(),
                    data,
                    tls: conn.tls,
                    auth_user: conn.auth_user.clone(),
                }),
            }
        };
        conn.finished = Some(finished);
        mailin::response::OK
    }

    fn auth_plain(&mut self, authz: &str, authn: &str, password: &str) -> Response {
        if !authz.is_empty() && authz != authn {
            return Response::custom(535, "5.7.8 cannot act as another user".into());
        }
        self.check_credentials(authn, password)
    }

    fn auth_login(&mut self, username: &str, password: &str) -> Response {
        self.check_credentials(username, password)
    }
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let deadline = Instant::now() + total;
    while !stop.load(Ordering::SeqCst) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        thread::sleep(left.min(Duration::from_millis(20)));
    }
}

/// The connection, before or after STARTTLS.
struct Stream {
    /// The socket (a handle of its own, so it can be shut down whatever
    /// reads and writes it).
    tcp: TcpStream,
    /// The TLS session that reads and writes it once TLS started.
    tls: Option<Box<StreamOwned<ServerConnection, TcpStream>>>,
}

/// Either kind of connection, read and written the same way.
trait Io: Read + Write {}
impl<T: Read + Write> Io for T {}

impl Stream {
    fn plain(tcp: TcpStream) -> Stream {
        Stream { tcp, tls: None }
    }

    fn io(&mut self) -> &mut dyn Io {
        match &mut self.tls {
            Some(tls) => tls.as_mut(),
            None => &mut self.tcp,
        }
    }

    /// Polite close: TLS close_notify if any, then FIN.
    fn close(&mut self) {
        if let Some(tls) = &mut self.tls {
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
        self.abort();
    }

    /// Abrupt close: no reply, no close_notify.
    fn abort(&self) {
        let _ = self.tcp.shutdown(Shutdown::Both);
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.io().read(buf)
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.io().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.io().flush()
    }
}

/// Splits the byte stream into CRLF (or bare LF) terminated lines, keeping
/// the terminator because mailin expects it. Our own buffer (not BufReader)
/// so STARTTLS can check no plaintext was pipelined past it.
#[derive(Default)]
struct LineReader {
    buf: Vec<u8>,
    scanned: usize,
}

impl LineReader {
    /// `Ok(None)` on end of stream.
    fn read_line(&mut self, r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(pos) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let rest = self.buf.split_off(self.scanned + pos + 1);
                self.scanned = 0;
                return Ok(Some(std::mem::replace(&mut self.buf, rest)));
            }
            self.scanned = self.buf.len();
            if self.buf.len() > MAX_LINE {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
            }
            let mut chunk = [0u8; 8192];
            let n = match r.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A TLS peer that closes without close_notify: plain EOF to us.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => 0,
                Err(e) => return Err(e),
            };
            if n == 0 {
                if !self.buf.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "EOF after partial line {:?}",
                            String::from_utf8_lossy(&self.buf)
                        ),
                    ));
                }
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Applies `Quirks::bare_codes` and `bare_lf` to a reply about to be sent.
fn shape(shared: &Shared, buf: Vec<u8>) -> Vec<u8> {
    let quirks = &shared.config.quirks;
    let mut text = String::from_utf8_lossy(&buf).into_owned();
    if quirks.bare_codes && text.matches('\n').count() == 1 && text.len() > 3 {
        text = format!("{}\r\n", &text[..3]);
    }
    if quirks.bare_lf {
        text = text.replace("\r\n", "\n");
    }
    text.into_bytes()
}

fn write_reply(shared: &Shared, stream: &mut Stream, res: &Response) -> io::Result<()> {
    write_raw(shared, stream, &res.buffer()?)
}

/// Writes reply bytes as they are (shaped by the quirks), in one write.
fn write_raw(shared: &Shared, stream: &mut Stream, bytes: &[u8]) -> io::Result<()> {
    let buf = shape(shared, bytes.to_vec());
    if shared.trace {
        let text = String::from_utf8_lossy(&buf);
        shared.log(format_args!(
            "S: {}",
            text.trim_end().replace("\r\n", " | ")
        ));
    }
    stream.write_all(&buf)?;
    stream.flush()
}

/// Commands we answer before mailin sees them, either because mailin gets
/// them wrong or because they are our policy rather than protocol.
fn pre_filter(shared: &Shared, conn: &Conn, line: &[u8]) -> Option<Response> {
    let verb = line
        .split(|b| b.is_ascii_whitespace())
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let config = &shared.config;
    let quirks = &config.quirks;
    let text = String::from_utf8_lossy(line).trim().to_string();
    let argument = |prefix: &str| {
        text.get(prefix.len()..)
            .unwrap_or("")
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string()
    };
    match verb.as_slice() {
        b"EHLO" | b"HELO" if quirks.need_fqdn_helo => {
            let name = argument("EHLO");
            let literal = name.starts_with('[') && name.ends_with(']');
            if !literal && !name.contains('.') {
                return Some(Response::custom(
                    504,
                    format!("5.5.2 <{name}>: Helo command rejected: need fully-qualified hostname"),
                ));
            }
        }
        b"MAIL" if config.sasl.mail_refusal(conn).is_some() => {
            return config.sasl.mail_refusal(conn);
        }
        b"MAIL" if quirks.refuse_sender_at_mail => {
            let from = argument("MAIL FROM:");
            return Some(Response::custom(
                553,
                format!("5.7.1 <{from}>: Sender address rejected: not owned by user"),
            ));
        }
        b"RCPT" if quirks.refuse_sender_at_rcpt => {
            return Some(Response::custom(
                553,
                "5.7.1 Sender address rejected: not owned by user".into(),
            ));
        }
        b"RCPT"
            if quirks
                .defer_rcpt
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&argument("RCPT TO:"))) =>
        {
            return Some(Response::custom(
                450,
                "4.2.0 Recipient address rejected: try again later".into(),
            ));
        }
        b"MAIL"
            if config
                .quota_after
                .as_ref()
                .is_some_and(|(n, _, _)| lock(&shared.state).received.len() >= *n) =>
        {
            let (_, code, text) = config.quota_after.clone().unwrap_or_default();
            return Some(Response::custom(code, text));
        }
        b"RCPT" if shared.started.elapsed() < config.greylist_for => {
            return Some(Response::custom(
                451,
                "4.7.1 Greylisted, see https://www.postfix.org/postscreen.8.html".into(),
            ));
        }
        b"AUTH" if quirks.echo_auth_in_535 => {
            return Some(Response::custom(
                535,
                format!("5.7.8 Error: authentication failed: {text}"),
            ));
        }
        _ => {}
    }
    match verb.as_slice() {
        // mailin answers STARTTLS with "220 go ahead" even when TLS is off or
        // already active if AUTH is enabled.
        b"STARTTLS" if !config.tls_enabled() => {
            Some(Response::custom(502, "5.5.1 STARTTLS not supported".into()))
        }
        b"STARTTLS" if conn.tls => Some(Response::custom(503, "5.5.1 TLS already active".into())),
        b"MAIL" if config.require_tls && !conn.tls => Some(Response::custom(
            530,
            "5.7.0 Must issue a STARTTLS command first".into(),
        )),
        // mailin would say "503 Bad sequence of commands".
        b"MAIL"
            if (config.auth.is_some() || config.sasl.oauth.is_some())
                && conn.auth_user.is_none() =>
        {
            Some(Response::custom(
                530,
                "5.7.0 Authentication required".into(),
            ))
        }
        _ => None,
    }
}

fn is_ehlo(line: &[u8]) -> bool {
    line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"EHLO")
}

/// mailin's EHLO reply with the lines it cannot make added at the end:
/// PIPELINING, and the OAuth2 mechanisms (only after STARTTLS when TLS is
/// on, as real servers offer AUTH).
fn write_ehlo(shared: &Shared, stream: &mut Stream, res: &Response, tls: bool) -> io::Result<()> {
    let text = String::from_utf8_lossy(&res.buffer()?).into_owned();
    let config = &shared.config;
    let mut extra = Vec::new();
    if let Some(auth) = config.sasl.offered()
        && (tls || !config.tls_enabled())
    {
        extra.push(auth);
    }
    if config.pipelining {
        extra.push("PIPELINING");
    }
    // Every line but the last is "250-…", the last "250 …".
    let mut lines: Vec<&str> = text.lines().map(|l| l.get(4..).unwrap_or("")).collect();
    lines.extend(extra);
    let mut out = String::new();
    for (i, rest) in lines.iter().enumerate() {
        let sep = if i + 1 == lines.len() { ' ' } else { '-' };
        out.push_str(&format!("250{sep}{rest}\r\n"));
    }
    write_raw(shared, stream, out.as_bytes())
}

/// Counts the session as open until dropped.
struct SessionSlot<'a>(&'a Shared);

impl Drop for SessionSlot<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

fn run_session(shared: &Arc<Shared>, tcp: TcpStream) -> io::Result<()> {
    let now_open = shared.active.fetch_add(1, Ordering::SeqCst) + 1;
    let _slot = SessionSlot(shared);
    if shared.config.max_sessions.is_some_and(|k| now_open > k) {
        shared.refused_sessions.fetch_add(1, Ordering::SeqCst);
        let mut stream = Stream::plain(tcp);
        let res = Response::custom(421, "4.7.0 too many connections, try again later".into());
        let _ = write_reply(shared, &mut stream, &res);
        stream.close();
        return Ok(());
    }
    shared.peak_sessions.fetch_max(now_open, Ordering::SeqCst);
    tcp.set_read_timeout(Some(IO_TIMEOUT))?;
    tcp.set_write_timeout(Some(IO_TIMEOUT))?;
    let ip = tcp.peer_addr()?.ip();
    let conn = Rc::new(RefCell::new(Conn::default()));
    let handler = ConnHandler {
        shared: Arc::clone(shared),
        conn: Rc::clone(&conn),
    };
    let mut session: Session<ConnHandler> = shared.session.build(ip, handler);
    let mut stream = Stream::plain(tcp);
    let mut reader = LineReader::default();
    let mut mode = Mode::Command;
    let quirks = &shared.config.quirks;
    if quirks.never_greet {
        sleep_unless_stopped(IO_TIMEOUT, &shared.stop);
        stream.close();
        return Ok(());
    }
    if quirks.implicit_tls {
        stream = upgrade(shared, stream)?;
        session.tls_active();
        conn.borrow_mut().tls = true;
    }

    write_reply(shared, &mut stream, &session.greeting())?;
    loop {
        let line = match reader.read_line(&mut stream) {
            Ok(Some(line)) => line,
            Ok(None) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                let res = Response::custom(500, "5.5.2 line too long".into());
                let _ = write_reply(shared, &mut stream, &res);
                stream.close();
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        if shared.trace && mode != Mode::Data {
            shared.log(format_args!(
                "C: {}",
                String::from_utf8_lossy(&line).trim_end()
            ));
        }

        if mode != Mode::Data {
            let text = String::from_utf8_lossy(&line).trim().to_string();
            lock(&shared.state).commands.push(text);
        }
        if mode == Mode::Command {
            let (drop_now, close_now) = {
                let c = conn.borrow();
                (c.drop_next, c.close_421_next)
            };
            if drop_now {
                shared.log("fault injection: dropping connection");
                stream.abort();
                return Ok(());
            }
            if close_now {
                shared.log("fault injection: 421 and close");
                let res = Response::custom(421, "4.7.0 closing".into());
                let _ = write_reply(shared, &mut stream, &res);
                stream.close();
                return Ok(());
            }
            let text = String::from_utf8_lossy(&line).trim().to_string();
            let answered = sasl::answer(shared, &mut conn.borrow_mut(), &text);
            if let Some(bytes) = answered {
                write_raw(shared, &mut stream, &bytes)?;
                continue;
            }
            let filtered = pre_filter(shared, &conn.borrow(), &line);
            if let Some(res) = filtered {
                write_reply(shared, &mut stream, &res)?;
                continue;
            }
        }

        let res = session.process(&line);

        let finished = conn.borrow_mut().finished.take();
        if let Some(finished) = finished {
            mode = Mode::Command;
            if !finish_message(shared, &mut stream, &conn, finished)? {
                return Ok(());
            }
            continue;
        }

        match res.action {
            Action::NoReply => {}
            Action::Reply if is_ehlo(&line) && res.code == 250 => {
                let tls = conn.borrow().tls;
                write_ehlo(shared, &mut stream, &res, tls)?;
            }
            Action::Reply if res.code == 354 && shared.config.early_reply_with_354 => {
                let bytes = b"354 go ahead\r\n250 2.0.0 OK queued\r\n";
                write_raw(shared, &mut stream, bytes)?;
                mode = Mode::Data;
            }
            Action::Reply => {
                write_reply(shared, &mut stream, &res)?;
                mode = match res.code {
                    354 => Mode::Data,
                    334 => Mode::AuthResponse,
                    _ => Mode::Command,
                };
            }
            Action::Close => {
                let _ = write_reply(shared, &mut stream, &res);
                stream.close();
                return Ok(());
            }
            Action::UpgradeTls => {
                if !reader.is_empty() {
                    // RFC 3207: nothing may be pipelined after STARTTLS.
                    let res = Response::custom(503, "5.5.1 data after STARTTLS".into());
                    let _ = write_reply(shared, &mut stream, &res);
                    stream.close();
                    return Err(io::Error::other("client pipelined data after STARTTLS"));
                }
                write_reply(shared, &mut stream, &res)?;
                stream = upgrade(shared, stream)?;
                session.tls_active();
                conn.borrow_mut().tls = true;
                mode = Mode::Command;
            }
        }
    }
}

/// Sends the real end-of-DATA reply, records the message and arms faults.
/// `Ok(false)` when the connection was closed on purpose.
fn finish_message(
    shared: &Shared,
    stream: &mut Stream,
    conn: &RefCell<Conn>,
    finished: Finished,
) -> io::Result<bool> {
    let config = &shared.config;
    let reply = match finished.fault {
        DataFault::Drop => None,
        DataFault::Garbage => Some(b"this is not an SMTP reply\r\n".to_vec()),
        DataFault::None if config.mixed_codes_reply => {
            Some(b"550-5.7.1 rejected\r\n250 2.0.0 ok\r\n".to_vec())
        }
        DataFault::None if config.multiline_data_reply && finished.accepted.is_some() => Some(
            format!(
                "250-2.0.0 OK\r\n250-queued as {}\r\n250 have a nice day\r\n",
                finished.index
            )
            .into_bytes(),
        ),
        DataFault::None => Some(finished.reply.buffer()?),
    }
    .map(|bytes| shape(shared, bytes));
    // Hold the lock while replying so a test that saw the 250 and then
    // calls `received()` is guaranteed to find the message. The message is
    // recorded even when the reply cannot be written: the server has it.
    let written = {
        let mut state = lock(&shared.state);
        let written = match &reply {
            None => {
                shared.log("fault injection: dropping connection after the message");
                stream.abort();
                Ok(())
            }
            Some(bytes) => {
                if shared.trace {
                    let text = String::from_utf8_lossy(bytes);
                    shared.log(format_args!(
                        "S: {}",
                        text.trim_end().replace("\r\n", " | ")
                    ));
                }
                stream.write_all(bytes).and_then(|()| stream.flush())
            }
        };
        if let Some(message) = finished.accepted {
            state.received.push(message);
        }
        written
    };
    written?;
    if reply.is_none() {
        return Ok(false);
    }
    let mut state = lock(&shared.state);
    let mut c = conn.borrow_mut();
    c.messages += 1;
    if config.drop_after == Some(finished.index) && !state.drop_fired {
        state.drop_fired = true;
        c.drop_next = true;
    }
    if config.close_421_after == Some(finished.index) && !state.close_421_fired {
        state.close_421_fired = true;
        c.close_421_next = true;
    }
    if config
        .close_421_every
        .is_some_and(|k| k > 0 && c.messages.is_multiple_of(k))
    {
        c.close_421_next = true;
    }
    Ok(true)
}

fn upgrade(shared: &Shared, stream: Stream) -> io::Result<Stream> {
    if stream.tls.is_some() {
        return Err(io::Error::other("STARTTLS on a TLS connection"));
    }
    let tls = ServerConnection::new(Arc::clone(&shared.tls)).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(tls, stream.tcp.try_clone()?);
    // Handshake now, so a failure is reported as such and not as a read error.
    while tls.conn.is_handshaking() {
        if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
            stream.abort();
            return Err(io::Error::new(
                e.kind(),
                format!("TLS handshake failed: {e}"),
            ));
        }
    }
    let tls = Some(Box::new(tls));
    Ok(Stream { tls, ..stream })
}

/// A throwaway CA and the server's certificate (see [`CertKind`]).
struct TestPki {
    ca_pem: String,
    cert_pem: String,
    cert_der: Vec<u8>,
    server_config: Arc<rustls::ServerConfig>,
}

impl TestPki {
    fn generate(kind: CertKind) -> TestPki {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
            IsCa, KeyPair, KeyUsagePurpose,
        };

        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "protest-letter test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().expect("CA key");
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA certificate");

        let names = match kind {
            CertKind::OtherHost => vec!["mail.example.org".to_owned()],
            _ => vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
        };
        let mut leaf_params = CertificateParams::new(names).expect("server certificate params");
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let leaf_key = KeyPair::generate().expect("server key");
        let (leaf, chain) = if kind == CertKind::SelfSignedCa {
            // `openssl req -x509`'s defaults: basicConstraints CA:TRUE and
            // no key usage or extended key usage.
            leaf_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let leaf = leaf_params
                .self_signed(&leaf_key)
                .expect("self-signed certificate");
            let chain = vec![leaf.der().clone()];
            (leaf, chain)
        } else {
            leaf_params.is_ca = IsCa::ExplicitNoCa;
            leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            let leaf = leaf_params
                .signed_by(&leaf_key, &*ca)
                .expect("server certificate");
            let chain = vec![leaf.der().clone(), ca.der().clone()];
            (leaf, chain)
        };
        let chain: Vec<CertificateDer<'static>> = chain;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        // Explicit provider: don't depend on a process-wide default.
        let server_config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("TLS server config");

        TestPki {
            ca_pem: ca.pem(),
            cert_pem: leaf.pem(),
            cert_der: leaf.der().to_vec(),
            server_config: Arc::new(server_config),
        }
    }
}

/// Checks the server against a real client (lettre), not our binary.
#[cfg(test)]
mod selftest {
    use super::*;
    use lettre::address::Envelope;
    use lettre::message::header::ContentType;
    use lettre::transport::smtp::authentication::{Credentials, Mechanism};
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::transport::smtp::{PoolConfig, SmtpTransport};
    use lettre::{Message, Transport};

    fn message(to: &str, subject: &str) -> Message {
        Message::builder()
            .from("Sender <sender@example.org>".parse().unwrap())
            .to(to.parse().unwrap())
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(format!("Body of {subject}\r\n"))
            .unwrap()
    }

    /// Plain SMTP, one connection per message (as without a pool).
    fn plain(server: &SmtpServer) -> SmtpTransport {
        SmtpTransport::builder_dangerous("127.0.0.1")
            .port(server.port())
            .timeout(Some(Duration::from_secs(10)))
            .pool_config(PoolConfig::new().max_size(0))
            .build()
    }

    /// The reply code of a failed send.
    fn code(err: &lettre::transport::smtp::Error) -> Option<String> {
        err.status().map(|c| c.to_string())
    }

    /// Plain SMTP with lettre's connection pool (its default).
    fn pooled(server: &SmtpServer) -> SmtpTransport {
        SmtpTransport::builder_dangerous("127.0.0.1")
            .port(server.port())
            .build()
    }

    fn tls_params(server: &SmtpServer, domain: &str) -> TlsParameters {
        let ca = Certificate::from_pem(server.ca_pem().as_bytes()).unwrap();
        TlsParameters::builder(domain.to_owned())
            .add_root_certificate(ca)
            .build_rustls()
            .unwrap()
    }

    fn starttls(server: &SmtpServer, domain: &str) -> SmtpTransport {
        SmtpTransport::builder_dangerous("127.0.0.1")
            .port(server.port())
            .timeout(Some(Duration::from_secs(10)))
            .tls(Tls::Required(tls_params(server, domain)))
            .build()
    }

    #[test]
    fn plain_send_is_received_and_server_stops() {
        let mut server = SmtpServer::start(ServerConfig::default());
        let addr = server.addr();
        assert!(addr.ip().is_loopback());
        plain(&server)
            .send(&message("Rcpt <rcpt@example.net>", "hello"))
            .unwrap();
        let got = server.received();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].mail_from, "sender@example.org");
        assert_eq!(got[0].rcpt_to, vec!["rcpt@example.net".to_owned()]);
        assert!(got[0].text().contains("Subject: hello\r\n"));
        assert!(got[0].text().contains("Body of hello"));
        assert!(!got[0].tls);
        assert_eq!(got[0].auth_user, None);
        assert_eq!(server.connections(), 1);

        server.stop();
        assert!(TcpStream::connect(addr).is_err(), "port still accepts");
        // Stopping twice (and the drop after it) is harmless.
        server.stop();
    }

    #[test]
    fn stop_closes_idle_pooled_connections() {
        let server = SmtpServer::start(ServerConfig::default());
        let transport = pooled(&server);
        transport.send(&message("a@example.net", "pooled")).unwrap();
        let started = Instant::now();
        drop(server); // the pooled connection is still open here
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn starttls_is_recorded() {
        let server = SmtpServer::start(ServerConfig::default().starttls());
        starttls(&server, "localhost")
            .send(&message("a@example.net", "secret"))
            .unwrap();
        let got = server.received();
        assert_eq!(got.len(), 1);
        assert!(got[0].tls);
    }

    #[test]
    fn require_tls_refuses_plain_mail() {
        let server = SmtpServer::start(ServerConfig::default().require_tls());
        let err = plain(&server)
            .send(&message("a@example.net", "plain"))
            .unwrap_err();
        assert!(err.is_permanent(), "{err}");
        assert_eq!(code(&err), Some("530".into()));
        // Certificate is valid for the IP address too.
        starttls(&server, "127.0.0.1")
            .send(&message("a@example.net", "tls"))
            .unwrap();
        assert_eq!(server.received().len(), 1);
    }

    #[test]
    fn auth_plain_and_login() {
        let server = SmtpServer::start(ServerConfig::default().auth("alice", "s3cret"));
        for mechanism in [Mechanism::Plain, Mechanism::Login] {
            SmtpTransport::builder_dangerous("127.0.0.1")
                .port(server.port())
                .credentials(Credentials::new("alice".into(), "s3cret".into()))
                .authentication(vec![mechanism])
                .build()
                .send(&message("a@example.net", "authed"))
                .unwrap();
        }
        let got = server.received();
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|m| m.auth_user.as_deref() == Some("alice")));

        let err = SmtpTransport::builder_dangerous("127.0.0.1")
            .port(server.port())
            .credentials(Credentials::new("alice".into(), "wrong".into()))
            .authentication(vec![Mechanism::Plain])
            .build()
            .send(&message("a@example.net", "denied"))
            .unwrap_err();
        assert_eq!(code(&err), Some("535".into()), "{err}");

        let err = plain(&server)
            .send(&message("a@example.net", "anonymous"))
            .unwrap_err();
        assert_eq!(code(&err), Some("530".into()), "{err}");
        assert_eq!(server.received().len(), 2);
    }

    #[test]
    fn auth_after_starttls() {
        let server = SmtpServer::start(ServerConfig::default().starttls().auth("bob", "pw"));
        SmtpTransport::builder_dangerous("127.0.0.1")
            .port(server.port())
            .tls(Tls::Required(tls_params(&server, "localhost")))
            .credentials(Credentials::new("bob".into(), "pw".into()))
            .build()
            .send(&message("a@example.net", "both"))
            .unwrap();
        let got = server.received();
        assert!(got[0].tls);
        assert_eq!(got[0].auth_user.as_deref(), Some("bob"));
    }

    #[test]
    fn temp_fail_is_transient_and_not_recorded() {
        let server = SmtpServer::start(ServerConfig::default().temp_fail([2]));
        let t = plain(&server);
        t.send(&message("a@example.net", "one")).unwrap();
        let err = t.send(&message("a@example.net", "two")).unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert_eq!(code(&err), Some("451".into()));
        t.send(&message("a@example.net", "three")).unwrap();
        let subjects: Vec<bool> = server
            .received()
            .iter()
            .map(|m| m.text().contains("Subject: two"))
            .collect();
        assert_eq!(subjects, vec![false, false]);
        assert_eq!(server.attempts(), 3);
    }

    #[test]
    fn temp_fail_closure() {
        let server = SmtpServer::start(ServerConfig::default().temp_fail_if(|i| i % 2 == 1));
        let t = plain(&server);
        assert!(t.send(&message("a@example.net", "1")).is_err());
        assert!(t.send(&message("a@example.net", "2")).is_ok());
        assert_eq!(server.received().len(), 1);
    }

    #[test]
    fn reject_rcpt_is_permanent() {
        let server = SmtpServer::start(ServerConfig::default().reject_rcpt("Ghost@Example.net"));
        let err = plain(&server)
            .send(&message("ghost@example.net", "boo"))
            .unwrap_err();
        assert!(err.is_permanent(), "{err}");
        assert_eq!(code(&err), Some("550".into()));
        assert!(server.received().is_empty());
    }

    #[test]
    fn pooled_transport_reuses_one_connection() {
        let server = SmtpServer::start(ServerConfig::default());
        let t = pooled(&server);
        t.send(&message("a@example.net", "first")).unwrap();
        t.send(&message("b@example.net", "second")).unwrap();
        assert_eq!(server.received().len(), 2);
        assert_eq!(server.connections(), 1);
    }

    /// lettre's pool probes an idle connection with NOOP; both faults make
    /// that probe fail, so the second message goes over a new connection.
    #[test]
    fn drop_and_421_force_a_new_connection() {
        for config in [
            ServerConfig::default().drop_after(1),
            ServerConfig::default().close_421_after(1),
        ] {
            let server = SmtpServer::start(config);
            let t = pooled(&server);
            for subject in ["first", "second", "third"] {
                t.send(&message("a@example.net", subject)).unwrap();
            }
            assert_eq!(server.received().len(), 3);
            assert_eq!(server.connections(), 2, "fault fires once only");
        }
    }

    #[test]
    fn dot_unstuffing_and_long_lines() {
        let server = SmtpServer::start(ServerConfig::default());
        let long = "x".repeat(3000);
        let body = format!("Subject: raw\r\n\r\n.leading dot\r\n..two\r\n{long}\r\n.\r\nend\r\n");
        let envelope = Envelope::new(
            Some("s@example.org".parse().unwrap()),
            vec!["r@example.net".parse().unwrap()],
        )
        .unwrap();
        plain(&server).send_raw(&envelope, body.as_bytes()).unwrap();
        let got = server.received();
        assert!(got[0].text().starts_with(&body), "{:?}", got[0].text());
    }

    #[test]
    fn delay_per_message_slows_replies() {
        let delay = Duration::from_millis(300);
        let server = SmtpServer::start(ServerConfig::default().delay_per_message(delay));
        let started = Instant::now();
        plain(&server)
            .send(&message("a@example.net", "slow"))
            .unwrap();
        assert!(started.elapsed() >= delay);
    }

    #[test]
    fn misbehaving_raw_client_does_not_break_server() {
        let server = SmtpServer::start(ServerConfig::default());
        let mut raw = TcpStream::connect(server.addr()).unwrap();
        raw.write_all(b"EHLO x\r\nBOGUS\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
            .unwrap();
        raw.write_all(b"partial line then EOF").unwrap();
        raw.shutdown(Shutdown::Write).unwrap();
        let mut replies = String::new();
        raw.read_to_string(&mut replies).unwrap();
        assert!(replies.starts_with("220 "), "{replies}");
        assert!(replies.contains("\r\n500 "), "{replies}");
        assert!(replies.contains("\r\n354 "), "{replies}");
        assert!(server.received().is_empty());
        // Still serving.
        plain(&server)
            .send(&message("a@example.net", "after"))
            .unwrap();
        assert_eq!(server.received().len(), 1);
    }
}
