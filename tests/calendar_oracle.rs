//! The holiday rules of `seibi::calendar::holidays` checked day by day against two published
//! lists (see `tests/data/holidays/README.md`): the Cabinet Office's official list for every year
//! it covers in full, then holiday-jp's list (predictions past the official list) to 2050.
//!
//! Each test walks every day of its range, collects every disagreement (a holiday on one side
//! only, or a different name), and fails with the whole list.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::PathBuf;

use jiff::civil::{Date, date};
use seibi::calendar::holidays::{DAY_OFF_NAME, holiday_name, holidays_in_year};
use sha2::{Digest, Sha256};

type TestResult = Result<(), Box<dyn Error>>;

/// Holidays by date, with the name the list gives them.
type HolidayList = BTreeMap<Date, String>;

fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/holidays")
        .join(name)
}

/// syukujitsu.csv: Shift_JIS, CRLF, a header line, then `YYYY/M/D,名称`.
fn official_list() -> Result<HolidayList, Box<dyn Error>> {
    let bytes = std::fs::read(data_file("syukujitsu.csv"))?;
    let (text, _, had_errors) = encoding_rs::SHIFT_JIS.decode(&bytes);
    if had_errors {
        return Err("syukujitsu.csv is not valid Shift_JIS".into());
    }
    let mut list = HolidayList::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let (day, name) = line
            .split_once(',')
            .ok_or_else(|| format!("syukujitsu.csv:{}: no comma in {line:?}", index + 1))?;
        let mut parts = day.split('/');
        let (Some(year), Some(month), Some(day_of_month), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("syukujitsu.csv:{}: not a Y/M/D date: {day:?}", index + 1).into());
        };
        let day = Date::new(year.parse()?, month.parse()?, day_of_month.parse()?)?;
        if list.insert(day, name.to_owned()).is_some() {
            return Err(format!("syukujitsu.csv:{}: {day} listed twice", index + 1).into());
        }
    }
    Ok(list)
}

/// holidays.yml: `YYYY-MM-DD: 名称` lines after a `---`. Substitute holidays, named
/// `<祝日名> 振替休日` there, get the official list's name `休日`.
fn holiday_jp_list() -> Result<HolidayList, Box<dyn Error>> {
    let text = std::fs::read_to_string(data_file("holidays.yml"))?;
    let mut list = HolidayList::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line == "---" {
            continue;
        }
        let (day, name) = line
            .split_once(": ")
            .ok_or_else(|| format!("holidays.yml:{}: not `date: name`: {line:?}", index + 1))?;
        let day: Date = day.parse()?;
        let name = if name.ends_with(" 振替休日") {
            DAY_OFF_NAME
        } else {
            name
        };
        if list.insert(day, name.to_owned()).is_some() {
            return Err(format!("holidays.yml:{}: {day} listed twice", index + 1).into());
        }
    }
    Ok(list)
}

/// The last year whose holidays the list gives in full: its last year if it reaches that
/// year's 勤労感謝の日 (November 23, the last holiday of every year since 2019; a later 振替休日
/// would need 11/23 on a Sunday, which the list would then show), else the year before.
fn last_full_year(list: &HolidayList) -> Result<i16, Box<dyn Error>> {
    let (last, _) = list.last_key_value().ok_or("empty holiday list")?;
    Ok(if *last >= date(last.year(), 11, 23) {
        last.year()
    } else {
        last.year() - 1
    })
}

/// Every disagreement between `holiday_name` and `oracle` from `first` to `last`.
fn disagreements(oracle_name: &str, oracle: &HolidayList, first: Date, last: Date) -> Vec<String> {
    first
        .series(jiff::ToSpan::days(1))
        .take_while(|day| *day <= last)
        .filter_map(|day| match (holiday_name(day), oracle.get(&day)) {
            (Some(ours), Some(theirs)) if ours != theirs => {
                Some(format!("{day}: named {ours}, {oracle_name} says {theirs}"))
            }
            (Some(ours), None) => Some(format!("{day}: {ours}, not a holiday in {oracle_name}")),
            (None, Some(theirs)) => Some(format!("{day}: missing {theirs} ({oracle_name})")),
            _ => None,
        })
        .collect()
}

fn assert_agrees(oracle_name: &str, oracle: &HolidayList, first: Date, last: Date) {
    let mismatches = disagreements(oracle_name, oracle, first, last);
    assert!(
        mismatches.is_empty(),
        "{} disagreements with {oracle_name} from {first} to {last}:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn data_files_are_as_published() -> TestResult {
    for (name, sha256) in [
        (
            "syukujitsu.csv",
            "cec37a743c96995cdb9cb52b685c9003634682a9b0e1a640a6b9b96881fe964a",
        ),
        (
            "holidays.yml",
            "d74895eee41903384ef2e0cfda211845c0755c71fdcaa69e88bea7d821ada689",
        ),
    ] {
        let digest = Sha256::digest(std::fs::read(data_file(name))?);
        assert_eq!(
            hex::encode(digest),
            sha256,
            "{name} differs from the published file"
        );
    }
    Ok(())
}

#[test]
fn official_list_is_what_we_expect() -> TestResult {
    let official = official_list()?;
    assert_eq!(
        official.first_key_value().map(|(day, _)| *day),
        Some(date(1955, 1, 1))
    );
    assert_eq!(last_full_year(&official)?, 2027);
    assert_eq!(
        official.get(&date(2019, 5, 1)).map(String::as_str),
        Some("休日（祝日扱い）")
    );
    Ok(())
}

#[test]
fn official_list_1986_to_last_full_year() -> TestResult {
    let official = official_list()?;
    let last_year = last_full_year(&official)?;
    assert_agrees(
        "syukujitsu.csv",
        &official,
        date(1986, 1, 1),
        date(last_year, 12, 31),
    );
    Ok(())
}

#[test]
fn official_list_1955_to_1985() -> TestResult {
    let official = official_list()?;
    assert_agrees(
        "syukujitsu.csv",
        &official,
        date(1955, 1, 1),
        date(1985, 12, 31),
    );
    Ok(())
}

#[test]
fn holidays_in_year_lists_the_official_year() -> TestResult {
    let official = official_list()?;
    let mut mismatches = Vec::new();
    for year in 1955..=last_full_year(&official)? {
        let ours: Vec<(Date, &str)> = holidays_in_year(year);
        let theirs: Vec<(Date, &str)> = official
            .range(date(year, 1, 1)..=date(year, 12, 31))
            .map(|(day, name)| (*day, name.as_str()))
            .collect();
        if ours != theirs {
            mismatches.push(format!("{year}:\n  ours   {ours:?}\n  theirs {theirs:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    Ok(())
}

#[test]
fn holiday_jp_after_official_list_to_2050() -> TestResult {
    let official = official_list()?;
    let holiday_jp = holiday_jp_list()?;
    let first_year = last_full_year(&official)? + 1;
    assert_agrees(
        "holidays.yml",
        &holiday_jp,
        date(first_year, 1, 1),
        date(2050, 12, 31),
    );
    Ok(())
}

#[test]
fn holiday_jp_where_both_lists_cover() -> TestResult {
    let official = official_list()?;
    let holiday_jp = holiday_jp_list()?;
    let last_year = last_full_year(&official)?;
    assert_agrees(
        "holidays.yml",
        &holiday_jp,
        date(1970, 1, 1),
        date(last_year, 12, 31),
    );
    Ok(())
}
