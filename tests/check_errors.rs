//! Bad input, case by case: each folder under `tests/fixtures/bad/` overlays a few files on the
//! valid project in `tests/fixtures/base/`; `seibi check` must fail with exit status 1 and the
//! exact report in the snapshot (file:line:col, the line with a caret, hints). Never a panic.

mod common;

use common::{overlay_project, run_seibi};

#[test]
fn base_project_is_clean() {
    let dir = overlay_project(None);
    let out = run_seibi(dir.path(), &["check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "ok: 2 sites, 4 terminals, 1 groups, 2 jobs, 5 tasks\n"
    );
}

#[test]
fn every_bad_case_is_reported_with_its_place() {
    let cases = common::fixture_dir("bad");
    let mut names: Vec<String> = std::fs::read_dir(&cases)
        .expect("bad cases")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.len() >= 20,
        "at least 20 bad-input cases, found {}",
        names.len()
    );
    for name in names {
        let dir = overlay_project(Some(&cases.join(&name)));
        let out = run_seibi(dir.path(), &["check"]);
        assert_eq!(out.code, 1, "case {name}: exit status\n{}", out.stderr);
        assert!(
            !out.stderr.contains("panicked"),
            "case {name} panicked:\n{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(" --> "),
            "case {name}: every report names a file and line\n{}",
            out.stderr
        );
        insta::assert_snapshot!(name, out.stderr);
    }
}

#[test]
fn symlink_loops_and_dangling_links_in_the_inventory_are_errors() {
    let dir = overlay_project(None);
    let inventory = dir.path().join("inventory");
    std::os::unix::fs::symlink("loop.yml", inventory.join("loop.yml")).expect("loop");
    std::os::unix::fs::symlink("gone.yml", inventory.join("dangling.yml")).expect("dangling");
    let out = run_seibi(dir.path(), &["check"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr);
}
