//! Printing a schedule for people: the settings, the estimates, the visits with the reason for
//! each job's day, the timetable (site, business day, date, start, end, terminals) and the
//! deadline check with what would make it fit; as plain text (English, for engineers) or markdown
//! (English or Japanese, for the documents the city approves).
//!
//! One renderer serves both a plan's schedule section and a bare [`Schedule`]: each lends its
//! parts as a [`ScheduleView`]; a bare schedule has no estimates or visits, so those sections are
//! left out.

use std::fmt::Write as _;

use jiff::Zoned;
use jiff::civil::Date;

use super::place::{DeadlineStatus, Schedule, SiteSchedule};
use super::{
    Canary, EstimateSummary, JobDeadlineMiss, LateJob, ScheduleError, SiteMiss, Visit, VisitKind,
    join_names,
};
use crate::calendar::weekday_ja;
use crate::columns::align_columns;
use crate::language::Language;

/// What was asked of the schedule, for its opening sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleSettings<'a> {
    /// The day the schedule was made from (a plan's `--start`), when there is one.
    pub start: Option<Date>,
    /// Each site's work must finish within this many business days.
    pub deadline_business_days: u32,
    /// At most this many terminals at once, all sites together.
    pub global_limit: Option<u32>,
    /// Work that goes first on each visit day.
    pub canary: Option<&'a Canary>,
}

/// The parts of a schedule that are printed, borrowed from a [`Schedule`] ([`Schedule::view`])
/// or from a plan's schedule section.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduleView<'a> {
    /// The time zone of every time.
    pub time_zone: &'a str,
    /// What was asked; without it the opening sentence names only the time zone and the
    /// business-day limit shows as `?`.
    pub settings: Option<ScheduleSettings<'a>>,
    /// Time per terminal of each job (`None`: no estimates section).
    pub estimates: Option<&'a [EstimateSummary]>,
    /// The visits with their reasons (`None`: no visits section).
    pub visits: Option<&'a [Visit]>,
    /// Jobs late before they start (`None`: not known, as for a bare schedule, which has no
    /// batching).
    pub late: Option<&'a [LateJob]>,
    /// Each site's work per visit day.
    pub sites: &'a [SiteSchedule],
    /// Every site within the business-day limit and every job by its deadline.
    pub feasible: bool,
    /// Sites past the business-day limit.
    pub misses: &'a [SiteMiss],
    /// Jobs finished after their own deadline.
    pub job_deadline_misses: &'a [JobDeadlineMiss],
    /// What to change, for people.
    pub suggestions: &'a [String],
    /// Remarks.
    pub notes: &'a [String],
}

impl Schedule {
    /// The schedule as [`render_text`] and [`render_markdown`] print it: the timetable and the
    /// deadline check.
    pub fn view(&self) -> ScheduleView<'_> {
        ScheduleView {
            time_zone: &self.time_zone,
            settings: Some(ScheduleSettings {
                start: None,
                deadline_business_days: self.deadline_business_days,
                global_limit: self.global_limit,
                canary: self.canary.as_ref(),
            }),
            estimates: None,
            visits: None,
            late: None,
            sites: &self.sites,
            feasible: self.feasibility.feasible,
            misses: &self.feasibility.misses,
            job_deadline_misses: &self.feasibility.job_deadline_misses,
            suggestions: &self.feasibility.suggestions,
            notes: &self.notes,
        }
    }

    /// The schedule as pretty JSON.
    pub fn to_json(&self) -> Result<String, ScheduleError> {
        serde_json::to_string_pretty(self).map_err(ScheduleError::Json)
    }
}

fn hm(z: &Zoned) -> String {
    z.strftime("%H:%M").to_string()
}

fn when(z: &Zoned) -> String {
    z.strftime("%Y-%m-%d %H:%M").to_string()
}

/// `2026-10-01 Thu`, `2026-10-01（木）`.
fn day(d: Date, lang: Language) -> String {
    match lang {
        Language::En => d.strftime("%Y-%m-%d %a").to_string(),
        Language::Ja => format!("{d}（{}）", weekday_ja(d.weekday())),
    }
}

/// `45m`, `3h`, `1h05m`.
fn office_time(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m:02}m"),
    }
}

/// `20 min`, `12 min 30 s` (`20 分`, `12 分 30 秒`).
fn per_terminal(seconds: u64, lang: Language) -> String {
    let (min, sec) = lang.pick(("分", "秒"), ("min", "s"));
    match (seconds / 60, seconds % 60) {
        (m, 0) => format!("{m} {min}"),
        (m, s) => format!("{m} {min} {s} {sec}"),
    }
}

