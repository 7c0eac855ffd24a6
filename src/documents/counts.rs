//! Results counted by status, as the result, monthly and progress documents total them.

use super::{Language, tr};
use crate::journal::Status;

/// Counts of results by status.
#[derive(Default)]
pub(crate) struct Counts {
    pub ok: u64,
    pub changed: u64,
    pub failed: u64,
    pub skipped: u64,
    pub unreachable: u64,
    pub interrupted: u64,
    pub busy: u64,
    pub no_result: u64,
}

impl Counts {
    /// Counts one result (`None`: an intent without a result).
    pub fn add(&mut self, s: Option<Status>) {
        match s {
            Some(Status::Ok) => self.ok += 1,
            Some(Status::Changed) => self.changed += 1,
            Some(Status::Failed) => self.failed += 1,
            Some(Status::Skipped) => self.skipped += 1,
            Some(Status::Unreachable) => self.unreachable += 1,
            Some(Status::Interrupted) => self.interrupted += 1,
            Some(Status::Busy) => self.busy += 1,
            None => self.no_result += 1,
        }
    }

    /// The counts in one line (the rarer ones only when there are any).
    pub fn describe(&self, lang: Language) -> String {
        let mut out = tr(
            lang,
            &format!(
                "変更 {}、正常（変更なし） {}、失敗 {}、接続不可 {}、対象外 {}",
                self.changed, self.ok, self.failed, self.unreachable, self.skipped
            ),
            &format!(
                "{} changed, {} ok, {} failed, {} unreachable, {} skipped",
                self.changed, self.ok, self.failed, self.unreachable, self.skipped
            ),
        );
        if self.interrupted > 0 {
            out.push_str(&tr(
                lang,
                &format!("、中断 {}", self.interrupted),
                &format!(", {} interrupted", self.interrupted),
            ));
        }
        if self.busy > 0 {
            out.push_str(&tr(
                lang,
                &format!("、他の実行が作業中 {}", self.busy),
                &format!(", {} busy", self.busy),
            ));
        }
        if self.no_result > 0 {
            out.push_str(&tr(
                lang,
                &format!("、結果なし {}", self.no_result),
                &format!(", {} without result", self.no_result),
            ));
        }
        out
    }
}
