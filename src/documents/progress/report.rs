//! The 進捗報告書 (progress report) of a [`PlanProgress`]: the summary, the plan's runs
//! (実行の記録), per-terminal progress (端末別進捗) and every unit not done yet (未完了の作業).

use std::collections::BTreeMap;

use super::{PlanProgress, UnitState, last_run, selection_text};
use crate::documents::model::{Cell, Document, Section, Table, date, number, text};
use crate::documents::words::{jst_text, people, person};
use crate::documents::{Language, tr};
use crate::roster::Roster;

impl PlanProgress {
    /// The 進捗報告書 (progress report): the plan's runs, per-terminal progress and every unit
    /// not done yet. `job_titles` may be empty.
    pub fn report(
        &self,
        roster: &Roster,
        job_titles: &BTreeMap<String, String>,
        lang: Language,
    ) -> Document {
        let mut doc = Document::new(lang, tr(lang, "進捗報告書", "Progress report"));
        self.summary(&mut doc, roster);
        if !self.complete {
            let left = self.units - self.done;
            doc.flags.push(tr(
                lang,
                &format!("未完了の作業が {left} 件あります。「未完了の作業」を参照してください。"),
                &format!("{left} unit(s) not done yet; see Work left."),
            ));
        }
        doc.sections = vec![
            self.runs_section(roster, lang),
            self.terminals_section(lang),
            self.left_section(roster, job_titles, lang),
        ];
        doc
    }

    /// 概要: the digest, how far the plan has got, by state, the runs and the operators.
    fn summary(&self, doc: &mut Document, roster: &Roster) {
        let lang = doc.lang;
        let count = |s: UnitState| self.counts.0.get(s.name()).copied().unwrap_or(0);
        let mut operators: Vec<String> = self
            .runs
            .iter()
            .filter(|r| !r.check)
            .flat_map(|r| r.operators.iter().cloned())
            .collect();
        operators.sort();
        operators.dedup();
        doc.summarise(tr(lang, "文書", "Document"), doc.title.clone());
        doc.summarise(
            tr(lang, "計画ダイジェスト", "Plan digest"),
            self.plan_digest.clone(),
        );
        let (ja, en) = if self.complete {
            ("完了", "complete")
        } else {
            ("未完了", "not complete")
        };
        doc.summarise(
            tr(lang, "進捗", "Progress"),
            tr(
                lang,
                &format!("{} / {} 件完了（{ja}）", self.done, self.units),
                &format!("{} of {} units done ({en})", self.done, self.units),
            ),
        );
        doc.summarise(
            tr(lang, "内訳", "By state"),
            UnitState::ALL
                .iter()
                .filter(|s| count(**s) > 0)
                .map(|s| format!("{} {}", s.label(lang), count(*s)))
                .collect::<Vec<_>>()
                .join(", "),
        );
        doc.summarise(
            tr(lang, "実行回数", "Runs"),
            self.runs.iter().filter(|r| !r.check).count().to_string(),
        );
        doc.summarise(tr(lang, "作業者", "Operators"), people(roster, &operators));
    }

    /// 実行の記録: every run of the plan, check runs marked.
    fn runs_section(&self, roster: &Roster, lang: Language) -> Section {
        let mut table = Table::new(
            lang,
            &[
                text("実行ID", "Run"),
                date("開始(JST)", "Started (JST)"),
                date("終了(JST)", "Ended (JST)"),
                text("作業者", "Operators"),
                text("対象", "Part applied"),
                number("結果数", "Results"),
            ],
        );
        for r in &self.runs {
            table.push(vec![
                Cell::from(&r.run),
                r.started
                    .as_deref()
                    .map_or(Cell::Empty, |t| jst_text(t).into()),
                r.ended.as_deref().map_or_else(
                    || tr(lang, "未終了", "not finished").into(),
                    |t| jst_text(t).into(),
                ),
                people(roster, &r.operators).into(),
                if r.check {
                    tr(lang, "確認のみ（--check）", "check only (--check)").into()
                } else {
                    r.selection.as_ref().map_or_else(
                        || tr(lang, "計画全体", "whole plan").into(),
                        |s| selection_text(s).into(),
                    )
                },
                r.results.into(),
            ]);
        }
        Section::of_table("runs", tr(lang, "実行の記録", "Runs"), table, Vec::new()).when_empty(
            lang,
            "この計画の実行の記録はまだありません。",
            "The plan has not been applied yet.",
        )
    }

    /// 端末別進捗: per terminal, units done and left, and its last run.
    fn terminals_section(&self, lang: Language) -> Section {
        let mut table = Table::new(
            lang,
            &[
                text("拠点", "Site"),
                text("端末", "Terminal"),
                number("作業数", "Units"),
                number("完了", "Done"),
                number("未完了", "Left"),
                text("状態", "State"),
                text("最終実行", "Last run"),
            ],
        );
        for site in &self.sites {
            for t in &site.terminals {
                let done = t.units.iter().filter(|u| u.state.is_done()).count();
                let state = if t.is_complete() {
                    tr(lang, "完了", "done")
                } else if t.units.iter().all(|u| u.state == UnitState::NotRun) {
                    tr(lang, "未着手", "not started")
                } else {
                    tr(lang, "作業中", "in progress")
                };
                table.push(vec![
                    Cell::from(&site.site),
                    Cell::from(&t.terminal),
                    t.units.len().into(),
                    done.into(),
                    (t.units.len() - done).into(),
                    state.into(),
                    last_run(t).map_or(Cell::Empty, Cell::from),
                ]);
            }
        }
        Section::of_table(
            "terminals",
            tr(lang, "端末別進捗", "Per terminal"),
            table,
            Vec::new(),
        )
    }

    /// 未完了の作業: every unit not done, with the result that left it so.
    fn left_section(
        &self,
        roster: &Roster,
        job_titles: &BTreeMap<String, String>,
        lang: Language,
    ) -> Section {
        let mut table = Table::new(
            lang,
            &[
                text("拠点", "Site"),
                text("端末", "Terminal"),
                text("作業ID", "Job"),
                text("件名", "Title"),
                text("タスク", "Task"),
                text("状態", "State"),
                text("実行ID", "Run"),
                date("日時(JST)", "Time (JST)"),
                text("作業者", "Operator"),
                text("エラー", "Error"),
            ],
        );
        for site in &self.sites {
            for t in &site.terminals {
                for u in t.units.iter().filter(|u| !u.state.is_done()) {
                    table.push(vec![
                        Cell::from(&site.site),
                        Cell::from(&t.terminal),
                        Cell::from(&u.job),
                        Cell::optional(job_titles.get(&u.job)),
                        Cell::from(&u.task),
                        u.state.label(lang).into(),
                        Cell::optional(u.run.as_ref()),
                        u.time
                            .as_deref()
                            .map_or(Cell::Empty, |t| jst_text(t).into()),
                        u.operator
                            .as_deref()
                            .map_or(Cell::Empty, |o| person(roster, o).into()),
                        Cell::optional(u.error.as_ref()),
                    ]);
                }
            }
        }
        Section::of_table(
            "left",
            tr(lang, "未完了の作業", "Work left"),
            table,
            Vec::new(),
        )
        .when_empty(
            lang,
            "すべての作業が完了しています。",
            "Every unit is done.",
        )
    }
}
