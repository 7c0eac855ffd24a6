//! The SSH [`Transport`], on russh and tokio. This is the only file that names russh.
//!
//! It owns connecting (TCP or a `direct-tcpip` tunnel through a jump host, with a timeout per
//! attempt and bounded retries with exponential backoff for connection failures only), checking
//! every hop's host key against `known_hosts` before anything else happens, public-key
//! authentication (ed25519/ECDSA key files, optionally encrypted, then ssh-agent keys), and
//! running commands on channels of the one connection, several at a time if the caller wants.
//!
//! russh is built without its `rsa` feature (RUSTSEC-2023-0071), so RSA keys are refused with a
//! message saying so, and only ed25519 and ECDSA host keys are negotiated.

use std::borrow::Cow;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use russh::client::{self, DisconnectReason, Handle, Msg};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{
    Algorithm, EcdsaCurve, HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate,
};
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Disconnect, Sig};

use super::known_hosts::{HostKey, HostKeyError, KeyTypeMismatch, KnownHosts};
use super::{
    ConnectSpec, Credentials, ExecOutput, RequestCounts, Transport, TransportError, TransportFuture,
};

/// Host-key algorithms this build can verify, most preferred first.
const HOST_KEY_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::Ed25519,
    Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP256,
    },
    Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP384,
    },
    Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP521,
    },
];

/// How many unanswered keepalives end a connection.
const KEEPALIVE_MAX: usize = 3;

/// A connected, authenticated SSH session to one terminal (perhaps through jump hosts).
pub struct SshTransport {
    target: String,
    session: Handle<Client>,
    /// The sessions carrying this one, outermost first. They are only held, so that the tunnel
    /// stays open as long as this session.
    jumps: Vec<Handle<Client>>,
    lost: LostReason,
    closed: AtomicBool,
    /// Session channels opened on this connection (one per `exec`, one per stream).
    channels: AtomicU64,
}

impl std::fmt::Debug for SshTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshTransport")
            .field("target", &self.target)
            .field("jumps", &self.jumps.len())
            .finish_non_exhaustive()
    }
}

impl SshTransport {
    /// Connects to `spec` (through its jump hosts, if any), checks every host key against
    /// `known_hosts` and logs in with `credentials`.
    ///
    /// Key files are read (and decrypted) before any connection is made, so a wrong passphrase
    /// is reported as such and costs no network round trip.
    pub async fn connect(
        spec: &ConnectSpec,
        credentials: &Credentials,
        known_hosts: Arc<KnownHosts>,
    ) -> Result<Self, TransportError> {
        let credentials = LoadedCredentials::load(credentials)?;
        let chain = connect_chain(spec, &credentials, &known_hosts).await?;
        Ok(SshTransport {
            target: spec.to_string(),
            session: chain.session,
            jumps: chain.jumps,
            lost: chain.lost,
            closed: AtomicBool::new(false),
            channels: AtomicU64::new(0),
        })
    }

