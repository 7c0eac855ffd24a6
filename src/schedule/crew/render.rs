//! The crew plan for people, in English or Japanese: a summary sentence, the timetable per crew
//! and per site as tables (headers and rows of text, so the plan's text, the Markdown and the
//! xlsx documents print the same rows), the misses, hints and notes (kept as data in the plan
//! and worded here).

use std::fmt::Write as _;

use jiff::Zoned;

use super::{CrewHint, CrewMiss, CrewNote, CrewPlan, Stint};
use crate::calendar::weekday_ja;
use crate::columns::align_columns;
use crate::inventory::WorkMode;
use crate::language::Language;

/// A table: its column headers and rows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

fn hm(z: &Zoned) -> String {
    z.strftime("%H:%M").to_string()
}

fn day(z: &Zoned, lang: Language) -> String {
    match lang {
        Language::Ja => format!(
            "{}({})",
            z.strftime("%Y-%m-%d"),
            weekday_ja(z.date().weekday())
        ),
        Language::En => z.strftime("%Y-%m-%d %a").to_string(),
    }
}

/// A crew's label: its id and who is on it.
pub fn crew_label(plan: &CrewPlan, id: &str) -> String {
    match plan.crew(id) {
        Some(crew) if !crew.members.is_empty() => {
            let names: Vec<&str> = crew.members.iter().map(|m| m.name.as_str()).collect();
            format!("{} ({})", crew.id, names.join("、"))
        }
        _ => id.to_string(),
    }
}

fn travel_cell(stint: &Stint, lang: Language) -> String {
    let from = match lang {
        Language::Ja => stint.from_name.as_ref(),
        Language::En => stint.from.as_ref(),
    };
    let minutes = lang.pick("分", "min");
    match (stint.work, from) {
        (WorkMode::Remote, _) => lang.pick("リモート", "remote").to_string(),
        (_, Some(from)) => format!("{from} → {} {minutes}", stint.travel_minutes),
        (_, None) => format!(
            "{} → {} {minutes}",
            lang.pick("本庁舎", "base"),
            stint.travel_minutes
        ),
    }
}

/// Column headings in `lang`, from (Japanese, English) pairs.
fn headers(lang: Language, pairs: &[(&str, &str)]) -> Vec<String> {
    pairs
        .iter()
        .map(|&(ja, en)| lang.pick(ja, en).to_string())
        .collect()
}

