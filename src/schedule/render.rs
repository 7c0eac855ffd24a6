//! Printing a [`Schedule`] for people: a plain-text timetable and a markdown one (site,
//! business day, start, end, terminals), each followed by the deadline check and, when
//! something misses, what would make it fit.

use std::fmt::Write as _;

use jiff::Zoned;
use jiff::civil::Date;

use super::place::{DeadlineStatus, Schedule, SiteSchedule};
use super::{Canary, ScheduleError};

fn hm(z: &Zoned) -> String {
    z.strftime("%H:%M").to_string()
}

fn day(d: Date) -> String {
    d.strftime("%Y-%m-%d %a").to_string()
}

fn when(z: &Zoned) -> String {
    z.strftime("%Y-%m-%d %H:%M").to_string()
}

/// `16h30m`, `45m`, `3h`.
fn office_time(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m:02}m"),
    }
}

fn header(schedule: &Schedule) -> String {
    let mut out = format!(
        "Times in {}. Each site must finish within {} business days (day 1 = its start day).",
        schedule.time_zone, schedule.deadline_business_days
    );
    if let Some(limit) = schedule.global_limit {
        let _ = write!(out, " Global limit: {limit} terminals at a time.");
    }
    match &schedule.canary {
        Some(Canary::Site(site)) => {
            let _ = write!(out, " Canary: site {site} first.");
        }
        Some(Canary::Terminals(n)) => {
            let _ = write!(out, " Canary: the first {n} terminals first.");
        }
        None => {}
    }
    out
}

fn verdict(site: &SiteSchedule, limit: u32) -> String {
    match site.status {
        DeadlineStatus::Met { business_day } => {
            format!("ok: business day {business_day} of {limit}")
        }
        DeadlineStatus::Missed {
            business_days_late,
            office_minutes_late,
        } => format!(
            "MISSED: {business_days_late} business day(s) late ({} of office time after the \
             deadline {})",
            office_time(office_minutes_late),
            when(&site.deadline)
        ),
    }
}

/// The timetable as aligned plain text.
pub fn render_text(schedule: &Schedule) -> String {
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
                day(d.date),
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
    let mut out = header(schedule);
    out.push_str("\n\n");
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 1 || i == 5 {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
            line.push_str("  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("\nFinish by site\n");
    let name_width = schedule
        .sites
        .iter()
        .map(|s| s.site.chars().count())
        .max()
        .unwrap_or(0);
    for site in &schedule.sites {
        let _ = write!(
            out,
            "  {:name_width$}  started {}  finished {}  ",
            site.site,
            site.start_day,
            when(&site.finish)
        );
        if let Some(t) = &site.transfer {
            let _ = write!(
                out,
                "(artifacts {} bytes sent {}-{}) ",
                t.bytes,
                hm(&t.start),
                hm(&t.end)
            );
        }
        out.push_str(&verdict(site, schedule.deadline_business_days));
        out.push('\n');
    }
    out.push_str(&verdict_lines(schedule, &TEXT));
    out
}

/// How the closing lines look in one output format.
struct Style {
    bold: (&'static str, &'static str),
    hint: &'static str,
    note: &'static str,
}

const TEXT: Style = Style {
    bold: ("", ""),
    hint: "  hint: ",
    note: "  note: ",
};

const MARKDOWN: Style = Style {
    bold: ("**", "**"),
    hint: "- ",
    note: "- note: ",
};

fn verdict_lines(schedule: &Schedule, style: &Style) -> String {
    let f = &schedule.feasibility;
    let (b, e) = style.bold;
    let mut out = String::new();
    if f.feasible {
        let _ = writeln!(
            out,
            "\n{b}Feasible{e}: every site finishes within {} business days and every job by its \
             deadline.",
            schedule.deadline_business_days
        );
    } else {
        let _ = writeln!(
            out,
            "\n{b}Not feasible{e}: {} site wave(s) past {} business days, {} job(s) past their \
             deadline.\n",
            f.misses.len(),
            schedule.deadline_business_days,
            f.job_deadline_misses.len()
        );
        for miss in &f.job_deadline_misses {
            let _ = writeln!(
                out,
                "{}job {} at {} finishes {}, after its deadline {}",
                style.hint,
                miss.job,
                miss.site,
                when(&miss.finish),
                miss.deadline
            );
        }
        for s in &f.suggestions {
            let _ = writeln!(out, "{}{s}", style.hint);
        }
    }
    for note in &schedule.notes {
        let _ = writeln!(out, "{}{note}", style.note);
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The timetable as markdown tables.
pub fn render_markdown(schedule: &Schedule) -> String {
    let mut out = String::from("## Schedule\n\n");
    out.push_str(&header(schedule));
    out.push_str("\n\n| Site | Business day | Start | End | Terminals |\n");
    out.push_str("|---|---|---|---|---:|\n");
    for site in &schedule.sites {
        for d in &site.days {
            let _ = writeln!(
                out,
                "| {} ({}) | {} ({}) | {} | {} | {} |",
                cell(&site.site),
                cell(&site.name),
                d.business_day,
                day(d.date),
                hm(&d.start),
                hm(&d.end),
                d.terminals
            );
        }
    }
    out.push_str("\n### Deadline check\n\n");
    out.push_str("| Site | Start day | Deadline | Finish | Result |\n|---|---|---|---|---|\n");
    for site in &schedule.sites {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(&site.site),
            site.start_day,
            when(&site.deadline),
            when(&site.finish),
            cell(&verdict(site, schedule.deadline_business_days))
        );
    }
    out.push_str(&verdict_lines(schedule, &MARKDOWN));
    out
}

impl Schedule {
    /// The schedule as pretty JSON.
    pub fn to_json(&self) -> Result<String, ScheduleError> {
        serde_json::to_string_pretty(self).map_err(ScheduleError::Json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn office_time_reads_as_hours_and_minutes() {
        assert_eq!(office_time(45), "45m");
        assert_eq!(office_time(180), "3h");
        assert_eq!(office_time(990), "16h30m");
        assert_eq!(office_time(65), "1h05m");
    }
}