    /// Starts `command` on a session channel of its own and leaves it running: what is sent
    /// goes to its stdin, what it prints comes back as [`StreamEvent`]s. The command shell
    /// ([`super::shell`]) lives on one of these for the whole visit.
    pub async fn open_stream(
        &self,
        command: &str,
    ) -> Result<(StreamWriter, StreamReader), TransportError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(TransportError::Closed {
                target: self.target.clone(),
            });
        }
        let during = || format!("starting `{}`", abbreviate(command));
        self.channels.fetch_add(1, Ordering::Relaxed);
        let channel = self
            .session
            .channel_open_session()
            .await
            .map_err(|e| self.failure(during(), &e))?;
        channel
            .exec(true, command)
            .await
            .map_err(|e| self.failure(during(), &e))?;
        let (reader, writer) = channel.split();
        Ok((
            StreamWriter {
                writer,
                target: self.target.clone(),
                lost: self.lost.clone(),
            },
            StreamReader { reader },
        ))
    }

    /// Why the connection ended, as far as known (`None` while it is up).
    pub fn lost_reason(&self) -> Option<String> {
        self.lost.get()
    }

    /// Whether the connection itself is gone (not only a channel).
    pub fn is_disconnected(&self) -> bool {
        self.session.is_closed()
    }

    /// The human label of the terminal, e.g. `chuo-t01 (127.0.1.3:22)`.
    pub fn target(&self) -> &str {
        &self.target
    }

    async fn run(&self, command: &str, stdin: Option<&[u8]>) -> Result<ExecOutput, TransportError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(TransportError::Closed {
                target: self.target.clone(),
            });
        }
        let during = || format!("running `{}`", abbreviate(command));
        self.channels.fetch_add(1, Ordering::Relaxed);
        let channel = self
            .session
            .channel_open_session()
            .await
            .map_err(|e| self.failure(during(), &e))?;
        channel
            .exec(true, command)
            .await
            .map_err(|e| self.failure(during(), &e))?;
        let (mut reader, writer) = channel.split();

        // Stdin is written while output is read: a command like `cat` echoes as it reads, and
        // with both sides waiting on full windows a sequential write-then-read would deadlock.
        let send_stdin = async {
            if let Some(data) = stdin {
                writer.data(data).await?;
            }
            writer.eof().await
        };
        let collect = async {
            let mut output = ExecOutput::default();
            let mut status = None;
            while let Some(message) = reader.wait().await {
                match message {
                    ChannelMsg::Data { data } => output.stdout.extend_from_slice(&data),
                    ChannelMsg::ExtendedData { data, ext: 1 } => {
                        output.stderr.extend_from_slice(&data)
                    }
                    ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                    ChannelMsg::ExitSignal { signal_name, .. } => {
                        let (name, number) = signal(&signal_name);
                        output.exit_signal = Some(name);
                        status = Some(128 + number);
                    }
                    ChannelMsg::Failure => {
                        return Err(TransportError::Protocol {
                            target: self.target.clone(),
                            reason: format!("the server refused to run `{}`", abbreviate(command)),
                        });
                    }
                    ChannelMsg::Close => break,
                    _ => {}
                }
            }
            match status {
                Some(status) => {
                    output.exit_status = status;
                    Ok(output)
                }
                None => Err(TransportError::Disconnected {
                    target: self.target.clone(),
                    during: during(),
                    reason: self
                        .lost
                        .get()
                        .unwrap_or_else(|| "the channel closed without an exit status".to_string()),
                }),
            }
        };
        tokio::pin!(send_stdin, collect);
        let mut sending = true;
        loop {
            tokio::select! {
                // A command may exit without reading all of its stdin; what it did is in its
                // output and exit status, so a failed write is not an error of its own.
                _ = &mut send_stdin, if sending => sending = false,
                output = &mut collect => return output,
            }
        }
    }

    /// Maps a russh error during use of the session to the error the user sees.
    fn failure(&self, during: String, error: &russh::Error) -> TransportError {
        if self.session.is_closed() || is_connection_error(error) {
            TransportError::Disconnected {
                target: self.target.clone(),
                during,
                reason: self.lost.get().unwrap_or_else(|| error.to_string()),
            }
        } else {
            TransportError::Protocol {
                target: self.target.clone(),
                reason: format!("{during}: {error}"),
            }
        }
    }
}

impl Transport for SshTransport {
    fn exec<'a>(
        &'a self,
        command: &'a str,
        stdin: Option<&'a [u8]>,
    ) -> TransportFuture<'a, ExecOutput> {
        Box::pin(self.run(command, stdin))
    }

    fn counts(&self) -> RequestCounts {
        let channels = self.channels.load(Ordering::Relaxed);
        RequestCounts {
            connections: 1 + self.jumps.len() as u64,
            channels,
            commands: channels,
        }
    }

    fn close(&self) -> TransportFuture<'_, ()> {
        Box::pin(async move {
            if self.closed.swap(true, Ordering::SeqCst) {
                return Ok(());
            }
            // Errors here mean the peer is already gone, which is what closing wants.
            let _ = self
                .session
                .disconnect(Disconnect::ByApplication, "", "en")
                .await;
            for jump in self.jumps.iter().rev() {
                let _ = jump.disconnect(Disconnect::ByApplication, "", "en").await;
            }
            Ok(())
        })
    }
}

/// What a long-lived command ([`SshTransport::open_stream`]) sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// Bytes on its stdout.
    Stdout(Vec<u8>),
    /// Bytes on its stderr.
    Stderr(Vec<u8>),
    /// It exited with this status (128 + n for signal n).
    Exited(u32),
    /// The channel is closed: nothing more comes.
    Closed,
}

