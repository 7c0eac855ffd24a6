//! The exhaustive search for small cases: every assignment of tasks to crews and every order
//! of each crew's tasks, pruned at the first task past its deadline and with interchangeable
//! idle crews tried once. It returns the first assignment that meets every deadline.

use std::collections::HashMap;

use super::days::DayTable;
use super::{Crew, CrewError, CrewState, Done, Problem};

/// The depth-first search of [`Problem::exact`].
pub(super) struct Exact {
    pub(super) states: Vec<CrewState>,
    pub(super) used: Vec<bool>,
    pub(super) owner: HashMap<usize, usize>,
    pub(super) left: Vec<usize>,
    pub(super) done: Vec<Done>,
}

impl Exact {
    pub(super) fn run(
        &mut self,
        problem: &Problem<'_>,
        crews: &[Crew],
        table: &mut DayTable<'_>,
    ) -> Result<bool, CrewError> {
        if self.left.is_empty() {
            return Ok(true);
        }
        for i in 0..self.left.len() {
            let t = self.left[i];
            let site = problem.tasks[t].site;
            for c in 0..crews.len() {
                if let Some(&owner) = self.owner.get(&site)
                    && owner != c
                {
                    continue;
                }
                // Crews with nothing yet and the same availability are interchangeable.
                if !self.used[c]
                    && (0..c)
                        .any(|e| !self.used[e] && crews[e].availability == crews[c].availability)
                {
                    continue;
                }
                let capacity = problem.sites[site].capacity;
                let Ok(d) = problem.stint(t, &crews[c], c, self.states[c], capacity, table) else {
                    continue;
                };
                if d.finish > problem.tasks[t].deadline {
                    continue;
                }
                let saved = (self.states[c], self.used[c]);
                let owned = self.owner.insert(site, c);
                self.states[c] = problem.after(self.states[c], &d);
                self.used[c] = true;
                self.left.swap_remove(i);
                self.done.push(d);
                if self.run(problem, crews, table)? {
                    return Ok(true);
                }
                self.done.pop();
                self.left.push(t);
                let last = self.left.len() - 1;
                self.left.swap(i, last);
                (self.states[c], self.used[c]) = saved;
                match owned {
                    Some(o) => self.owner.insert(site, o),
                    None => self.owner.remove(&site),
                };
            }
        }
        Ok(false)
    }
}