fn basis(e: &EstimateSummary, lang: Language) -> String {
    match (e.from_history, lang) {
        (false, Language::En) => "declared (minutes_per_terminal)".to_string(),
        (false, Language::Ja) => "宣言値（minutes_per_terminal）".to_string(),
        (true, Language::En) => format!(
            "from past runs (medians of up to {} recorded duration(s); history for {} of {} \
             task(s)), declared {} min",
            e.samples, e.tasks_with_history, e.tasks, e.declared_minutes
        ),
        (true, Language::Ja) => format!(
            "過去の実績から（最大 {} 件の実績の中央値、タスク {} 件中 {} 件に実績あり）、宣言値 {} 分",
            e.samples, e.tasks, e.tasks_with_history, e.declared_minutes
        ),
    }
}

fn kind(k: VisitKind, lang: Language) -> &'static str {
    match k {
        VisitKind::Urgent => lang.pick("緊急", "urgent"),
        VisitKind::Batched => lang.pick("まとめて実施", "batched"),
        VisitKind::Own => lang.pick("単独実施", "own visit"),
    }
}

/// Visits that read the same at several sites (day, kind, jobs and reasons), said once with
/// the sites listed: a city's ward offices often get the same visit on the same day.
struct VisitGroup<'a> {
    date: Date,
    kind: VisitKind,
    jobs: Vec<&'a str>,
    /// Each distinct reason with the jobs it applies to ([`Visit::reasons`]).
    reasons: Vec<(Vec<&'a str>, String)>,
    sites: Vec<&'a str>,
}

impl VisitGroup<'_> {
    /// The reasons in one line: the reason alone when every job shares it, else each reason
    /// after the jobs it applies to.
    fn reason_line(&self, lang: Language) -> String {
        if let [(_, only)] = self.reasons.as_slice() {
            return only.clone();
        }
        let parts: Vec<String> = self
            .reasons
            .iter()
            .map(|(jobs, text)| {
                let jobs = join_names(jobs, lang);
                match lang {
                    Language::En => format!("{jobs}: {text}"),
                    Language::Ja => format!("{jobs}：{text}"),
                }
            })
            .collect();
        parts.join(lang.pick("。", "; "))
    }
}

/// The visits grouped into [`VisitGroup`]s, by day, then in the order of their first site.
fn visit_groups(visits: &[Visit], lang: Language) -> Vec<VisitGroup<'_>> {
    let mut groups: Vec<VisitGroup<'_>> = Vec::new();
    for v in visits {
        let (jobs, reasons) = (v.job_ids(), v.reasons(lang));
        let same = |g: &&mut VisitGroup<'_>| {
            (g.date, g.kind) == (v.date, v.kind) && g.jobs == jobs && g.reasons == reasons
        };
        match groups.iter_mut().find(same) {
            Some(g) => g.sites.push(&v.site),
            None => groups.push(VisitGroup {
                date: v.date,
                kind: v.kind,
                jobs,
                reasons,
                sites: vec![&v.site],
            }),
        }
    }
    // Stable: groups of one day keep the order of their first site.
    groups.sort_by_key(|g| g.date);
    groups
}

fn header(view: &ScheduleView<'_>, lang: Language) -> String {
    let Some(s) = &view.settings else {
        return view.time_zone.to_string();
    };
    let mut out = String::new();
    let tz = view.time_zone;
    let days = s.deadline_business_days;
    match (lang, s.start) {
        (Language::En, Some(start)) => {
            let _ = write!(out, "From {start}; times in {tz}.");
        }
        (Language::En, None) => {
            let _ = write!(out, "Times in {tz}.");
        }
        (Language::Ja, Some(start)) => {
            let _ = write!(out, "{start} 以降。時刻は {tz}。");
        }
        (Language::Ja, None) => {
            let _ = write!(out, "時刻は {tz}。");
        }
    }
    out.push_str(&match lang {
        Language::En => {
            format!(
                " The timetable below gives every site a crew of its own; the crews' timetable, \
                 and the proof that all sites finish within {days} business days with them, \
                 are under Crews."
            )
        }
        Language::Ja => {
            format!(
                "以下の時間割は各拠点に専任の班がいる場合のものです。班の行程と、その班で全拠点が {days} 開庁日以内に完了することの確認は「体制と日程」にあります。"
            )
        }
    });
    if let Some(limit) = s.global_limit {
        out.push_str(&match lang {
            Language::En => format!(" Global limit: {limit} terminals at a time."),
            Language::Ja => format!("全体の同時作業端末数の上限：{limit} 台。"),
        });
    }
    match (s.canary, lang) {
        (Some(Canary::Site(site)), Language::En) => {
            let _ = write!(out, " Canary: site {site} first.");
        }
        (Some(Canary::Terminals(n)), Language::En) => {
            let _ = write!(out, " Canary: the first {n} terminals first.");
        }
        (Some(Canary::Site(site)), Language::Ja) => {
            let _ = write!(out, "先行実施（カナリア）：拠点 {site} を先に実施。");
        }
        (Some(Canary::Terminals(n)), Language::Ja) => {
            let _ = write!(out, "先行実施（カナリア）：最初の {n} 台を先に実施。");
        }
        (None, _) => {}
    }
    out
}

