//! The schedule section of a plan for people: estimates (saying which come from past runs),
//! visits with the reason for each job's day, the timetable (site, business day, date, start,
//! end, terminals) and the deadline check, as plain text or markdown in English or Japanese.

use std::fmt::Write as _;

use jiff::Zoned;
use jiff::civil::{Date, Weekday};

use super::Language;
use super::schedule::{PlanSchedule, ScheduleRequest};
use crate::schedule::{Canary, DeadlineStatus, EstimateSummary, SiteSchedule, VisitKind};

fn hm(z: &Zoned) -> String {
    z.strftime("%H:%M").to_string()
}

fn when(z: &Zoned) -> String {
    z.strftime("%Y-%m-%d %H:%M").to_string()
}

fn day(d: Date, lang: Language) -> String {
    match lang {
        Language::En => d.strftime("%Y-%m-%d %a").to_string(),
        Language::Ja => {
            let w = match d.weekday() {
                Weekday::Monday => "月",
                Weekday::Tuesday => "火",
                Weekday::Wednesday => "水",
                Weekday::Thursday => "木",
                Weekday::Friday => "金",
                Weekday::Saturday => "土",
                Weekday::Sunday => "日",
            };
            format!("{d}（{w}）")
        }
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
    let (min, sec) = match lang {
        Language::En => ("min", "s"),
        Language::Ja => ("分", "秒"),
    };
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
    match (k, lang) {
        (VisitKind::Urgent, Language::En) => "urgent",
        (VisitKind::Batched, Language::En) => "batched",
        (VisitKind::Own, Language::En) => "own visit",
        (VisitKind::Urgent, Language::Ja) => "緊急",
        (VisitKind::Batched, Language::Ja) => "まとめて実施",
        (VisitKind::Own, Language::Ja) => "単独実施",
    }
}

fn header(request: Option<&ScheduleRequest>, schedule: &PlanSchedule, lang: Language) -> String {
    let mut out = String::new();
    match (request, lang) {
        (Some(r), Language::En) => {
            let _ = write!(
                out,
                "From {}; times in {}. Each site must finish within {} business days (day 1 = \
                 its start day).",
                r.start, schedule.time_zone, r.deadline_business_days
            );
            if let Some(limit) = r.global_limit {
                let _ = write!(out, " Global limit: {limit} terminals at a time.");
            }
            match &r.canary {
                Some(Canary::Site(site)) => {
                    let _ = write!(out, " Canary: site {site} first.");
                }
                Some(Canary::Terminals(n)) => {
                    let _ = write!(out, " Canary: the first {n} terminals first.");
                }
                None => {}
            }
        }
        (Some(r), Language::Ja) => {
            let _ = write!(
                out,
                "{} 以降。時刻は {}。各拠点の作業は開始日を 1 日目として {} 開庁日以内に完了すること。",
                r.start, schedule.time_zone, r.deadline_business_days
            );
            if let Some(limit) = r.global_limit {
                let _ = write!(out, "全体の同時作業端末数の上限：{limit} 台。");
            }
            match &r.canary {
                Some(Canary::Site(site)) => {
                    let _ = write!(out, "先行実施（カナリア）：拠点 {site} を先に実施。");
                }
                Some(Canary::Terminals(n)) => {
                    let _ = write!(out, "先行実施（カナリア）：最初の {n} 台を先に実施。");
                }
                None => {}
            }
        }
        (None, _) => out.push_str(&schedule.time_zone),
    }
    out
}

fn verdict(site: &SiteSchedule, limit: Option<u32>, lang: Language) -> String {
    let limit = limit.map_or_else(|| "?".to_string(), |l| l.to_string());
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

/// A one-line warning for the top of a plan whose schedule misses something.
pub(super) fn banner(schedule: &PlanSchedule, lang: Language) -> Option<String> {
    if schedule.feasible {
        return None;
    }
    Some(match lang {
        Language::En => format!(
            "NOT FEASIBLE: {} site(s) past the business-day limit, {} job(s) past their \
             deadline, {} job(s) late before they start; see the schedule's deadline check",
            schedule.misses.len(),
            schedule.job_deadline_misses.len(),
            schedule.late.len()
        ),
        Language::Ja => format!(
            "実施不可：開庁日の上限を超える拠点 {} 件、期限を過ぎる作業 {} 件、開始前に期限切れの作業 {} 件。日程の「期限の確認」を参照",
            schedule.misses.len(),
            schedule.job_deadline_misses.len(),
            schedule.late.len()
        ),
    })
}

fn closing_lines(
    schedule: &PlanSchedule,
    limit: Option<u32>,
    lang: Language,
    bullet: &str,
) -> String {
    let limit = limit.map_or_else(|| "?".to_string(), |l| l.to_string());
    let mut out = String::new();
    match (schedule.feasible, lang) {
        (true, Language::En) => {
            let _ = writeln!(
                out,
                "Feasible: every site finishes within {limit} business days and every job by \
                 its deadline."
            );
        }
        (true, Language::Ja) => {
            let _ = writeln!(
                out,
                "実施可能：すべての拠点が {limit} 開庁日以内に完了し、すべての作業が期限内に終わります。"
            );
        }
        (false, _) => {
            let _ = writeln!(out, "{}", banner(schedule, lang).unwrap_or_default());
            for l in &schedule.late {
                let _ = match lang {
                    Language::En => writeln!(
                        out,
                        "{bullet}job {} at {} is late before it starts: its deadline {} comes \
                         before its first business day {}",
                        l.job, l.site, l.deadline, l.earliest
                    ),
                    Language::Ja => writeln!(
                        out,
                        "{bullet}作業 {}（{}）は期限 {} が実施可能な最初の開庁日 {} より前です",
                        l.job, l.site, l.deadline, l.earliest
                    ),
                };
            }
            for m in &schedule.job_deadline_misses {
                let _ = match lang {
                    Language::En => writeln!(
                        out,
                        "{bullet}job {} at {} finishes {}, after its deadline {}",
                        m.job,
                        m.site,
                        when(&m.finish),
                        m.deadline
                    ),
                    Language::Ja => writeln!(
                        out,
                        "{bullet}作業 {}（{}）の完了は {} で、期限 {} を過ぎます",
                        m.job,
                        m.site,
                        when(&m.finish),
                        m.deadline
                    ),
                };
            }
            for s in &schedule.suggestions {
                let _ = writeln!(out, "{bullet}hint: {s}");
            }
        }
    }
    for note in &schedule.notes {
        let _ = writeln!(out, "{bullet}note: {note}");
    }
    out
}

/// The schedule as plain text.
pub(super) fn text(schedule: &PlanSchedule, request: Option<&ScheduleRequest>) -> String {
    let lang = Language::En;
    let limit = request.map(|r| r.deadline_business_days);
    let mut out = String::from("\nSchedule\n");
    let _ = writeln!(out, "  {}", header(request, schedule, lang));
    out.push_str("\n  Estimates per terminal:\n");
    let width = schedule
        .estimates
        .iter()
        .map(|e| e.job.chars().count())
        .max()
        .unwrap_or(0);
    for e in &schedule.estimates {
        let _ = writeln!(
            out,
            "    {:width$}  {:>12}  {}",
            e.job,
            per_terminal(e.seconds_per_terminal, lang),
            basis(e, lang)
        );
    }
    out.push_str("\n  Visits (jobs batched per site and day, with the reason for each day):\n");
    for v in &schedule.visits {
        let _ = writeln!(
            out,
            "    {}  {} {}  {}",
            v.id,
            v.site,
            day(v.date, lang),
            kind(v.kind, lang)
        );
        for j in &v.jobs {
            let _ = writeln!(out, "      {}: {}", j.job, j.reason);
        }
    }
    out.push_str("\n  Timetable:\n");
    let mut rows: Vec<[String; 6]> = vec![[
        "Site".into(),
        "Day".into(),
        "Date".into(),
        "Start".into(),
        "End".into(),
        "Terminals".into(),
    ]];
    for site in &schedule.sites {
        for d in &site.days {
            rows.push([
                site.site.clone(),
                d.business_day.to_string(),
                day(d.date, lang),
                hm(&d.start),
                hm(&d.end),
                d.terminals.to_string(),
            ]);
        }
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in &rows {
        let mut line = String::from("    ");
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            let pad = " ".repeat(w - cell.chars().count());
            // Numbers to the right, words to the left.
            if i == 1 || i == 5 {
                let _ = write!(line, "{pad}{cell}  ");
            } else {
                let _ = write!(line, "{cell}{pad}  ");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out.push_str("\n  Deadline check:\n");
    let name_width = schedule
        .sites
        .iter()
        .map(|s| s.site.chars().count())
        .max()
        .unwrap_or(0);
    for site in &schedule.sites {
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
        let _ = writeln!(out, "{}", verdict(site, limit, lang));
    }
    out.push('\n');
    for line in closing_lines(schedule, limit, lang, "- ").lines() {
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
    visit_cols: "| Visit | Site | Date | Kind | Job | Reason |\n|---|---|---|---|---|---|",
    timetable: "Timetable",
    timetable_cols: "| Site | Business day | Date | Start | End | Terminals |\n|---|---:|---|---|---|---:|",
    check: "Deadline check",
    check_cols: "| Site | Start day | Deadline | Finish | Result |\n|---|---|---|---|---|",
};

const JA: Labels = Labels {
    schedule: "作業日程",
    estimates: "端末あたりの所要時間の見積り",
    estimate_cols: "| 作業ID | 端末あたり | 根拠 |\n|---|---:|---|",
    visits: "訪問（作業のまとめ）",
    visit_cols: "| 訪問 | 拠点 | 日付 | 区分 | 作業ID | 理由 |\n|---|---|---|---|---|---|",
    timetable: "時間割",
    timetable_cols: "| 拠点 | 開庁日 | 日付 | 開始 | 終了 | 端末数 |\n|---|---:|---|---|---|---:|",
    check: "期限の確認",
    check_cols: "| 拠点 | 開始日 | 期限 | 完了 | 判定 |\n|---|---|---|---|---|",
};

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The schedule as markdown sections (level 2 heading, level 3 subsections).
pub(super) fn markdown(
    schedule: &PlanSchedule,
    request: Option<&ScheduleRequest>,
    lang: Language,
) -> String {
    let l = match lang {
        Language::En => &EN,
        Language::Ja => &JA,
    };
    let limit = request.map(|r| r.deadline_business_days);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## {}\n\n{}",
        l.schedule,
        header(request, schedule, lang)
    );
    let _ = writeln!(out, "\n### {}\n\n{}", l.estimates, l.estimate_cols);
    for e in &schedule.estimates {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            cell(&e.job),
            per_terminal(e.seconds_per_terminal, lang),
            cell(&basis(e, lang))
        );
    }
    let _ = writeln!(out, "\n### {}\n\n{}", l.visits, l.visit_cols);
    for v in &schedule.visits {
        for j in &v.jobs {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&v.id),
                cell(&v.site),
                day(v.date, lang),
                kind(v.kind, lang),
                cell(&j.job),
                cell(&j.reason)
            );
        }
    }
    let _ = writeln!(out, "\n### {}\n\n{}", l.timetable, l.timetable_cols);
    for site in &schedule.sites {
        for d in &site.days {
            let _ = writeln!(
                out,
                "| {} ({}) | {} | {} | {} | {} | {} |",
                cell(&site.site),
                cell(&site.name),
                d.business_day,
                day(d.date, lang),
                hm(&d.start),
                hm(&d.end),
                d.terminals
            );
        }
    }
    let _ = writeln!(out, "\n### {}\n\n{}", l.check, l.check_cols);
    for site in &schedule.sites {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(&site.site),
            day(site.start_day, lang),
            when(&site.deadline),
            when(&site.finish),
            cell(&verdict(site, limit, lang))
        );
    }
    out.push('\n');
    let closing = closing_lines(schedule, limit, lang, "- ");
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
    fn durations_read_as_minutes() {
        assert_eq!(per_terminal(1200, Language::En), "20 min");
        assert_eq!(per_terminal(750, Language::En), "12 min 30 s");
        assert_eq!(per_terminal(750, Language::Ja), "12 分 30 秒");
        assert_eq!(office_time(65), "1h05m");
        assert_eq!(office_time(45), "45m");
    }

    #[test]
    fn japanese_days_carry_the_weekday() {
        let d = jiff::civil::date(2026, 10, 1);
        assert_eq!(day(d, Language::Ja), "2026-10-01（木）");
        assert_eq!(day(d, Language::En), "2026-10-01 Thu");
    }
}
