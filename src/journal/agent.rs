//! A minimal ssh-agent client: list keys and ask for a signature.
//!
//! Speaks the agent protocol (draft-miller-ssh-agent) over the Unix socket in `SSH_AUTH_SOCK`:
//! `SSH_AGENTC_REQUEST_IDENTITIES` (11) and `SSH_AGENTC_SIGN_REQUEST` (13). Messages are a
//! 4-byte big-endian length and a type byte; strings are 4-byte length-prefixed. That is all a
//! checkpoint needs, so this is written out here instead of pulling in an async agent crate. The
//! agent signs the SSHSIG "signed data" blob; turning its answer into an SSHSIG signature is
//! [`crate::roster::key`]'s job.

use std::path::{Path, PathBuf};

const REQUEST_IDENTITIES: u8 = 11;
const IDENTITIES_ANSWER: u8 = 12;
const SIGN_REQUEST: u8 = 13;
const SIGN_RESPONSE: u8 = 14;
const FAILURE: u8 = 5;
/// Answers larger than this are refused (an agent holding hundreds of keys stays far below).
const MAX_MESSAGE: usize = 256 * 1024;

/// Problems talking to ssh-agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// `SSH_AUTH_SOCK` is not set.
    #[error(
        "SSH_AUTH_SOCK is not set: start ssh-agent and `ssh-add` your key, or sign with a key file"
    )]
    NoSocket,
    /// The socket could not be used.
    #[error("cannot talk to ssh-agent at {}: {source}", socket.display())]
    Io {
        /// The socket.
        socket: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The agent refused or answered nonsense.
    #[error("ssh-agent at {} {what}", socket.display())]
    Protocol {
        /// The socket.
        socket: PathBuf,
        /// What went wrong.
        what: String,
    },
}

/// One key held by the agent.
#[derive(Debug, Clone)]
pub struct AgentIdentity {
    /// The key in SSH wire encoding.
    pub blob: Vec<u8>,
    /// The agent's comment for it.
    pub comment: String,
}

/// A connection target: the agent's socket.
#[derive(Debug, Clone)]
pub struct Agent {
    socket: PathBuf,
}