fn limit_text(view: &ScheduleView<'_>) -> String {
    view.settings
        .map_or_else(|| "?".to_string(), |s| s.deadline_business_days.to_string())
}

fn verdict(site: &SiteSchedule, limit: &str, lang: Language) -> String {
    match (site.status, lang) {
        (DeadlineStatus::Met { business_day }, Language::En) => {
            format!("ok: business day {business_day} of {limit}")
        }
        (DeadlineStatus::Met { business_day }, Language::Ja) => {
            format!("期限内：{limit} 開庁日中 {business_day} 日目に完了")
        }
        (
            DeadlineStatus::Missed {
                business_days_late,
                office_minutes_late,
            },
            Language::En,
        ) => format!(
            "MISSED: {business_days_late} business day(s) late ({} of office time after the \
             deadline {})",
            office_time(office_minutes_late),
            when(&site.deadline)
        ),
        (
            DeadlineStatus::Missed {
                business_days_late,
                office_minutes_late,
            },
            Language::Ja,
        ) => format!(
            "期限超過：{business_days_late} 開庁日の遅れ（期限 {} 後の開庁時間 {}）",
            when(&site.deadline),
            office_time(office_minutes_late)
        ),
    }
}

/// A one-line warning for the top of a document whose schedule misses something.
pub fn banner(view: &ScheduleView<'_>, lang: Language) -> Option<String> {
    if view.feasible {
        return None;
    }
    let (sites, jobs) = (view.misses.len(), view.job_deadline_misses.len());
    let late = view.late.map(<[LateJob]>::len);
    Some(match (lang, late) {
        (Language::En, Some(late)) => format!(
            "NOT FEASIBLE: {sites} site(s) past the business-day limit, {jobs} job(s) past their \
             deadline, {late} job(s) late before they start; see the schedule's deadline check"
        ),
        (Language::En, None) => format!(
            "NOT FEASIBLE: {sites} site(s) past the business-day limit, {jobs} job(s) past their \
             deadline; see the schedule's deadline check"
        ),
        (Language::Ja, Some(late)) => format!(
            "実施不可：開庁日の上限を超える拠点 {sites} 件、期限を過ぎる作業 {jobs} 件、開始前に期限切れの作業 {late} 件。日程の「期限の確認」を参照"
        ),
        (Language::Ja, None) => format!(
            "実施不可：開庁日の上限を超える拠点 {sites} 件、期限を過ぎる作業 {jobs} 件。日程の「期限の確認」を参照"
        ),
    })
}

fn closing_lines(view: &ScheduleView<'_>, lang: Language, bullet: &str) -> String {
    let limit = limit_text(view);
    let mut out = String::new();
    match (view.feasible, lang) {
        (true, Language::En) => {
            let _ = writeln!(
                out,
                "Feasible with a crew at every site: every site finishes within {limit} \
                 business days and every job by its deadline."
            );
        }
        (true, Language::Ja) => {
            let _ = writeln!(
                out,
                "各拠点に専任の班がいれば実施可能：すべての拠点が {limit} 開庁日以内に完了し、すべての作業が期限内に終わります。"
            );
        }
        (false, _) => {
            let _ = writeln!(out, "{}", banner(view, lang).unwrap_or_default());
            for l in view.late.unwrap_or_default() {
                let (job, site, deadline, earliest) = (&l.job, &l.site, l.deadline, l.earliest);
                let line = match lang {
                    Language::En => format!(
                        "job {job} at {site} is late before it starts: its deadline {deadline} \
                         comes before its first business day {earliest}"
                    ),
                    Language::Ja => format!(
                        "作業 {job}（{site}）は期限 {deadline} が実施可能な最初の開庁日 {earliest} より前です"
                    ),
                };
                let _ = writeln!(out, "{bullet}{line}");
            }
            for m in view.job_deadline_misses {
                let (job, site, finish, deadline) = (&m.job, &m.site, when(&m.finish), m.deadline);
                let line = match lang {
                    Language::En => {
                        format!(
                            "job {job} at {site} finishes {finish}, after its deadline {deadline}"
                        )
                    }
                    Language::Ja => {
                        format!(
                            "作業 {job}（{site}）の完了は {finish} で、期限 {deadline} を過ぎます"
                        )
                    }
                };
                let _ = writeln!(out, "{bullet}{line}");
            }
            for s in view.suggestions {
                let _ = writeln!(out, "{bullet}hint: {s}");
            }
        }
    }
    for note in view.notes {
        let _ = writeln!(out, "{bullet}note: {note}");
    }
    out
}

