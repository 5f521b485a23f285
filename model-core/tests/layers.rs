//! model-core's layers point one way: each module uses only the layers below it, and no
//! files import each other in a circle of more than two. Read from the sources, so that an
//! import added upward fails here, not in review.
//!
//! The layers, bottom to top: `base` (the vocabulary), `db` (the database), `listen` (the
//! listeners), `write` (the writes), `query` (the queries), then the crate root (`Model`,
//! `schema`, `__private`, the guide).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const LAYERS: [&str; 5] = ["base", "db", "listen", "write", "query"];

/// The layer of a module path (`write::row`), as its rank: 0 for `base`, 5 for the root.
fn rank(module: &str) -> usize {
    let first = module.split("::").next().unwrap_or("");
    LAYERS
        .iter()
        .position(|layer| *layer == first)
        .unwrap_or(LAYERS.len())
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `base/types/mod.rs` as `base::types`, `write/row.rs` as `write::row`.
fn module_of(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// Every `crate::a::b` a file names outside comments and its unit tests, resolved to the
/// longest known module.
fn imports(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code = text
        .split("\n#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or(text);
    let mut found = BTreeSet::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = &rest[..at];
            let path: String = rest[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            rest = &rest[at + "crate::".len()..];
            if before.ends_with('$') {
                continue;
            }
            let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            for n in (1..=segments.len()).rev() {
                let candidate = segments[..n].join("::");
                if modules.contains(&candidate) {
                    found.insert(candidate);
                    break;
                }
            }
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&root, f)).collect();
    files
        .iter()
        .map(|file| {
            let module = module_of(&root, file);
            let mut uses = imports(&fs::read_to_string(file).unwrap(), &modules);
            uses.remove(&module);
            (module, uses)
        })
        .collect()
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let mut upward = Vec::new();
    for (module, uses) in graph() {
        for used in uses {
            if rank(&used) > rank(&module) {
                upward.push(format!("{module} -> {used}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports from a lower layer up: {upward:#?}"
    );
}

#[test]
fn no_circle_of_more_than_two_files() {
    let graph = graph();
    // Strongly connected components (Tarjan): a circle of files is inside one.
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        components: Vec<Vec<&'g str>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.stack.contains(&w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                component.push(w);
                if w == v {
                    break;
                }
            }
            s.components.push(component);
        }
    }
    let mut state = State {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        components: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    let circles: Vec<_> = state
        .components
        .into_iter()
        .filter(|c| c.len() > 2)
        .collect();
    assert!(
        circles.is_empty(),
        "files importing each other in a circle: {circles:?}"
    );
}

#[test]
fn each_layer_says_what_it_is_for() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for (rank, layer) in LAYERS.iter().enumerate() {
        let text = fs::read_to_string(root.join(layer).join("mod.rs")).unwrap();
        let opening = format!("//! Layer {}", rank + 1);
        assert!(
            text.starts_with(&opening),
            "{layer}/mod.rs opens with `{opening}, ...`"
        );
    }
}