impl Agent {
    /// The agent at `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Self {
            socket: socket.into(),
        }
    }

    /// The agent named by `SSH_AUTH_SOCK`.
    pub fn from_env() -> Result<Self, AgentError> {
        match std::env::var_os("SSH_AUTH_SOCK") {
            Some(s) if !s.is_empty() => Ok(Self::new(s)),
            _ => Err(AgentError::NoSocket),
        }
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The keys the agent holds.
    pub fn identities(&self) -> Result<Vec<AgentIdentity>, AgentError> {
        let answer = self.request(&[REQUEST_IDENTITIES])?;
        let mut r = Reader::new(&answer);
        let kind = r
            .byte()
            .ok_or_else(|| self.protocol("sent an empty answer"))?;
        if kind != IDENTITIES_ANSWER {
            return Err(self.protocol(&format!("answered type {kind} to a key list request")));
        }
        let count = r
            .u32()
            .ok_or_else(|| self.protocol("sent a truncated key list"))?;
        let mut keys = Vec::new();
        for _ in 0..count {
            let blob = r
                .string()
                .ok_or_else(|| self.protocol("sent a truncated key list"))?;
            let comment = r
                .string()
                .ok_or_else(|| self.protocol("sent a truncated key list"))?;
            keys.push(AgentIdentity {
                blob: blob.to_vec(),
                comment: String::from_utf8_lossy(comment).into_owned(),
            });
        }
        Ok(keys)
    }

    /// Asks the agent to sign `data` with the key `key_blob`; returns the SSH signature blob
    /// (algorithm name and signature bytes).
    pub fn sign(&self, key_blob: &[u8], data: &[u8]) -> Result<Vec<u8>, AgentError> {
        let mut msg = vec![SIGN_REQUEST];
        put_string(&mut msg, key_blob);
        put_string(&mut msg, data);
        // Flags: none. (Only Ed25519 and ECDSA keys are used; RSA would need rsa-sha2-512.)
        msg.extend_from_slice(&0u32.to_be_bytes());
        let answer = self.request(&msg)?;
        let mut r = Reader::new(&answer);
        match r.byte() {
            Some(SIGN_RESPONSE) => r
                .string()
                .map(<[u8]>::to_vec)
                .ok_or_else(|| self.protocol("sent a truncated signature")),
            Some(FAILURE) => Err(self.protocol(
                "refused to sign (is the key loaded with `ssh-add`? does it need confirmation?)",
            )),
            Some(kind) => Err(self.protocol(&format!("answered type {kind} to a sign request"))),
            None => Err(self.protocol("sent an empty answer")),
        }
    }

    fn protocol(&self, what: &str) -> AgentError {
        AgentError::Protocol {
            socket: self.socket.clone(),
            what: what.to_string(),
        }
    }

    #[cfg(unix)]
    fn request(&self, message: &[u8]) -> Result<Vec<u8>, AgentError> {
        use std::io::{Read, Write};
        use std::time::Duration;
        let io = |source| AgentError::Io {
            socket: self.socket.clone(),
            source,
        };
        let mut stream = std::os::unix::net::UnixStream::connect(&self.socket).map_err(io)?;
        // An agent waiting for a confirmation prompt may take a while; a dead one must not hang
        // the run forever.
        let timeout = Some(Duration::from_secs(120));
        stream.set_read_timeout(timeout).map_err(io)?;
        stream.set_write_timeout(timeout).map_err(io)?;
        let len = u32::try_from(message.len())
            .map_err(|_| self.protocol("request too large"))?
            .to_be_bytes();
        stream.write_all(&len).map_err(io)?;
        stream.write_all(message).map_err(io)?;
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).map_err(io)?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_MESSAGE {
            return Err(self.protocol(&format!("sent an answer of {len} bytes")));
        }
        let mut answer = vec![0u8; len];
        stream.read_exact(&mut answer).map_err(io)?;
        Ok(answer)
    }

    #[cfg(not(unix))]
    fn request(&self, _message: &[u8]) -> Result<Vec<u8>, AgentError> {
        Err(self.protocol("cannot be reached: ssh-agent sockets need a Unix system"))
    }
}

fn put_string(out: &mut Vec<u8>, data: &[u8]) {
    // Keys and signed-data blobs are a few hundred bytes; lengths always fit in u32.
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }

    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(b)
    }

    fn u32(&mut self) -> Option<u32> {
        let (head, rest) = self.rest.split_first_chunk::<4>()?;
        self.rest = rest;
        Some(u32::from_be_bytes(*head))
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        if len > self.rest.len() {
            return None;
        }
        let (s, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reads_strings_and_refuses_overruns() {
        let mut data = vec![IDENTITIES_ANSWER];
        data.extend_from_slice(&1u32.to_be_bytes());
        put_string(&mut data, b"blob");
        put_string(&mut data, b"comment");
        let mut r = Reader::new(&data);
        assert_eq!(r.byte(), Some(IDENTITIES_ANSWER));
        assert_eq!(r.u32(), Some(1));
        assert_eq!(r.string(), Some(&b"blob"[..]));
        assert_eq!(r.string(), Some(&b"comment"[..]));
        assert_eq!(r.byte(), None);
        let mut short = Reader::new(&[0, 0, 0, 9, b'x']);
        assert_eq!(short.string(), None);
    }

    #[test]
    fn missing_socket_is_an_io_error_naming_it() {
        let agent = Agent::new("/nonexistent/seibi-agent.sock");
        let err = agent.identities().expect_err("no agent there");
        assert!(
            err.to_string().contains("/nonexistent/seibi-agent.sock"),
            "{err}"
        );
    }
}
