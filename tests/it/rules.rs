//! Rules of the code base that a reviewer should not have to remember.

use std::path::Path;

use hookbridge_tests::rust_files;

/// Nothing after the answer (review M7): in Lambda the environment freezes once the handler
/// returns, so no request path may hand work to a detached task. Only the local runner's own
/// workers and the SQLite writer thread are spawned.
#[test]
fn no_detached_tasks_in_request_paths() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&root.join("shared/src"), &mut files);
    for f in ["functions/ingress/src", "functions/fanout/src", "functions/dispatch/src", "functions/management/src"] {
        rust_files(&root.join(f), &mut files);
    }
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| !f.to_string_lossy().contains("backend/local"))
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.contains("tokio::spawn") || text.contains("spawn_blocking") || text.contains("task::spawn")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "detached tasks in request paths: {offenders:?}");
}

/// The layers' two forbidden imports (docs/architecture.md): management does not reach
/// into the ingress (both use `accept`), and the domain does not depend on provider
/// verification (it holds the secrets' shapes; `providers` verifies with them).
#[test]
fn layers_do_not_import_what_they_must_not() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src");
    for (layer, forbidden) in
        [("management", ["crate::ingress", "super::ingress"]), ("domain", ["crate::providers", "super::providers"])]
    {
        let mut files = Vec::new();
        rust_files(&root.join(layer), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for f_ in forbidden {
                    // The module itself, not a longer name (`super::ingress_url`).
                    let imports = line
                        .match_indices(f_)
                        .any(|(i, _)| !line[i + f_.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_'));
                    assert!(!imports, "{} imports {f_}: {line}", f.display());
                }
            }
        }
    }
}

/// The README's provider table is the catalog's (`make readme-providers` rewrites it).
#[test]
fn the_readme_lists_the_catalog() {
    use hookbridge::domain::Provider;
    let mut table = String::from(
        "| Provider | URL segment | Verified by | `providerSecret` | Handshake |\n|---|---|---|---|---|\n",
    );
    for p in Provider::all() {
        let d = hookbridge::providers::describe(p);
        let secret = match d.secret_fields.as_slice() {
            [] => "none".to_owned(),
            [one] if one.name == "providerSecret" => one.shape.to_owned(),
            fields => fields.iter().map(|f| format!("`{}`", f.name)).collect::<Vec<_>>().join(", "),
        };
        table.push_str(&format!(
            "| [{}]({}) | `{}` | {} | {} | {} |\n",
            d.name,
            d.docs,
            d.url_segment,
            d.verification,
            secret,
            d.handshake.unwrap_or("-")
        ));
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (begin, end) = ("<!-- providers:begin -->\n", "<!-- providers:end -->");
    let start = readme.find(begin).expect("README has the providers markers") + begin.len();
    let stop = readme.find(end).expect("README has the providers markers");
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(&path, format!("{}{table}{}", &readme[..start], &readme[stop..])).unwrap();
        return;
    }
    assert_eq!(&readme[start..stop], table, "README's provider table is stale: run `make readme-providers`");
}

/// Files stay short enough to read in one sitting: at most about 400 lines before their
/// test module (issue #12). The provider catalog is a data table, read entry by entry.
#[test]
fn no_source_file_runs_past_400_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&root.join("shared/src"), &mut files);
    rust_files(&root.join("functions"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter(|f| !f.components().any(|c| c.as_os_str() == "tests") && !f.ends_with("provider_catalog.rs"))
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let code = text.lines().take_while(|l| !l.starts_with("#[cfg(test)]")).count();
            (code > 410).then(|| format!("{} ({code} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by concern: {long:?}");
}