/// The receiving half of a stream.
pub struct StreamReader {
    reader: ChannelReadHalf,
}

impl std::fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamReader")
    }
}

impl StreamReader {
    /// The next thing the command sent; [`StreamEvent::Closed`] from when the channel closed.
    pub async fn next(&mut self) -> StreamEvent {
        loop {
            match self.reader.wait().await {
                Some(ChannelMsg::Data { data }) => return StreamEvent::Stdout(data.to_vec()),
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                    return StreamEvent::Stderr(data.to_vec());
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => {
                    return StreamEvent::Exited(exit_status);
                }
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                    return StreamEvent::Exited(128 + signal(&signal_name).1);
                }
                Some(ChannelMsg::Close) | None => return StreamEvent::Closed,
                Some(_) => {}
            }
        }
    }
}

/// The sending half of a stream.
pub struct StreamWriter {
    writer: ChannelWriteHalf<Msg>,
    target: String,
    lost: LostReason,
}

impl std::fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamWriter")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl StreamWriter {
    /// Writes `data` to the command's stdin (waiting for the peer's window as needed).
    pub async fn send(&self, data: &[u8]) -> Result<(), TransportError> {
        self.writer
            .data(data)
            .await
            .map_err(|e| TransportError::Disconnected {
                target: self.target.clone(),
                during: "sending to the command shell".to_string(),
                reason: self.lost.get().unwrap_or_else(|| e.to_string()),
            })
    }

    /// Closes the command's stdin.
    pub async fn eof(&self) {
        // A channel already gone is what closing wants.
        let _ = self.writer.eof().await;
    }
}

/// Connects to `spec` without authenticating and returns the host key it offers, for
/// `seibi hosts scan`. The key is not checked: the caller shows it to a person, who decides.
/// Jump hosts, if any, are connected to normally (checked against `known_hosts`, logged in
/// with `credentials`).
pub async fn scan(
    spec: &ConnectSpec,
    credentials: &Credentials,
    known_hosts: Arc<KnownHosts>,
) -> Result<HostKey, TransportError> {
    let via = match &spec.jump {
        Some(jump) => {
            let credentials = LoadedCredentials::load(credentials)?;
            Some(connect_chain(jump, &credentials, &known_hosts).await?)
        }
        None => None,
    };
    let slot = Arc::new(Mutex::new(None));
    let check = CheckMode::Capture(slot.clone());
    match handshake(spec, via.as_ref(), &check).await? {
        Handshake::Captured => slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| TransportError::Protocol {
                target: spec.to_string(),
                reason: "the server offered no host key".to_string(),
            }),
        // Capture mode always stops the handshake at the host key.
        Handshake::Connected(..) => Err(TransportError::Protocol {
            target: spec.to_string(),
            reason: "the handshake went on past the host key".to_string(),
        }),
    }
}

/// Why the connection ended, as recorded by the handler (it runs inside russh's session task).
#[derive(Debug, Clone, Default)]
struct LostReason(Arc<Mutex<Option<String>>>);

impl LostReason {
    fn set(&self, reason: String) {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.get_or_insert(reason);
    }

