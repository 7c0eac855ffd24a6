//! Terminals that do the same steps: a plan for 66 terminals usually has a handful of distinct
//! step lists, so the text plan and the 作業手順書 list each once, with the terminals that share
//! it ([`step_groups`], named compactly by [`terminal_ranges`]), and only what differs between
//! them (the rendered arguments) per terminal.

use std::collections::BTreeMap;

use super::{Plan, PlannedTerminal, PlannedTerminalRef};

/// Terminals with the same steps (the same tasks in the same order), in plan order.
pub struct StepGroup<'a> {
    /// The terminals, in plan order.
    pub terminals: Vec<&'a PlannedTerminal>,
}

/// Groups the plan's terminals by their step list.
pub fn step_groups(plan: &Plan) -> Vec<StepGroup<'_>> {
    group_by_steps(plan.sites.iter().flat_map(|s| s.terminals.iter()), |t| {
        PlannedTerminalRef::from(*t)
    })
    .into_iter()
    .map(|terminals| StepGroup { terminals })
    .collect()
}

/// [`step_groups`] of the terminals as borrowed views (without copying a shared plan's
/// tasks per terminal).
pub fn step_group_views(plan: &Plan) -> Vec<Vec<PlannedTerminalRef<'_>>> {
    group_by_steps(plan.sites.iter().flat_map(|s| s.terminals.views()), |t| *t)
}

fn group_by_steps<'a, T>(
    terminals: impl Iterator<Item = T>,
    view: impl Fn(&T) -> PlannedTerminalRef<'a>,
) -> Vec<Vec<T>> {
    let mut index: BTreeMap<Vec<&str>, usize> = BTreeMap::new();
    let mut groups: Vec<Vec<T>> = Vec::new();
    for terminal in terminals {
        let key: Vec<&str> = view(&terminal)
            .tasks
            .iter()
            .filter(|t| t.skip.is_none())
            .map(|t| t.key.as_str())
            .collect();
        match index.get(&key) {
            Some(&g) => groups[g].push(terminal),
            None => {
                index.insert(key, groups.len());
                groups.push(vec![terminal]);
            }
        }
    }
    groups
}

/// `chuo-t02…t05, kita-t02`: runs of consecutive numbers with the same prefix shortened.
pub fn terminal_ranges(ids: &[&str]) -> String {
    fn split(id: &str) -> (&str, Option<(u64, usize)>) {
        let digits = id.len() - id.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (prefix, number) = id.split_at(id.len() - digits);
        (prefix, number.parse().ok().map(|n| (n, digits)))
    }
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let (prefix, number) = split(ids[i]);
        let mut j = i;
        if let Some((n, _)) = number {
            while j + 1 < ids.len() {
                match split(ids[j + 1]) {
                    (p, Some((m, _))) if p == prefix && m == n + (j + 1 - i) as u64 => j += 1,
                    _ => break,
                }
            }
        }
        if j >= i + 2 {
            // At least three in a row: `chuo-t02…t05` (the last id without the site part).
            let last = ids[j];
            let tail = last.rsplit_once('-').map_or(last, |(_, t)| t);
            parts.push(format!("{}…{tail}", ids[i]));
        } else {
            parts.extend(ids[i..=j].iter().map(|s| s.to_string()));
        }
        i = j + 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_terminals_are_shortened() {
        assert_eq!(
            terminal_ranges(&["chuo-t02", "chuo-t03", "chuo-t04", "chuo-t05", "kita-t02"]),
            "chuo-t02…t05, kita-t02"
        );
        assert_eq!(
            terminal_ranges(&["a-t1", "a-t2", "b-s9"]),
            "a-t1, a-t2, b-s9"
        );
        assert_eq!(terminal_ranges(&["x", "y"]), "x, y");
        assert_eq!(terminal_ranges(&[]), "");
    }
}
