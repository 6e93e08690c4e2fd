//! `cargo xtask structure`: the shape rules the tree keeps, checked from the sources alone.
//!
//! - **No import cycles.** At every folder level of every crate, sibling modules (a file
//!   `x.rs` or a folder `x/`, counted as one) never depend on each other in a cycle. A file
//!   depends on a sibling when its code outside `#[cfg(test)]` names `crate::…` or `super::…`
//!   paths that lead into it. A folder's own `mod.rs` naming its children is not a cycle:
//!   that is what a parent is for.
//! - **No long files.** No source file has more than [`MAX_LINES`] lines before its test
//!   module.
//! - **A true map.** `docs/ARCHITECTURE.md`'s module map names every source file, and every
//!   path it names exists.
//!
//! The same checks run as tests of this crate, so `cargo test --workspace` fails when the tree
//! drifts.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The most lines a source file may have before its test module.
pub const MAX_LINES: usize = 600;

/// The crates' source folders, each read as one module tree.
const CRATES: &[&str] = &["src", "wire/src", "proxy/src", "console/src", "xtask/src"];

/// The crates whose files ship, held to [`MAX_LINES`] (the project's own commands in `xtask`
/// are not).
const SHIPPED: &[&str] = &["src", "wire/src", "proxy/src", "console/src"];

/// The file whose module map must stay true.
const MAP: &str = "docs/ARCHITECTURE.md";

/// Cycles the tree still has, each to be broken rather than added to (none today). A new
/// cycle, or one of these grown, fails the check.
const KNOWN_CYCLES: &[&str] = &[];

/// Every finding, one line each; empty when the tree keeps its rules.
pub fn check(root: &Path) -> Vec<String> {
    let mut findings: Vec<String> = cycles(root)
        .into_iter()
        .filter(|c| !KNOWN_CYCLES.contains(&c.as_str()))
        .collect();
    findings.extend(long_files(root));
    findings.extend(map(root));
    findings
}

pub fn run(root: &Path) -> Result<(), String> {
    for known in KNOWN_CYCLES {
        println!("known, still to break: {known}");
    }
    let findings = check(root);
    for f in &findings {
        println!("{f}");
    }
    if findings.is_empty() {
        println!(
            "structure: no import cycles, no file over {MAX_LINES} lines before its tests, \
             the module map names every source file"
        );
        Ok(())
    } else {
        Err(format!("{} structure finding(s)", findings.len()))
    }
}

/// One source file of a crate: where it is and which module it is.
struct Source {
    module: Vec<String>,
    text: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources(root: &Path, krate: &str) -> Vec<Source> {
    let base = root.join(krate);
    let mut files = Vec::new();
    rust_files(&base, &mut files);
    files
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(&base).ok()?.to_path_buf();
            // Binaries are crates of their own: they reach the library by its name.
            if rel.starts_with("bin") || rel == Path::new("main.rs") && base.join("lib.rs").exists()
            {
                return None;
            }
            let mut module: Vec<String> = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            // A folder's own file (`mod.rs`, `lib.rs`) is the folder's module.
            if module
                .last()
                .is_some_and(|l| matches!(l.as_str(), "mod" | "lib" | "main"))
            {
                module.pop();
            }
            let text = fs::read_to_string(&path).ok()?;
            Some(Source { module, text })
        })
        .collect()
}