    fn get(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[derive(Debug, Clone)]
enum CheckMode {
    /// Check the offered key against `known_hosts` (normal connections).
    Verify(Arc<KnownHosts>),
    /// Record the offered key and stop the handshake there (scanning).
    Capture(Arc<Mutex<Option<HostKey>>>),
}

/// The russh client handler: host-key policy and bookkeeping of why a session ended.
struct Client {
    check: CheckMode,
    name: String,
    target: String,
    address: String,
    port: u16,
    lost: LostReason,
}

#[derive(Debug, thiserror::Error)]
enum HandlerError {
    #[error(transparent)]
    Ssh(#[from] russh::Error),
    #[error(transparent)]
    HostKey(#[from] HostKeyError),
    /// Scanning stops the handshake on purpose once the key is recorded.
    #[error("host key recorded")]
    Captured,
}

impl client::Handler for Client {
    type Error = HandlerError;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => HostKey::from_wire(
                key.algorithm().as_str(),
                key.to_bytes().map_err(russh::Error::from)?,
            ),
            PublicKeyOrCertificate::Certificate(_) => {
                return Err(HostKeyError::Certificate {
                    target: self.target.clone(),
                }
                .into());
            }
        };
        match &self.check {
            CheckMode::Verify(known_hosts) => {
                known_hosts.verify(&self.name, &self.target, &self.address, self.port, &key)?;
                Ok(true)
            }
            CheckMode::Capture(slot) => {
                *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(key);
                Err(HandlerError::Captured)
            }
        }
    }

    async fn disconnected(
        &mut self,
        reason: DisconnectReason<Self::Error>,
    ) -> Result<(), Self::Error> {
        match reason {
            DisconnectReason::ReceivedDisconnect(info) => {
                self.lost.set(if info.message.is_empty() {
                    format!("the server disconnected ({:?})", info.reason_code)
                } else {
                    format!("the server disconnected: {}", info.message)
                });
                Ok(())
            }
            DisconnectReason::Error(error) => {
                self.lost.set(describe_handler_error(&error));
                Err(error)
            }
        }
    }
}

fn describe_handler_error(error: &HandlerError) -> String {
    match error {
        HandlerError::Ssh(russh::Error::KeepaliveTimeout) => {
            "no answer to keepalives (host down or network cut)".to_string()
        }
        HandlerError::Ssh(russh::Error::IO(io))
            if io.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            "the remote side closed the connection".to_string()
        }
        HandlerError::Ssh(russh::Error::IO(io)) => format!("connection broken: {io}"),
        other => other.to_string(),
    }
}

/// Key files read and decrypted up front.
struct LoadedCredentials {
    keys: Vec<(PathBuf, Arc<PrivateKey>)>,
    agent_socket: Option<PathBuf>,
}

impl LoadedCredentials {
    fn load(credentials: &Credentials) -> Result<Self, TransportError> {
        let mut keys = Vec::new();
        for file in &credentials.key_files {
            let key_error = |reason: String| TransportError::KeyFile {
                path: file.path.clone(),
                reason,
            };
            let text = std::fs::read_to_string(&file.path).map_err(|e| key_error(e.to_string()))?;
            let key = PrivateKey::from_openssh(&text).map_err(|e| {
                key_error(format!(
                    "not an OpenSSH private key ({e}); convert it with `ssh-keygen -p -f`"
                ))
            })?;
            let key = if key.is_encrypted() {
                let passphrase = file.passphrase.as_ref().ok_or_else(|| {
                    key_error("the key is encrypted and no passphrase was given".to_string())
                })?;
                key.decrypt(passphrase.expose().as_bytes())
                    .map_err(|_| key_error("wrong passphrase".to_string()))?
            } else {
                key
            };
            match key.algorithm() {
                Algorithm::Ed25519 | Algorithm::Ecdsa { .. } => {}
                other => {
                    return Err(key_error(format!(
                        "{} keys are not supported (seibi is built without RSA/DSA); use an \
                         ed25519 or ECDSA key",
                        other.as_str()
                    )));
                }
            }
            keys.push((file.path.clone(), Arc::new(key)));
        }
        Ok(LoadedCredentials {
            keys,
            agent_socket: credentials.agent_socket.clone(),
        })
    }

    fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.agent_socket.is_none()
    }
}

/// A connected, authenticated hop and the hops carrying it.
struct Chain {
    target: String,
    session: Handle<Client>,
    jumps: Vec<Handle<Client>>,
    lost: LostReason,
}

type ChainFuture<'a> = Pin<Box<dyn Future<Output = Result<Chain, TransportError>> + Send + 'a>>;

/// Connects and authenticates `spec`, first connecting its jump hosts (recursively: a jump host
/// may have its own).
fn connect_chain<'a>(
    spec: &'a ConnectSpec,
    credentials: &'a LoadedCredentials,
    known_hosts: &'a Arc<KnownHosts>,
) -> ChainFuture<'a> {
    Box::pin(async move {
        let via = match &spec.jump {
            Some(jump) => Some(connect_chain(jump, credentials, known_hosts).await?),
            None => None,
        };
        let check = CheckMode::Verify(known_hosts.clone());
        let (mut session, lost) = match handshake(spec, via.as_ref(), &check).await? {
            Handshake::Connected(session, lost) => (session, lost),
            Handshake::Captured => {
                return Err(TransportError::Protocol {
                    target: spec.to_string(),
                    reason: "the handshake stopped at the host key".to_string(),
                });
            }
        };
        tokio::time::timeout(
            spec.connect_timeout,
            authenticate(&mut session, spec, credentials),
        )
        .await
        .map_err(|_| TransportError::Timeout {
            target: spec.to_string(),
            step: "authentication",
            after: spec.connect_timeout,
        })??;
        let jumps = match via {
            Some(via) => {
                let mut jumps = via.jumps;
                jumps.push(via.session);
                jumps
            }
            None => Vec::new(),
        };
        Ok(Chain {
            target: spec.to_string(),
            session,
            jumps,
            lost,
        })
    })
}

