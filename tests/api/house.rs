//! The house's shape, read from `src/`: no top-level module imports
//! another in a circle, no domain imports the wiring, no file grows past
//! what a reader can hold, and no handler does more than extract, call and
//! respond. A new domain that
//! copies the wrong shape fails here, not in review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 600;
const MAX_HANDLER_LINES: usize = 40;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn files() -> Vec<(String, String)> {
    let mut paths = Vec::new();
    rust_files(&src(), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(src())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The top-level module a file belongs to (`tipline` for
/// `tipline/service/mod.rs`), or None for the crate root and the binary.
fn top_module(rel: &str) -> Option<String> {
    let first = rel.split('/').next().unwrap().trim_end_matches(".rs");
    (first != "lib" && first != "main").then(|| first.to_string())
}

/// Every top-level module a file names through `crate::`, comments aside:
/// in paths (`crate::org::family::guardians`) and in `use` groups, however
/// nested and on however many lines (`use crate::{audit::{self, X}, db};`).
fn named_modules(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let Some(group) = rest.strip_prefix('{') else {
            out.insert(ident(rest));
            continue;
        };
        // The group's entries at depth 0, each naming its module first.
        let mut depth = 0;
        let mut start = 0;
        for (j, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    out.insert(ident(&group[start..j]));
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.insert(ident(&group[start..j]));
                    start = j + 1;
                }
                _ => {}
            }
        }
    }
    out.remove("");
    out
}

fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in files() {
        let Some(top) = top_module(&rel) else {
            continue;
        };
        let entry = graph.entry(top.clone()).or_default();
        entry.extend(named_modules(&text).into_iter().filter(|m| *m != top));
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for targets in graph.values_mut() {
        targets.retain(|t| modules.contains(t));
    }
    graph
}

#[test]
fn the_graph_sees_imports_of_every_form() {
    let named = named_modules(
        "use crate::{audit::{self, AuditEvent}, db};\nlet x = crate::org::family::guardians(c);\n// crate::ignored\n",
    );
    let expected: BTreeSet<String> = ["audit", "db", "org"].map(String::from).into();
    assert_eq!(named, expected);
}

/// Every module each module reaches by following imports.
fn reach(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    graph
        .keys()
        .map(|start| {
            let mut seen = BTreeSet::new();
            let mut todo: Vec<&String> = graph[start].iter().collect();
            while let Some(m) = todo.pop() {
                if seen.insert(m.clone()) {
                    todo.extend(graph.get(m).into_iter().flatten());
                }
            }
            (start.clone(), seen)
        })
        .collect()
}

/// The circles of a graph, each as its modules in order, every circle once.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reach = reach(graph);
    let mut out: Vec<Vec<String>> = Vec::new();
    for (m, reached) in &reach {
        if !reached.contains(m) {
            continue;
        }
        let circle: Vec<String> = reach
            .iter()
            .filter(|(o, r)| r.contains(m) && reached.contains(*o))
            .map(|(o, _)| o.clone())
            .collect();
        if !out.contains(&circle) {
            out.push(circle);
        }
    }
    out
}

#[test]
fn the_circle_finder_finds_circles() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("attendance", vec!["leave"]),
        ("leave", vec!["pickup", "org"]),
        ("pickup", vec!["attendance", "org"]),
        ("org", vec![]),
    ]
    .into_iter()
    .map(|(m, to)| (m.to_string(), to.into_iter().map(String::from).collect()))
    .collect();
    let expected = vec![["attendance", "leave", "pickup"].map(String::from).to_vec()];
    assert_eq!(circles(&graph), expected);
}

#[test]
fn no_top_level_module_imports_another_in_a_circle() {
    let graph = import_graph();
    assert!(graph.contains_key("tipline") && graph["leave"].contains("org"));
    let found = circles(&graph);
    assert!(found.is_empty(), "import circles: {found:?}");
}

#[test]
fn no_domain_imports_the_wiring() {
    for (module, targets) in import_graph() {
        if ["app", "server", "workers", "demo"].contains(&module.as_str()) {
            continue;
        }
        for wiring in ["app", "server", "workers"] {
            assert!(!targets.contains(wiring), "{module} imports {wiring}");
        }
    }
}

#[test]
fn every_file_fits_a_reader() {
    let long: Vec<String> = files()
        .into_iter()
        .filter(|(rel, _)| rel != "db/schema.rs")
        .filter_map(|(rel, text)| {
            let n = text.lines().count();
            (n > MAX_FILE_LINES).then(|| format!("{rel}: {n} lines"))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_FILE_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn every_handler_extracts_calls_and_responds() {
    let mut long = Vec::new();
    for (rel, text) in files() {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let is_route = ["#[get(", "#[post(", "#[put(", "#[patch(", "#[delete("]
                .iter()
                .any(|m| line.starts_with(m));
            if !is_route {
                continue;
            }
            let end = lines[i..].iter().position(|l| *l == "}").map(|n| i + n);
            let end = end.expect("a handler ends with `}` at the line start");
            let n = end - i + 1;
            if n > MAX_HANDLER_LINES {
                let name = lines[i + 1..end]
                    .iter()
                    .find_map(|l| l.split("async fn ").nth(1))
                    .and_then(|rest| rest.split('(').next())
                    .unwrap_or("?");
                long.push(format!("{rel}: {name} is {n} lines"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "handlers over {MAX_HANDLER_LINES} lines:\n{}",
        long.join("\n")
    );
}