/// The schedule as plain text in English, under a `Schedule` heading.
pub fn render_text(view: &ScheduleView<'_>) -> String {
    let lang = Language::En;
    let limit = limit_text(view);
    let mut out = String::from("Schedule\n");
    let _ = writeln!(out, "  {}", header(view, lang));
    if let Some(estimates) = view.estimates {
        out.push_str("\n  Estimates per terminal:\n");
        let width = estimates
            .iter()
            .map(|e| e.job.chars().count())
            .max()
            .unwrap_or(0);
        for e in estimates {
            let _ = writeln!(
                out,
                "    {:width$}  {:>12}  {}",
                e.job,
                per_terminal(e.seconds_per_terminal, lang),
                basis(e, lang)
            );
        }
    }
    if let Some(visits) = view.visits {
        out.push_str(
            "\n  Visits (jobs batched per site and day, with the reason for each day; sites whose \
             visits read the same share one entry):\n",
        );
        for g in visit_groups(visits, lang) {
            let _ = writeln!(
                out,
                "    {}  {}  at {}",
                day(g.date, lang),
                kind(g.kind, lang),
                g.sites.join(", ")
            );
            let _ = writeln!(out, "      jobs: {}", g.jobs.join(", "));
            match g.reasons.as_slice() {
                [(_, only)] => {
                    let _ = writeln!(out, "      reason: {only}");
                }
                reasons => {
                    for (jobs, text) in reasons {
                        let _ = writeln!(out, "      {}: {text}", join_names(jobs, lang));
                    }
                }
            }
        }
    }
    out.push_str("\n  Timetable (a crew at every site):\n");
    let mut rows: Vec<Vec<String>> = vec![
        ["Site", "Day", "Date", "Start", "End", "Terminals"]
            .map(String::from)
            .to_vec(),
    ];
    for site in view.sites {
        for d in &site.days {
            rows.push(vec![
                site.site.clone(),
                d.business_day.to_string(),
                day(d.date, lang),
                hm(&d.start),
                hm(&d.end),
                d.terminals.to_string(),
            ]);
        }
    }
    // Numbers to the right, words to the left.
    for line in align_columns(&rows, &[1, 5]) {
        let _ = writeln!(out, "    {line}");
    }
    out.push_str("\n  Deadline check (a crew at every site):\n");
    let name_width = view
        .sites
        .iter()
        .map(|s| s.site.chars().count())
        .max()
        .unwrap_or(0);
    for site in view.sites {
        let _ = write!(
            out,
            "    {:name_width$}  from {}  finished {}  ",
            site.site,
            site.start_day,
            when(&site.finish)
        );
        if let Some(t) = &site.transfer {
            let _ = write!(
                out,
                "(artifacts: {} bytes sent {}-{}) ",
                t.bytes,
                hm(&t.start),
                hm(&t.end)
            );
        }
        let _ = writeln!(out, "{}", verdict(site, &limit, lang));
    }
    out.push('\n');
    for line in closing_lines(view, lang, "- ").lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}

struct Labels {
    schedule: &'static str,
    estimates: &'static str,
    estimate_cols: &'static str,
    visits: &'static str,
    visit_cols: &'static str,
    timetable: &'static str,
    timetable_cols: &'static str,
    check: &'static str,
    check_cols: &'static str,
}