enum Handshake {
    Connected(Handle<Client>, LostReason),
    /// Scanning: the host key was recorded and the connection dropped.
    Captured,
}

/// How one attempt at connecting ended, if not with a session.
enum AttemptFailure {
    /// Worth another try: refused, unreachable, timed out, dropped before the handshake ended.
    Retry(String),
    /// A refusal or a misconfiguration: retrying would only repeat it.
    Fatal(TransportError),
    Captured,
    /// The server offers no host-key type that `known_hosts` has for it.
    KeyTypeMismatch,
}

/// Opens the byte stream to `spec` and runs the SSH handshake over it, with a timeout per attempt
/// and retries with exponential backoff for connection failures.
async fn handshake(
    spec: &ConnectSpec,
    via: Option<&Chain>,
    check: &CheckMode,
) -> Result<Handshake, TransportError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let lost = LostReason::default();
        let outcome = tokio::time::timeout(
            spec.connect_timeout,
            handshake_once(spec, via, check, lost.clone()),
        )
        .await;
        let reason = match outcome {
            Ok(Ok(session)) => return Ok(Handshake::Connected(session, lost)),
            Ok(Err(AttemptFailure::Captured)) => return Ok(Handshake::Captured),
            Ok(Err(AttemptFailure::Fatal(error))) => return Err(error),
            Ok(Err(AttemptFailure::KeyTypeMismatch)) => {
                return Err(key_type_mismatch(spec, via, check).await);
            }
            Ok(Err(AttemptFailure::Retry(reason))) => reason,
            Err(_) => format!("timed out after {:?}", spec.connect_timeout),
        };
        if attempt > spec.retries {
            let reason = match via {
                Some(jump) => format!("{reason} (through jump host {})", jump.target),
                None => reason,
            };
            return Err(TransportError::Connect {
                target: spec.to_string(),
                attempts: attempt,
                reason,
            });
        }
        tokio::time::sleep(spec.backoff_before(attempt)).await;
    }
}

async fn handshake_once(
    spec: &ConnectSpec,
    via: Option<&Chain>,
    check: &CheckMode,
    lost: LostReason,
) -> Result<Handle<Client>, AttemptFailure> {
    let config = Arc::new(client_config(spec, check));
    let handler = Client {
        check: check.clone(),
        name: spec.name.clone(),
        target: spec.to_string(),
        address: spec.address.clone(),
        port: spec.port,
        lost,
    };
    let result = match via {
        None => {
            let tcp = tokio::net::TcpStream::connect((spec.address.as_str(), spec.port))
                .await
                .map_err(|e| AttemptFailure::Retry(e.to_string()))?;
            // Commands are small request/response exchanges: do not let Nagle delay them.
            let _ = tcp.set_nodelay(true);
            client::connect_stream(config, tcp, handler).await
        }
        Some(jump) => {
            let channel = jump
                .session
                .channel_open_direct_tcpip(
                    spec.address.clone(),
                    u32::from(spec.port),
                    "127.0.0.1",
                    0,
                )
                .await
                .map_err(|e| tunnel_failure(jump, spec, e))?;
            client::connect_stream(config, channel.into_stream(), handler).await
        }
    };
    result.map_err(|error| match error {
        HandlerError::Captured => AttemptFailure::Captured,
        HandlerError::HostKey(error) => AttemptFailure::Fatal(error.into()),
        HandlerError::Ssh(russh::Error::NoCommonAlgo {
            kind: russh::AlgorithmKind::Key,
            ..
        }) if matches!(check, CheckMode::Verify(_)) => AttemptFailure::KeyTypeMismatch,
        HandlerError::Ssh(error) if is_connection_error(&error) => {
            AttemptFailure::Retry(describe_handler_error(&HandlerError::Ssh(error)))
        }
        HandlerError::Ssh(error) => AttemptFailure::Fatal(TransportError::Protocol {
            target: spec.to_string(),
            reason: error.to_string(),
        }),
    })
}

