//! Every relative link in the checkout's Markdown (README, ARCHITECTURE, `docs/`, the scripts'
//! and reports' READMEs) points at a file that exists, and a link to `file#anchor` at a heading
//! of that file (GitHub's anchors: lower case, spaces to `-`, punctuation dropped).

use secbench_test_support::root;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The Markdown files a reader follows links in.
fn pages() -> Vec<PathBuf> {
    let r = root();
    let mut pages = vec![
        r.join("README.md"),
        r.join("ARCHITECTURE.md"),
        r.join("scripts/README.md"),
        r.join("reports/README.md"),
    ];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(r.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The targets of `[text](target)` and `![alt](target)` outside code fences and code spans.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Code spans hold examples, not links.
        let plain: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = plain.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    out
}

/// GitHub's anchor of a heading.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(page: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(page).expect("page");
    let mut fenced = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

#[test]
fn every_relative_link_in_the_markdown_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("page");
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (file, fragment) = link.split_once('#').unwrap_or((link.as_str(), ""));
            let target = if file.is_empty() {
                page.clone()
            } else {
                page.parent().expect("a folder").join(file)
            };
            if !target.exists() {
                broken.push(format!("{}: {link} (no such file)", page.display()));
            } else if !fragment.is_empty() && !anchors(&target).contains(fragment) {
                broken.push(format!("{}: {link} (no such heading)", page.display()));
            }
        }
    }
    assert!(
        checked > 10,
        "only {checked} links found: is the link reader broken?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_reader_sees_links_and_skips_code() {
    let text = "see [a](docs/a.md) and ![b](b.png)\n`[c](c.md)`\n```\n[d](d.md)\n```\n";
    assert_eq!(links(text), vec!["docs/a.md", "b.png"]);
    assert_eq!(
        anchor(" Rotation: how long (each) "),
        "rotation-how-long-each"
    );
}

#[test]
fn the_readme_fits_on_two_screens() {
    let text = std::fs::read_to_string(root().join("README.md")).expect("README");
    let lines = text.lines().count();
    assert!(
        lines <= 150,
        "README.md has {lines} lines; move reference to docs/"
    );
}