const EN: Labels = Labels {
    schedule: "Schedule",
    estimates: "Estimates per terminal",
    estimate_cols: "| Job | Per terminal | Basis |\n|---|---:|---|",
    visits: "Visits",
    visit_cols: "| Date | Sites | Kind | Jobs | Reason |\n|---|---|---|---|---|",
    timetable: "Timetable (a crew at every site)",
    timetable_cols: "| Site | Business day | Date | Start | End | Terminals |\n|---|---:|---|---|---|---:|",
    check: "Deadline check (a crew at every site)",
    check_cols: "| Site | Start day | Deadline | Finish | Result |\n|---|---|---|---|---|",
};

const JA: Labels = Labels {
    schedule: "作業日程",
    estimates: "端末あたりの所要時間の見積り",
    estimate_cols: "| 作業ID | 端末あたり | 根拠 |\n|---|---:|---|",
    visits: "訪問（作業のまとめ）",
    visit_cols: "| 日付 | 拠点 | 区分 | 作業ID | 理由 |\n|---|---|---|---|---|",
    timetable: "時間割（各拠点に専任の班）",
    timetable_cols: "| 拠点 | 開庁日 | 日付 | 開始 | 終了 | 端末数 |\n|---|---:|---|---|---|---:|",
    check: "期限の確認（各拠点に専任の班）",
    check_cols: "| 拠点 | 開始日 | 期限 | 完了 | 判定 |\n|---|---|---|---|---|",
};

/// One markdown table row; a `|` or a line break in a cell would break the table.
fn row<S: AsRef<str>>(out: &mut String, cells: &[S]) {
    for c in cells {
        let _ = write!(
            out,
            "| {} ",
            c.as_ref().replace('|', "\\|").replace('\n', " ")
        );
    }
    out.push_str("|\n");
}

/// The schedule as markdown: a level 2 heading and level 3 subsections.
pub fn render_markdown(view: &ScheduleView<'_>, lang: Language) -> String {
    let l = lang.pick(&JA, &EN);
    let limit = limit_text(view);
    let mut out = String::new();
    let _ = writeln!(out, "## {}\n\n{}", l.schedule, header(view, lang));
    if let Some(estimates) = view.estimates {
        let _ = writeln!(out, "\n### {}\n\n{}", l.estimates, l.estimate_cols);
        for e in estimates {
            let per_terminal = per_terminal(e.seconds_per_terminal, lang);
            row(&mut out, &[&e.job, &per_terminal, &basis(e, lang)]);
        }
    }
    if let Some(visits) = view.visits {
        let _ = writeln!(out, "\n### {}\n\n{}", l.visits, l.visit_cols);
        for g in visit_groups(visits, lang) {
            row(
                &mut out,
                &[
                    day(g.date, lang),
                    g.sites.join(", "),
                    kind(g.kind, lang).to_string(),
                    g.jobs.join(", "),
                    g.reason_line(lang),
                ],
            );
        }
    }
    let _ = writeln!(out, "\n### {}\n\n{}", l.timetable, l.timetable_cols);
    for site in view.sites {
        for d in &site.days {
            row(
                &mut out,
                &[
                    format!("{} ({})", site.site, site.name),
                    d.business_day.to_string(),
                    day(d.date, lang),
                    hm(&d.start),
                    hm(&d.end),
                    d.terminals.to_string(),
                ],
            );
        }
    }
    let _ = writeln!(out, "\n### {}\n\n{}", l.check, l.check_cols);
    for site in view.sites {
        row(
            &mut out,
            &[
                site.site.clone(),
                day(site.start_day, lang),
                when(&site.deadline),
                when(&site.finish),
                verdict(site, &limit, lang),
            ],
        );
    }
    out.push('\n');
    let closing = closing_lines(view, lang, "- ");
    let mut lines = closing.lines();
    if let Some(first) = lines.next() {
        let _ = writeln!(out, "**{first}**");
    }
    let rest: Vec<&str> = lines.collect();
    if !rest.is_empty() {
        let _ = writeln!(out, "\n{}", rest.join("\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_minutes_and_office_time_as_hours() {
        assert_eq!(per_terminal(1200, Language::En), "20 min");
        assert_eq!(per_terminal(750, Language::En), "12 min 30 s");
        assert_eq!(per_terminal(750, Language::Ja), "12 分 30 秒");
        assert_eq!(office_time(45), "45m");
        assert_eq!(office_time(180), "3h");
        assert_eq!(office_time(990), "16h30m");
        assert_eq!(office_time(65), "1h05m");
    }

    #[test]
    fn japanese_days_carry_the_weekday() {
        let d = jiff::civil::date(2026, 10, 1);
        assert_eq!(day(d, Language::Ja), "2026-10-01（木）");
        assert_eq!(day(d, Language::En), "2026-10-01 Thu");
    }
}