/// The error for a host that offers no host-key type `known_hosts` has for it: the key it does
/// offer is fetched with a second handshake that accepts any type (as a scan does), so the
/// message shows both fingerprints, like a changed key.
async fn key_type_mismatch(
    spec: &ConnectSpec,
    via: Option<&Chain>,
    check: &CheckMode,
) -> TransportError {
    let no_common = || TransportError::Protocol {
        target: spec.to_string(),
        reason: "the terminal offers no host-key type that known_hosts has for it; \
                 run `seibi hosts scan --terminal NAME` to see the key it offers"
            .replace("NAME", &spec.name),
    };
    let CheckMode::Verify(known_hosts) = check else {
        return no_common();
    };
    let slot = Arc::new(Mutex::new(None));
    let capture = CheckMode::Capture(slot.clone());
    let _ = tokio::time::timeout(
        spec.connect_timeout,
        handshake_once(spec, via, &capture, LostReason::default()),
    )
    .await;
    let Some(offered) = slot.lock().unwrap_or_else(PoisonError::into_inner).take() else {
        return no_common();
    };
    match known_hosts.check(&spec.address, spec.port, &offered) {
        crate::transport::known_hosts::HostKeyCheck::Changed {
            offered: fp,
            expected,
        } => HostKeyError::KeyTypeMismatch(Box::new(KeyTypeMismatch {
            name: spec.name.clone(),
            target: spec.to_string(),
            algorithm: offered.algorithm().to_string(),
            offered: fp,
            expected,
        }))
        .into(),
        _ => no_common(),
    }
}

fn tunnel_failure(jump: &Chain, spec: &ConnectSpec, error: russh::Error) -> AttemptFailure {
    match error {
        // The jump host tried and could not reach the target: the same as a refused connection.
        russh::Error::ChannelOpenFailure(russh::ChannelOpenFailure::ConnectFailed) => {
            AttemptFailure::Retry(format!(
                "jump host {} could not reach {}:{}",
                jump.target, spec.address, spec.port
            ))
        }
        other => AttemptFailure::Fatal(TransportError::Tunnel {
            jump: jump.target.clone(),
            target: spec.to_string(),
            reason: match other {
                russh::Error::ChannelOpenFailure(failure) => {
                    format!("{failure:?} (is AllowTcpForwarding enabled on the jump host?)")
                }
                other => jump.lost.get().unwrap_or_else(|| other.to_string()),
            },
        }),
    }
}

/// Errors that mean "the connection failed or broke", as opposed to a protocol disagreement.
fn is_connection_error(error: &russh::Error) -> bool {
    matches!(
        error,
        russh::Error::IO(_)
            | russh::Error::Disconnect
            | russh::Error::HUP
            | russh::Error::ConnectionTimeout
            | russh::Error::KeepaliveTimeout
            | russh::Error::InactivityTimeout
            | russh::Error::SendError
            | russh::Error::RecvError
            | russh::Error::Elapsed(_)
    )
}

fn client_config(spec: &ConnectSpec, check: &CheckMode) -> client::Config {
    // Like OpenSSH, ask only for the host-key types known_hosts has for this host, so a host
    // known by its ECDSA key is not reported as changed for offering ed25519.
    let known = match check {
        CheckMode::Verify(known_hosts) => known_hosts.known_algorithms(&spec.address, spec.port),
        CheckMode::Capture(_) => Vec::new(),
    };
    let mut algorithms: Vec<Algorithm> = HOST_KEY_ALGORITHMS
        .iter()
        .filter(|a| known.iter().any(|k| k == a.as_str()))
        .cloned()
        .collect();
    if algorithms.is_empty() {
        // Unknown host, or known only by key types we cannot use: the check will say so.
        algorithms = HOST_KEY_ALGORITHMS.to_vec();
    }
    client::Config {
        keepalive_interval: spec.keepalive_interval,
        keepalive_max: KEEPALIVE_MAX,
        nodelay: true,
        preferred: russh::Preferred {
            key: Cow::Owned(algorithms),
            ..russh::Preferred::DEFAULT
        },
        ..client::Config::default()
    }
}