/// One row per crew, site and working day.
pub fn crew_table(plan: &CrewPlan, lang: Language) -> Table {
    let headers = headers(
        lang,
        &[
            ("班", "Crew"),
            ("拠点", "Site"),
            ("日付", "Date"),
            ("開始", "Start"),
            ("終了", "End"),
            ("端末数", "Terminals"),
            ("移動", "Travel"),
        ],
    );
    let mut rows = Vec::new();
    for timetable in &plan.crews {
        for stint in &timetable.stints {
            for (n, d) in stint.days.iter().enumerate() {
                let mut end = hm(&d.end);
                if d.out_of_hours {
                    end.push_str(lang.pick(" (時間外)", " (out of hours)"));
                }
                rows.push(vec![
                    crew_label(plan, &stint.crew),
                    stint.name.clone(),
                    day(&d.start, lang),
                    hm(&d.start),
                    end,
                    d.terminals.to_string(),
                    if n == 0 {
                        travel_cell(stint, lang)
                    } else {
                        String::new()
                    },
                ]);
            }
        }
        if timetable.stints.is_empty() {
            rows.push(vec![
                crew_label(plan, &timetable.crew.id),
                lang.pick("(作業なし)", "(no work)").to_string(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
    }
    Table { headers, rows }
}

/// One row per site and round: its crew, start, finish, deadline and verdict.
pub fn site_table(plan: &CrewPlan, lang: Language) -> Table {
    let headers = headers(
        lang,
        &[
            ("拠点", "Site"),
            ("作業形態", "Work"),
            ("班", "Crew"),
            ("開始", "Start"),
            ("完了", "Finish"),
            ("期限", "Deadline"),
            ("判定", "Verdict"),
        ],
    );
    let rows = plan
        .stints_by_site()
        .into_iter()
        .map(|s| {
            let start = s
                .days
                .first()
                .map_or_else(|| s.arrive.clone(), |d| d.start.clone());
            vec![
                format!("{} ({})", s.name, s.site),
                match s.work {
                    WorkMode::OnSite => lang.pick("現地", "on site"),
                    WorkMode::Remote => lang.pick("リモート", "remote"),
                }
                .to_string(),
                crew_label(plan, &s.crew),
                format!("{} {}", day(&start, lang), hm(&start)),
                format!("{} {}", day(&s.finish, lang), hm(&s.finish)),
                deadline_cell(&s.deadline, s.deadline_job.as_deref(), lang),
                if s.met {
                    lang.pick("期限内", "in time")
                } else {
                    lang.pick("期限超過", "LATE")
                }
                .to_string(),
            ]
        })
        .collect();
    Table { headers, rows }
}

/// The opening sentence: how many crews, the rounds and their last days.
pub fn summary(plan: &CrewPlan, lang: Language) -> String {
    let crews = plan.crews.len();
    let mut out = match lang {
        Language::Ja => format!(
            "体制: {crews}班。各巡回日の全拠点を{}営業日以内(巡回日を1日目とする)に完了すること。",
            plan.deadline_business_days
        ),
        Language::En => format!(
            "Crews: {crews}. Every site of a round must finish within {} business days (day 1 = \
             the round's visit day).",
            plan.deadline_business_days
        ),
    };
    for round in &plan.rounds {
        let _ = match lang {
            Language::Ja => write!(
                out,
                " {}の巡回({}拠点): {}まで。",
                round.date, round.sites, round.deadline_day
            ),
            Language::En => write!(
                out,
                " Round of {} ({} sites): by {}.",
                round.date, round.sites, round.deadline_day
            ),
        };
    }
    out
}

/// The verdict and the number of crews needed, in one sentence.
pub fn verdict(plan: &CrewPlan, lang: Language) -> String {
    let needed = match (plan.crews_needed, lang) {
        (Some(n), Language::Ja) => format!("必要な班数は{n}班です。"),
        (Some(n), Language::En) => format!("{n} crew(s) are needed."),
        (None, Language::Ja) => {
            "班を増やすだけでは間に合いません(拠点ごとの提案を参照)。".to_string()
        }
        (None, Language::En) => {
            "No number of crews is enough (see the suggestions per site).".to_string()
        }
    };
    match (plan.feasible, lang) {
        (true, Language::Ja) => format!("実施可能: 全拠点が期限内に完了します。{needed}"),
        (true, Language::En) => format!("Feasible: every site finishes in time. {needed}"),
        (false, Language::Ja) => format!(
            "実施不可: {}拠点が期限に間に合いません。{needed}",
            plan.misses.len()
        ),
        (false, Language::En) => format!(
            "NOT feasible: {} site(s) miss the deadline. {needed}",
            plan.misses.len()
        ),
    }
}

/// A deadline, with the job whose own deadline it is (when it is not the round's).
fn deadline_cell(deadline: &Zoned, job: Option<&str>, lang: Language) -> String {
    let at = format!("{} {}", day(deadline, lang), hm(deadline));
    match job {
        None => at,
        Some(job) => format!("{at} ({}{job})", lang.pick("期限: ", "due: ")),
    }
}

/// A miss, for people.
pub fn miss_text(miss: &CrewMiss, lang: Language) -> String {
    let finish = miss.finish.strftime("%Y-%m-%d %H:%M");
    let deadline = match &miss.deadline_job {
        None => miss.deadline.strftime("%Y-%m-%d %H:%M").to_string(),
        Some(job) => format!(
            "{} ({})",
            miss.deadline.strftime("%Y-%m-%d %H:%M"),
            lang.pick(
                &format!("{job} の期限"),
                &format!("job {job}'s own deadline")
            )
        ),
    };
    match lang {
        Language::Ja => format!(
            "{}: 完了 {finish}、期限 {deadline} を{}営業日超過(作業時間で{}分)",
            miss.site, miss.business_days_late, miss.minutes_late
        ),
        Language::En => format!(
            "{}: finishes {finish}, {} business day(s) after the deadline {deadline} ({} min of \
             working time late)",
            miss.site, miss.business_days_late, miss.minutes_late
        ),
    }
}

/// A hint, for people.
pub fn hint_text(hint: &CrewHint, lang: Language) -> String {
    match (hint, lang) {
        (CrewHint::Crews { have, need }, Language::Ja) => {
            format!("班を{have}班から{need}班に増やせば全拠点が期限内に完了します")
        }
        (CrewHint::Crews { have, need }, Language::En) => {
            format!("raise the crews from {have} to {need}: then every site finishes in time")
        }
        (CrewHint::NoCrewCountFits, Language::Ja) => {
            "専任の班を置いても期限に間に合わない拠点があります".to_string()
        }
        (CrewHint::NoCrewCountFits, Language::En) => {
            "some site misses even with a crew of its own".to_string()
        }
        (CrewHint::Capacity { site, have, need }, Language::Ja) => format!(
            "{site}: 同時作業台数を{have}台から{need}台に増やせば、専任の班で期限内に完了します"
        ),
        (CrewHint::Capacity { site, have, need }, Language::En) => format!(
            "{site}: with a crew of its own, raising its capacity from {have} to {need} \
             terminals at a time fits"
        ),
        (CrewHint::NoCapacityFits { site }, Language::Ja) => format!(
            "{site}: 全端末を同時に作業しても間に合いません。開始を早める、作業を短縮する、\
             時間外作業の承認を得る、または営業日数の延長を市に相談してください"
        ),
        (CrewHint::NoCapacityFits { site }, Language::En) => format!(
            "{site}: not even every terminal at once fits; start earlier, shorten the jobs, get \
             out-of-hours windows approved or ask the city for more business days"
        ),
    }
}

/// A note, for people.
pub fn note_text(note: &CrewNote, lang: Language) -> String {
    match (note, lang) {
        (CrewNote::CrewsNotGiven { crews }, Language::Ja) => format!(
            "班の指定がないため、必要な班数({crews}班)で計画しています(--crews N または --crew 氏名で指定)"
        ),
        (CrewNote::CrewsNotGiven { crews }, Language::En) => format!(
            "no crews were given: planned with the {crews} needed (name them with --crews N or \
             --crew NAME)"
        ),
        (CrewNote::TravelAssumed { journeys, minutes }, Language::Ja) => format!(
            "移動時間がインベントリにない区間は、本庁舎経由の時間(両区間が分かる場合)または{minutes}分と仮定しました: {}",
            journeys.join("、")
        ),
        (CrewNote::TravelAssumed { journeys, minutes }, Language::En) => format!(
            "travel times not in the inventory, assumed by way of the base office where both \
             legs are known, else {minutes} min: {}",
            journeys.join(", ")
        ),
        (CrewNote::UnknownTravelSites { sites }, Language::Ja) => format!(
            "移動時間の表にインベントリにない拠点があります: {}",
            sites.join("、")
        ),
        (CrewNote::UnknownTravelSites { sites }, Language::En) => format!(
            "the travel table names sites that are not in the inventory: {}",
            sites.join(", ")
        ),
        (
            CrewNote::LimitsNotApplied {
                global_limit,
                canary,
            },
            lang,
        ) => {
            let asked: Vec<String> = global_limit
                .map(|n| format!("--global-limit {n}"))
                .into_iter()
                .chain(canary.then(|| "--canary".to_string()))
                .collect();
            let asked = asked.join(" / ");
            match lang {
                Language::Ja => format!(
                    "班の行程には {asked} を反映していません(各拠点に専任の班の時間割には反映済み)。反映すると班の作業は表より長くかかる場合があります"
                ),
                Language::En => format!(
                    "the crews' timetable does not apply {asked} (the timetable with a crew at \
                     every site does): with it, the crews may take longer than shown"
                ),
            }
        }
    }
}

/// The crew section as indented plain-text lines (for the text plan).
pub fn crew_lines(plan: &CrewPlan, lang: Language) -> Vec<String> {
    let mut out = vec![summary(plan, lang), String::new()];
    for (title, table) in [
        (
            lang.pick("班ごとの日程:", "Per crew:"),
            crew_table(plan, lang),
        ),
        (
            lang.pick("拠点ごとの日程:", "Per site:"),
            site_table(plan, lang),
        ),
    ] {
        out.push(title.to_string());
        let mut rows = vec![table.headers.clone()];
        rows.extend(table.rows.iter().cloned());
        out.extend(
            align_columns(&rows, &[])
                .into_iter()
                .map(|l| format!("  {l}")),
        );
        out.push(String::new());
    }
    out.push(verdict(plan, lang));
    for m in &plan.misses {
        out.push(format!("  - {}", miss_text(m, lang)));
    }
    for h in &plan.hints {
        out.push(format!(
            "{} {}",
            lang.pick("ヒント:", "hint:"),
            hint_text(h, lang)
        ));
    }
    for n in &plan.notes {
        out.push(format!(
            "{} {}",
            lang.pick("注記:", "note:"),
            note_text(n, lang)
        ));
    }
    out
}

/// The crew section in Markdown (a heading of `level`).
pub fn crew_markdown(plan: &CrewPlan, lang: Language, level: usize) -> String {
    let mut out = format!(
        "{} {}\n\n{}\n\n",
        "#".repeat(level),
        lang.pick("体制と日程", "Crews and timetable"),
        summary(plan, lang)
    );
    for (title, table) in [
        (lang.pick("班ごと", "Per crew"), crew_table(plan, lang)),
        (lang.pick("拠点ごと", "Per site"), site_table(plan, lang)),
    ] {
        let _ = writeln!(out, "{} {title}\n", "#".repeat(level + 1));
        out.push_str(&markdown_table(&table));
        out.push('\n');
    }
    let _ = writeln!(out, "{}\n", verdict(plan, lang));
    for m in &plan.misses {
        let _ = writeln!(out, "- {}", miss_text(m, lang));
    }
    for h in &plan.hints {
        let _ = writeln!(
            out,
            "- {} {}",
            lang.pick("ヒント:", "hint:"),
            hint_text(h, lang)
        );
    }
    for n in &plan.notes {
        let _ = writeln!(
            out,
            "- {} {}",
            lang.pick("注記:", "note:"),
            note_text(n, lang)
        );
    }
    out
}

/// A Markdown table.
pub fn markdown_table(table: &Table) -> String {
    let cell = |c: &str| c.replace('|', "\\|");
    let mut out = format!(
        "| {} |\n|{}\n",
        table
            .headers
            .iter()
            .map(|h| cell(h))
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(table.headers.len())
    );
    for row in &table.rows {
        let _ = writeln!(
            out,
            "| {} |",
            row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
        );
    }
    out
}
