//! The task dependency graph; petgraph stays inside this file.
//!
//! Nodes are tasks (`job/task`), an edge `a -> b` means "b needs a". Order comes from a
//! topological sort that, among tasks that are ready, picks the one with the lowest priority
//! (job order, then position in the job), so the order is deterministic and follows the files
//! wherever `needs:` allows. A cycle is reported as the whole path, first node repeated last.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::{Deserialize, Serialize};

/// A task of a job: `job/task`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskKey {
    /// Job id.
    pub job: String,
    /// Task id within the job.
    pub task: String,
}

impl TaskKey {
    /// Builds a key.
    pub fn new(job: &str, task: &str) -> Self {
        Self {
            job: job.to_string(),
            task: task.to_string(),
        }
    }
}

impl fmt::Display for TaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.job, self.task)
    }
}

/// Ordering preference among ready tasks: lower first.
pub type Priority = (usize, usize);

/// Tasks and what they need.
#[derive(Debug, Default, Clone)]
pub struct TaskGraph {
    graph: DiGraph<(TaskKey, Priority), ()>,
    index: HashMap<TaskKey, NodeIndex>,
}

impl TaskGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a task (once; a second call keeps the first priority).
    pub fn add_task(&mut self, key: TaskKey, priority: Priority) {
        if !self.index.contains_key(&key) {
            let n = self.graph.add_node((key.clone(), priority));
            self.index.insert(key, n);
        }
    }

    /// Whether the task is in the graph.
    pub fn contains(&self, key: &TaskKey) -> bool {
        self.index.contains_key(key)
    }

    /// Records that `task` needs `needed`. Both must have been added; returns false otherwise.
    pub fn add_need(&mut self, task: &TaskKey, needed: &TaskKey) -> bool {
        match (self.index.get(needed), self.index.get(task)) {
            (Some(&from), Some(&to)) => {
                if !self.graph.contains_edge(from, to) {
                    self.graph.add_edge(from, to, ());
                }
                true
            }
            _ => false,
        }
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// Whether there are no tasks.
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// What a task needs directly, in priority order.
    pub fn needs_of(&self, key: &TaskKey) -> Vec<TaskKey> {
        let Some(&n) = self.index.get(key) else {
            return Vec::new();
        };
        let mut needs: Vec<&(TaskKey, Priority)> = self
            .graph
            .edges_directed(n, Direction::Incoming)
            .map(|e| &self.graph[e.source()])
            .collect();
        needs.sort_by_key(|(k, p)| (*p, k.clone()));
        needs.into_iter().map(|(k, _)| k.clone()).collect()
    }

    /// Every task that needs `key`, directly or not (what a failure of `key` skips).
    pub fn dependents(&self, key: &TaskKey) -> BTreeSet<TaskKey> {
        let mut out = BTreeSet::new();
        let Some(&start) = self.index.get(key) else {
            return out;
        };
        let mut stack = vec![start];
        while let Some(n) = stack.pop() {
            for next in self.graph.neighbors_directed(n, Direction::Outgoing) {
                if out.insert(self.graph[next].0.clone()) {
                    stack.push(next);
                }
            }
        }
        out
    }

    /// A cycle, if there is one: the path with its first task repeated at the end.
    pub fn find_cycle(&self) -> Option<Vec<TaskKey>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Active,
            Done,
        }
        let mut marks = vec![Mark::New; self.graph.node_count()];
        let mut nodes: Vec<NodeIndex> = self.graph.node_indices().collect();
        nodes.sort_by_key(|n| self.graph[*n].1);
        for start in nodes {
            if marks[start.index()] != Mark::New {
                continue;
            }
            // Iterative DFS keeping the current path, following "needs" edges backwards so
            // the reported path reads "a needs b needs c needs a".
            let mut path: Vec<NodeIndex> = vec![start];
            let mut iters = vec![
                self.sorted_neighbors(start, Direction::Incoming)
                    .into_iter(),
            ];
            marks[start.index()] = Mark::Active;
            while let Some(iter) = iters.last_mut() {
                match iter.next() {
                    Some(next) => match marks[next.index()] {
                        Mark::Active => {
                            let pos = path.iter().position(|n| *n == next).unwrap_or(0);
                            let mut cycle: Vec<TaskKey> = path[pos..]
                                .iter()
                                .map(|n| self.graph[*n].0.clone())
                                .collect();
                            cycle.push(self.graph[next].0.clone());
                            return Some(cycle);
                        }
                        Mark::New => {
                            marks[next.index()] = Mark::Active;
                            path.push(next);
                            iters
                                .push(self.sorted_neighbors(next, Direction::Incoming).into_iter());
                        }
                        Mark::Done => {}
                    },
                    None => {
                        if let Some(done) = path.pop() {
                            marks[done.index()] = Mark::Done;
                        }
                        iters.pop();
                    }
                }
            }
        }
        None
    }

    fn sorted_neighbors(&self, n: NodeIndex, dir: Direction) -> Vec<NodeIndex> {
        let mut v: Vec<NodeIndex> = self.graph.neighbors_directed(n, dir).collect();
        v.sort_by_key(|m| self.graph[*m].1);
        v
    }

    /// All tasks in an order that respects every need, preferring lower priority among ready
    /// tasks. Fails with the cycle when there is one.
    pub fn order(&self) -> Result<Vec<TaskKey>, Vec<TaskKey>> {
        let mut indegree: Vec<usize> = self
            .graph
            .node_indices()
            .map(|n| {
                self.graph
                    .neighbors_directed(n, Direction::Incoming)
                    .count()
            })
            .collect();
        let mut ready: BTreeSet<(Priority, NodeIndex)> = self
            .graph
            .node_indices()
            .filter(|n| indegree[n.index()] == 0)
            .map(|n| (self.graph[n].1, n))
            .collect();
        let mut out = Vec::with_capacity(self.graph.node_count());
        while let Some(first) = ready.pop_first() {
            let n = first.1;
            out.push(self.graph[n].0.clone());
            for next in self.graph.neighbors_directed(n, Direction::Outgoing) {
                indegree[next.index()] -= 1;
                if indegree[next.index()] == 0 {
                    ready.insert((self.graph[next].1, next));
                }
            }
        }
        if out.len() < self.graph.node_count() {
            return Err(self.find_cycle().unwrap_or_default());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> TaskKey {
        let (j, t) = s.split_once('/').expect("job/task");
        TaskKey::new(j, t)
    }

    fn graph(tasks: &[(&str, Priority)], needs: &[(&str, &str)]) -> TaskGraph {
        let mut g = TaskGraph::new();
        for (t, p) in tasks {
            g.add_task(k(t), *p);
        }
        for (t, n) in needs {
            assert!(g.add_need(&k(t), &k(n)));
        }
        g
    }

    fn names(v: Vec<TaskKey>) -> Vec<String> {
        v.into_iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn order_follows_priority_where_needs_allow() {
        // settings (job 1) would come after the patch (job 0), but its first task is needed by
        // the patch's second task, so it moves up just enough.
        let g = graph(
            &[
                ("patch/upload", (0, 0)),
                ("patch/install", (0, 1)),
                ("settings/ntp", (1, 0)),
                ("settings/syslog", (1, 1)),
            ],
            &[
                ("patch/install", "patch/upload"),
                ("patch/install", "settings/ntp"),
                ("settings/syslog", "settings/ntp"),
            ],
        );
        assert_eq!(
            names(g.order().expect("acyclic")),
            [
                "patch/upload",
                "settings/ntp",
                "patch/install",
                "settings/syslog"
            ]
        );
        assert_eq!(
            names(g.needs_of(&k("patch/install"))),
            ["patch/upload", "settings/ntp"]
        );
        assert_eq!(
            names(g.dependents(&k("settings/ntp")).into_iter().collect()),
            ["patch/install", "settings/syslog"]
        );
    }

    #[test]
    fn cycle_is_reported_as_a_whole_path() {
        let g = graph(
            &[
                ("j/a", (0, 0)),
                ("j/b", (0, 1)),
                ("j/c", (0, 2)),
                ("j/d", (0, 3)),
            ],
            &[
                ("j/a", "j/c"),
                ("j/b", "j/a"),
                ("j/c", "j/b"),
                ("j/d", "j/c"),
            ],
        );
        let cycle = g.order().expect_err("cycle");
        assert_eq!(names(cycle), ["j/a", "j/c", "j/b", "j/a"]);
    }

    #[test]
    fn independent_tasks_keep_file_order() {
        let g = graph(&[("j/z", (0, 0)), ("j/a", (0, 1)), ("k/m", (1, 0))], &[]);
        assert_eq!(names(g.order().expect("ok")), ["j/z", "j/a", "k/m"]);
        assert!(g.find_cycle().is_none());
    }
}