async fn authenticate(
    session: &mut Handle<Client>,
    spec: &ConnectSpec,
    credentials: &LoadedCredentials,
) -> Result<(), TransportError> {
    let target = spec.to_string();
    if credentials.is_empty() {
        return Err(TransportError::NoCredentials { target });
    }
    let lost = |error: russh::Error| TransportError::Disconnected {
        target: target.clone(),
        during: "authenticating".to_string(),
        reason: error.to_string(),
    };
    let mut tried = Vec::new();
    let mut remaining = String::new();
    let mut note_failure = |methods: &russh::MethodSet| {
        let names: Vec<&str> = methods.iter().map(<&str>::from).collect();
        remaining = if names.is_empty() {
            String::new()
        } else {
            format!("; server accepts: {}", names.join(", "))
        };
    };

    for (path, key) in &credentials.keys {
        let algorithm = key.algorithm();
        let result = session
            .authenticate_publickey(
                spec.user.as_str(),
                PrivateKeyWithHashAlg::new(key.clone(), None),
            )
            .await
            .map_err(lost)?;
        match result {
            client::AuthResult::Success => return Ok(()),
            client::AuthResult::Failure {
                remaining_methods, ..
            } => {
                note_failure(&remaining_methods);
                tried.push(format!("key {} ({})", path.display(), algorithm.as_str()));
            }
        }
    }

    if let Some(socket) = &credentials.agent_socket {
        let agent_error = |reason: String| TransportError::Agent {
            socket: socket.clone(),
            reason,
        };
        let mut agent = AgentClient::connect_uds(socket)
            .await
            .map_err(|e| agent_error(e.to_string()))?;
        if let Some(binding) = session.agent_session_binding() {
            // Only needed for destination-constrained keys; agents without the extension
            // still sign for unconstrained ones.
            let _ = agent.bind_session(binding, false).await;
        }
        let identities = agent
            .request_identities()
            .await
            .map_err(|e| agent_error(e.to_string()))?;
        if identities.is_empty() {
            tried.push(format!(
                "ssh-agent at {} (it holds no keys)",
                socket.display()
            ));
        }
        for identity in identities {
            let AgentIdentity::PublicKey { key, comment } = identity else {
                continue;
            };
            let label = format!(
                "agent key {} {}{}",
                key.algorithm().as_str(),
                key.fingerprint(HashAlg::Sha256),
                if comment.is_empty() {
                    String::new()
                } else {
                    format!(" ({comment})")
                }
            );
            let hash = key.algorithm().is_rsa().then_some(HashAlg::Sha512);
            match session
                .authenticate_publickey_with(spec.user.as_str(), key, hash, &mut agent)
                .await
            {
                Ok(client::AuthResult::Success) => return Ok(()),
                Ok(client::AuthResult::Failure {
                    remaining_methods, ..
                }) => {
                    note_failure(&remaining_methods);
                    tried.push(label);
                }
                Err(error) => tried.push(format!("{label}: the agent did not sign: {error}")),
            }
        }
    }

    Err(TransportError::Auth {
        target,
        user: spec.user.clone(),
        tried: tried.join(", "),
        remaining,
    })
}

/// The signal's name and number (Linux numbering, for the shell's 128+n exit status).
fn signal(signal: &Sig) -> (String, u32) {
    let (name, number) = match signal {
        Sig::HUP => ("HUP", 1),
        Sig::INT => ("INT", 2),
        Sig::QUIT => ("QUIT", 3),
        Sig::ILL => ("ILL", 4),
        Sig::ABRT => ("ABRT", 6),
        Sig::FPE => ("FPE", 8),
        Sig::KILL => ("KILL", 9),
        Sig::USR1 => ("USR1", 10),
        Sig::SEGV => ("SEGV", 11),
        Sig::PIPE => ("PIPE", 13),
        Sig::ALRM => ("ALRM", 14),
        Sig::TERM => ("TERM", 15),
        Sig::Custom(name) => return (name.clone(), 0),
    };
    (name.to_string(), number)
}

/// A command shortened for messages: first line, at most 60 characters.
fn abbreviate(command: &str) -> String {
    let first_line = command.lines().next().unwrap_or_default();
    let mut short: String = first_line.chars().take(60).collect();
    if short.len() < command.len() {
        short.push('…');
    }
    short
}
