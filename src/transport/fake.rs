//! A scripted, in-memory [`Transport`] for unit tests of the layers above: commands map to
//! canned outputs, files live in a map, and every call is recorded for assertions.
//!
//! Unscripted commands answer like a shell that does not know them: exit status 127.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{ExecOutput, Transport, TransportError, TransportFuture};

/// One call made on a [`FakeTransport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `exec(command, stdin)`.
    Exec {
        /// The command.
        command: String,
        /// The stdin bytes, if any.
        stdin: Option<Vec<u8>>,
    },
    /// `upload(data, path, mode)`.
    Upload {
        /// The remote path.
        path: String,
        /// The bytes.
        data: Vec<u8>,
        /// The mode.
        mode: u32,
    },
    /// `download(path)`.
    Download {
        /// The remote path.
        path: String,
    },
    /// `close()`.
    Close,
}

#[derive(Debug, Default)]
struct State {
    /// Scripted answers; the same command may be scripted several times, answered in order,
    /// the last answer repeating.
    script: BTreeMap<String, Vec<ExecOutput>>,
    files: BTreeMap<String, (Vec<u8>, u32)>,
    calls: Vec<Call>,
    closed: bool,
}

/// A scripted fake terminal.
#[derive(Debug, Default)]
pub struct FakeTransport {
    state: Mutex<State>,
}

impl FakeTransport {
    /// A fake with no scripted commands and no files.
    pub fn new() -> Self {
        FakeTransport::default()
    }

    /// Answers `command` (exact text) with `output`. Scripting the same command again queues
    /// another answer; the last one repeats.
    pub fn on(self, command: impl Into<String>, output: ExecOutput) -> Self {
        self.lock()
            .script
            .entry(command.into())
            .or_default()
            .push(output);
        self
    }

    /// Puts a file on the fake terminal.
    pub fn with_file(self, path: impl Into<String>, data: impl Into<Vec<u8>>, mode: u32) -> Self {
        self.lock().files.insert(path.into(), (data.into(), mode));
        self
    }

    /// The calls made so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The commands run so far, in order.
    pub fn commands(&self) -> Vec<String> {
        self.lock()
            .calls
            .iter()
            .filter_map(|call| match call {
                Call::Exec { command, .. } => Some(command.clone()),
                _ => None,
            })
            .collect()
    }

    /// A file's contents and mode, as uploaded or put there.
    pub fn file(&self, path: &str) -> Option<(Vec<u8>, u32)> {
        self.lock().files.get(path).cloned()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide the calls from the others.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, call: Call) -> Result<MutexGuard<'_, State>, TransportError> {
        let mut state = self.lock();
        if state.closed {
            return Err(TransportError::Closed {
                target: "fake".to_string(),
            });
        }
        state.calls.push(call);
        Ok(state)
    }
}

impl Transport for FakeTransport {
    fn exec<'a>(
        &'a self,
        command: &'a str,
        stdin: Option<&'a [u8]>,
    ) -> TransportFuture<'a, ExecOutput> {
        let result = self
            .record(Call::Exec {
                command: command.to_string(),
                stdin: stdin.map(<[u8]>::to_vec),
            })
            .map(|mut state| match state.script.get_mut(command) {
                Some(answers) if answers.len() > 1 => answers.remove(0),
                Some(answers) if answers.len() == 1 => answers[0].clone(),
                _ => ExecOutput::failed(127, format!("fake: no script for `{command}`\n")),
            });
        Box::pin(async move { result })
    }

    fn upload<'a>(
        &'a self,
        data: &'a [u8],
        remote_path: &'a str,
        mode: u32,
    ) -> TransportFuture<'a, ()> {
        let result = self
            .record(Call::Upload {
                path: remote_path.to_string(),
                data: data.to_vec(),
                mode,
            })
            .map(|mut state| {
                state
                    .files
                    .insert(remote_path.to_string(), (data.to_vec(), mode));
            });
        Box::pin(async move { result })
    }

    fn download<'a>(&'a self, remote_path: &'a str) -> TransportFuture<'a, Vec<u8>> {
        let result = self
            .record(Call::Download {
                path: remote_path.to_string(),
            })
            .and_then(|state| match state.files.get(remote_path) {
                Some((data, _)) => Ok(data.clone()),
                None => Err(TransportError::RemoteFile {
                    operation: "download",
                    path: remote_path.to_string(),
                    exit_status: 1,
                    stderr: format!("cat: {remote_path}: No such file or directory"),
                }),
            });
        Box::pin(async move { result })
    }

    fn close(&self) -> TransportFuture<'_, ()> {
        let mut state = self.lock();
        state.calls.push(Call::Close);
        state.closed = true;
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn scripted_answers_and_recorded_calls() {
        let fake = FakeTransport::new()
            .on("id -u", ExecOutput::ok("0\n"))
            .on("probe", ExecOutput::failed(1, ""))
            .on("probe", ExecOutput::ok("ready"))
            .with_file("/etc/hostname", "chuo-t01\n", 0o644);
        let transport: &dyn Transport = &fake;

        assert_eq!(
            transport.exec("id -u", None).await.expect("exec").stdout,
            b"0\n"
        );
        assert_eq!(
            transport
                .exec("probe", None)
                .await
                .expect("exec")
                .exit_status,
            1
        );
        assert!(transport.exec("probe", None).await.expect("exec").success());
        assert!(transport.exec("probe", None).await.expect("exec").success());
        let unknown = transport
            .exec("chpasswd", Some(b"root:secret"))
            .await
            .expect("exec");
        assert_eq!(unknown.exit_status, 127);

        transport
            .upload(b"data", "/tmp/x", 0o600)
            .await
            .expect("upload");
        assert_eq!(fake.file("/tmp/x"), Some((b"data".to_vec(), 0o600)));
        assert_eq!(
            transport.download("/etc/hostname").await.expect("download"),
            b"chuo-t01\n"
        );
        assert!(transport.download("/nope").await.is_err());

        assert_eq!(fake.commands().len(), 5);
        assert_eq!(
            fake.calls()[4],
            Call::Exec {
                command: "chpasswd".to_string(),
                stdin: Some(b"root:secret".to_vec())
            }
        );

        transport.close().await.expect("close");
        assert!(matches!(
            transport.exec("id -u", None).await,
            Err(TransportError::Closed { .. })
        ));
    }
}
