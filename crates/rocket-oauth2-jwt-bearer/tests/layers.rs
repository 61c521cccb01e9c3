//! The crate's layers, kept: each module imports only modules of its own
//! layer or of the layers below, and no modules import each other in a
//! cycle. The folder a module is in is its layer:
//!
//! | layer | folder | what |
//! |---|---|---|
//! | 0 | `words` | refusals and their answers, algorithms, bindings, URL and header grammar |
//! | 1 | `settings` | `Config` as written, checked into `Settings` |
//! | 2 | `keys` | JWK parsing and checks, key sets and their store, fetching, loading errors |
//! | 3 | `verification` | claims, the token cache, issuers and their loading, the verifier |
//! | 4 | `possession` | DPoP and certificate binding: they use verified claims |
//! | 5 | `request` | Rocket's request side: credentials, guards, answers, catchers, metadata, status |
//! | 6 | `beside` | the development issuer and the test issuer, behind their features |
//! | 7 | `lifecycle` | launch and refresh, the fairings |
//!
//! Paths are read from the sources: `crate::layer::module` (and `super::`
//! inside a folder). A module names what it uses by its module path, never
//! through the crate root's re-exports (`crate::Config`), so that every
//! dependency is visible here.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const LAYERS: [&str; 8] =
    ["words", "settings", "keys", "verification", "possession", "request", "beside", "lifecycle"];

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The module path of a source file: `words/error.rs` is `words::error`,
/// `possession/dpop/mod.rs` is `possession::dpop`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> =
        relative.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The code of `text` without comments (line comments and doc comments:
/// doc examples name paths through the crate's public name).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands the path starting at `rest` (just after `crate::` or `super::`)
/// into full paths, following one `{...}` group at a time.
fn expand(prefix: &[String], rest: &str, out: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    let mut segment = String::new();
    for (at, c) in rest.char_indices() {
        match c {
            c if c.is_alphanumeric() || c == '_' => segment.push(c),
            ':' => {
                if !segment.is_empty() {
                    path.push(std::mem::take(&mut segment));
                }
            }
            '{' => {
                let inner = &rest[at + 1..];
                let mut depth = 0;
                let mut start = 0;
                for (i, c) in inner.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            expand(&path, &inner[start..i], out);
                            return;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            expand(&path, &inner[start..i], out);
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
                return;
            }
            c if c.is_whitespace() && segment.is_empty() => {}
            _ => break,
        }
    }
    if !segment.is_empty() {
        path.push(segment);
    }
    out.push(path);
}

/// The longest prefix of `path` that is a module of the crate.
fn resolve(modules: &BTreeSet<Vec<String>>, path: &[String]) -> Option<Vec<String>> {
    (1..=path.len()).rev().map(|n| path[..n].to_vec()).find(|prefix| modules.contains(prefix))
}

#[test]
fn each_module_imports_only_its_own_layer_and_those_below_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();

    let mut problems = Vec::new();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        if module == ["lib"] {
            continue; // Only declarations and re-exports.
        }
        let Some(layer) = LAYERS.iter().position(|l| *l == module[0]) else {
            problems.push(format!("{}: not in a layer's folder", module.join("::")));
            continue;
        };
        let text = code(&fs::read_to_string(file).expect("a readable source"));
        let mut paths = Vec::new();
        for (at, _) in text.match_indices("crate::") {
            if text[..at].ends_with('$') {
                continue; // `$crate::` in a macro: the caller's view.
            }
            let rest = &text[at + "crate::".len()..];
            if rest.starts_with(|c: char| c.is_ascii_uppercase() || c == '{')
                && !rest.starts_with("{self")
            {
                let shown: String = rest.chars().take(30).collect();
                problems.push(format!(
                    "{}: names `crate::{shown}` through the crate root",
                    module.join("::")
                ));
                continue;
            }
            expand(&[], rest, &mut paths);
        }
        // `super::` is the module's parent (a `mod.rs` is its folder's module).
        let parent = module[..module.len() - 1].to_vec();
        for (at, _) in text.match_indices("super::") {
            if text[..at].ends_with("::") {
                continue;
            }
            expand(&parent, &text[at + "super::".len()..], &mut paths);
        }
        for path in paths {
            let Some(target) = resolve(&modules, &path) else { continue };
            if target == module || module.starts_with(&target) {
                continue; // Itself, or the folder it is in.
            }
            let target_layer = LAYERS.iter().position(|l| *l == target[0]).unwrap_or(0);
            if target_layer > layer {
                problems.push(format!(
                    "{} (layer {}) imports {} (layer {}, above it)",
                    module.join("::"),
                    LAYERS[layer],
                    target.join("::"),
                    LAYERS[target_layer]
                ));
            }
            edges.entry(module.clone()).or_default().insert(target);
        }
    }

    // No cycles: a depth-first search for a back edge.
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
        problems: &mut Vec<String>,
    ) {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                0 => visit(next, edges, state, stack, problems),
                1 => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let cycle: Vec<String> = stack[from..].iter().map(|m| m.join("::")).collect();
                    problems.push(format!("cycle: {} -> {}", cycle.join(" -> "), next.join("::")));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node) {
            visit(node, &edges, &mut state, &mut Vec::new(), &mut problems);
        }
    }

    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{} layering problems:\n{}", problems.len(), problems.join("\n"));
}