/// The file's text before its test module, without comments.
fn production_text(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = test_module_start(&lines);
    lines[..end]
        .iter()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The index of the `#[cfg(test)]` line that opens the file's test module, or its length.
fn test_module_start(lines: &[&str]) -> usize {
    for (i, line) in lines.iter().enumerate() {
        if line.trim_end() != "#[cfg(test)]" {
            continue;
        }
        let next = lines[i + 1..]
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.starts_with("#[") && !l.is_empty());
        if next.is_some_and(|l| l.starts_with("mod ") || l.starts_with("pub mod ")) {
            return i;
        }
    }
    lines.len()
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Paths named by a use tree or an expression path starting at `s` (just after `crate::` or
/// `super::`), each as its segments. `{a::b, c}` gives two paths.
fn paths_at(s: &str) -> Vec<Vec<String>> {
    fn tree(s: &str, i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let b = s.as_bytes();
        let mut path = prefix.to_vec();
        loop {
            while *i < b.len() && (b[*i] as char).is_whitespace() {
                *i += 1;
            }
            if *i < b.len() && b[*i] == b'{' {
                *i += 1;
                loop {
                    tree(s, i, &path, out);
                    while *i < b.len() && (b[*i] as char).is_whitespace() {
                        *i += 1;
                    }
                    if *i < b.len() && b[*i] == b',' {
                        *i += 1;
                        continue;
                    }
                    if *i < b.len() && b[*i] == b'}' {
                        *i += 1;
                    }
                    return;
                }
            }
            let start = *i;
            while *i < b.len() && is_ident(b[*i] as char) {
                *i += 1;
            }
            if start == *i {
                // `*` or the end of a group: the path so far.
                if *i < b.len() && b[*i] == b'*' {
                    *i += 1;
                }
                if !path.is_empty() {
                    out.push(path);
                }
                return;
            }
            path.push(s[start..*i].to_string());
            if s[*i..].starts_with("::") {
                *i += 2;
                continue;
            }
            out.push(path);
            return;
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    tree(s, &mut i, &[], &mut out);
    out
}

/// The absolute module paths (as far as they go) that `source`'s production code names.
fn references(source: &Source) -> Vec<Vec<String>> {
    let text = production_text(&source.text);
    let mut found = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let preceded_by_ident = i > 0 && (is_ident(b[i - 1] as char) || b[i - 1] == b':');
        if !preceded_by_ident && b[i..].starts_with(b"crate::") {
            for p in paths_at(&text[i + 7..]) {
                found.push(p);
            }
            i += 7;
        } else if !preceded_by_ident && b[i..].starts_with(b"super::") {
            let mut base = source.module.clone();
            let mut j = i;
            while b[j..].starts_with(b"super::") {
                base.pop();
                j += 7;
            }
            for p in paths_at(&text[j..]) {
                let mut abs = base.clone();
                abs.extend(p);
                found.push(abs);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    found
}

/// Every cycle among sibling modules, one line per cycle.
fn cycles(root: &Path) -> Vec<String> {
    let mut findings = Vec::new();
    for krate in CRATES {
        let sources = sources(root, krate);
        let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
        // level (a folder module) -> sibling -> siblings it depends on
        let mut graph: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for source in &sources {
            for target in references(source) {
                let common = source
                    .module
                    .iter()
                    .zip(&target)
                    .take_while(|(a, b)| a == b)
                    .count();
                if common >= source.module.len() || common >= target.len() {
                    continue; // its own module or its children
                }
                let level = source.module[..common].to_vec();
                let mut sibling = level.clone();
                sibling.push(target[common].clone());
                if !modules.contains(&sibling) {
                    continue; // an item of the parent's own file
                }
                graph
                    .entry(level)
                    .or_default()
                    .entry(source.module[common].clone())
                    .or_default()
                    .insert(target[common].clone());
            }
        }
        for (level, edges) in &graph {
            for scc in strongly_connected(edges) {
                let folder = if level.is_empty() {
                    (*krate).to_string()
                } else {
                    format!("{krate}/{}", level.join("/"))
                };
                findings.push(format!(
                    "cycle in {folder}/: {}",
                    scc.into_iter().collect::<Vec<_>>().join(" <-> ")
                ));
            }
        }
    }
    findings
}

/// The strongly connected components of more than one node (Tarjan's algorithm).
fn strongly_connected(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(st: &mut State<'a>, v: &'a str) {
        st.index.insert(v, st.next);
        st.low.insert(v, st.next);
        st.next += 1;
        st.stack.push(v);
        st.on_stack.insert(v);
        if let Some(targets) = st.edges.get(v) {
            for w in targets {
                let w = w.as_str();
                if !st.index.contains_key(w) {
                    visit(st, w);
                    let low = st.low[v].min(st.low[w]);
                    st.low.insert(v, low);
                } else if st.on_stack.contains(w) {
                    let low = st.low[v].min(st.index[w]);
                    st.low.insert(v, low);
                }
            }
        }
        if st.low[v] == st.index[v] {
            let mut scc = BTreeSet::new();
            while let Some(w) = st.stack.pop() {
                st.on_stack.remove(w);
                scc.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                st.out.push(scc);
            }
        }
    }
    let mut st = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !st.index.contains_key(v.as_str()) {
            visit(&mut st, v);
        }
    }
    st.out
}

fn long_files(root: &Path) -> Vec<String> {
    let mut findings = Vec::new();
    for krate in SHIPPED {
        let mut files = Vec::new();
        rust_files(&root.join(krate), &mut files);
        for path in files {
            let Ok(text) = fs::read_to_string(&path) else {
                continue;
            };
            let lines: Vec<&str> = text.lines().collect();
            let n = test_module_start(&lines);
            if n > MAX_LINES {
                findings.push(format!(
                    "long file: {} has {n} lines before its tests (at most {MAX_LINES})",
                    relative(root, &path)
                ));
            }
        }
    }
    findings
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// The paths the module map's tables name in their first column.
fn map_paths(text: &str) -> Vec<String> {
    let Some(start) = text.find("## Module map") else {
        return Vec::new();
    };
    let section = &text[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let mut paths = Vec::new();
    for line in section[..end].lines() {
        let Some(cell) = line.strip_prefix('|').and_then(|l| l.split('|').next()) else {
            continue;
        };
        let mut rest = cell;
        while let Some(open) = rest.find('`') {
            let Some(close) = rest[open + 1..].find('`') else {
                break;
            };
            paths.push(rest[open + 1..open + 1 + close].to_string());
            rest = &rest[open + close + 2..];
        }
    }
    paths
}

fn map(root: &Path) -> Vec<String> {
    let Ok(text) = fs::read_to_string(root.join(MAP)) else {
        return vec![format!("map: {MAP} is missing")];
    };
    let named = map_paths(&text);
    let mut findings = Vec::new();
    if named.is_empty() {
        findings.push(format!("map: {MAP} has no module map"));
    }
    for path in &named {
        if !exists(root, path) {
            findings.push(format!("map: {MAP} names {path}, which does not exist"));
        }
    }
    let exact: BTreeSet<&str> = named.iter().map(String::as_str).collect();
    for krate in CRATES {
        let mut files = Vec::new();
        rust_files(&root.join(krate), &mut files);
        for path in files {
            let rel = relative(root, &path);
            if !exact.contains(rel.as_str()) {
                findings.push(format!("map: {MAP} does not name {rel}"));
            }
        }
    }
    for dir in ["tests", "proxy/tests", "e2e/tests"] {
        let mut files = Vec::new();
        collect_all(&root.join(dir), &mut files);
        for path in files {
            let rel = relative(root, &path);
            let covered = named
                .iter()
                .any(|n| n == &rel || (n.ends_with('/') && rel.starts_with(n.as_str())));
            if !covered {
                findings.push(format!("map: {MAP} does not name {rel} or its folder"));
            }
        }
    }
    findings
}

/// Whether `path` exists; a `*` in its last part matches any run of characters.
fn exists(root: &Path, path: &str) -> bool {
    let Some((dir, pattern)) = path.rsplit_once('/').filter(|(_, last)| last.contains('*')) else {
        return root.join(path).exists();
    };
    let (head, tail) = pattern.split_once('*').unwrap_or((pattern, ""));
    fs::read_dir(root.join(dir)).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.len() >= head.len() + tail.len() && name.starts_with(head) && name.ends_with(tail)
        })
    })
}

fn collect_all(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let path = e.path();
        if path.file_name().is_some_and(|n| n == "node_modules") {
            continue;
        }
        if path.is_dir() {
            collect_all(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask lives inside the workspace")
            .to_path_buf()
    }

    #[test]
    fn the_tree_has_no_import_cycle_but_the_known_ones() {
        let found = cycles(&root());
        let new: Vec<_> = found
            .iter()
            .filter(|c| !KNOWN_CYCLES.contains(&c.as_str()))
            .collect();
        assert!(new.is_empty(), "new import cycles: {new:#?}");
    }

    #[test]
    fn no_shipped_file_is_over_the_limit() {
        let long = long_files(&root());
        assert!(long.is_empty(), "{long:#?}");
    }

    #[test]
    fn the_module_map_names_every_source_file_and_only_those() {
        let gaps = map(&root());
        assert!(gaps.is_empty(), "{gaps:#?}");
    }

    fn module(path: &[&str], text: &str) -> Source {
        Source {
            module: path.iter().map(|s| (*s).to_string()).collect(),
            text: text.to_string(),
        }
    }

    #[test]
    fn use_trees_and_expression_paths_are_read() {
        let s = module(
            &["pipeline", "steps"],
            "use crate::{store::{Store, rows::Record}, clock};\n\
             use super::lease::Lease;\n\
             fn f() { crate::metrics::track(); super::super::error::Error::x(); }\n\
             // crate::comment::ignored\n\
             #[cfg(test)]\nmod tests { use crate::tested::Only; }\n",
        );
        let got = references(&s);
        let want: Vec<Vec<String>> = [
            &["store", "Store"][..],
            &["store", "rows", "Record"],
            &["clock"],
            &["pipeline", "lease", "Lease"],
            &["metrics", "track"],
            &["error", "Error", "x"],
        ]
        .iter()
        .map(|p| p.iter().map(|s| (*s).to_string()).collect())
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_cycle_is_found_and_a_chain_is_not() {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        edges.entry("a".into()).or_default().insert("b".into());
        edges.entry("b".into()).or_default().insert("c".into());
        assert!(strongly_connected(&edges).is_empty());
        edges.entry("c".into()).or_default().insert("a".into());
        let sccs = strongly_connected(&edges);
        assert_eq!(sccs.len(), 1);
        assert_eq!(sccs[0].len(), 3);
    }

    #[test]
    fn the_test_module_is_not_counted() {
        let lines = [
            "fn a() {}",
            "#[cfg(test)]",
            "#[allow(x)]",
            "mod tests {",
            "}",
        ];
        assert_eq!(test_module_start(&lines), 1);
        let lines = ["#[cfg(test)]", "use x;", "fn a() {}"];
        assert_eq!(test_module_start(&lines), 3);
    }

    #[test]
    fn the_map_reads_every_path_of_a_first_cell() {
        let text = "## Module map\n| path | what |\n|---|---|\n\
                    | `a.rs`, `b/` | x `not.rs` |\n## Next\n| `c.rs` | y |\n";
        assert_eq!(map_paths(text), ["a.rs", "b/"]);
    }
}
