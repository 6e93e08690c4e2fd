//! The typed widget package: `package/` (package.json, the ESM entry, the TypeScript
//! declarations) plus the release bundle from `dist/`, packed with `npm pack`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::tools::{run, Tools};

/// The package's own files, copied as they are.
const OWN_FILES: [&str; 4] = ["package.json", "index.js", "index.d.ts", "README.md"];

/// Stages `package/` and the built bundle in `target/package/` and packs it there;
/// returns the tarball's path. Needs a release bundle in `dist/`.
pub fn pack(root: &Path, tools: &Tools) -> Result<PathBuf, String> {
    let stage = root.join("target/package");
    if stage.exists() {
        fs::remove_dir_all(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    }
    fs::create_dir_all(stage.join("i18n")).map_err(|e| format!("{}: {e}", stage.display()))?;
    for name in OWN_FILES {
        copy(&root.join("package").join(name), &stage.join(name))?;
    }
    let dist = root.join("dist");
    let mut bundle = 0;
    for entry in fs::read_dir(&dist).map_err(|e| format!("{}: {e}", dist.display()))? {
        let path = entry
            .map_err(|e| format!("{}: {e}", dist.display()))?
            .path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if is_bundle_file(name) {
            copy(&path, &stage.join(name))?;
            bundle += 1;
        }
    }
    // embed.js, the script, the wasm and the stylesheet: without them the package is empty.
    if bundle < 4 {
        return Err(format!(
            "{} holds no complete bundle: build it first",
            dist.display()
        ));
    }
    let languages = dist.join("i18n");
    for entry in fs::read_dir(&languages).map_err(|e| format!("{}: {e}", languages.display()))? {
        let path = entry
            .map_err(|e| format!("{}: {e}", languages.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "json") {
            copy(
                &path,
                &stage
                    .join("i18n")
                    .join(path.file_name().unwrap_or_default()),
            )?;
        }
    }
    let before: Vec<PathBuf> = tarballs(&stage)?;
    run(tools
        .command("npm")
        .args(["pack", "--silent", "--pack-destination", "."])
        .current_dir(&stage))?;
    let tarball = tarballs(&stage)?
        .into_iter()
        .find(|t| !before.contains(t))
        .ok_or("npm pack wrote no tarball")?;
    let out = root
        .join("target")
        .join(tarball.file_name().unwrap_or_default());
    fs::rename(&tarball, &out).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("xtask: widget package: {}", out.display());
    Ok(out)
}

/// `tsc --noEmit --strict` on the typed usage sample (`package/typecheck/`): the
/// declarations accept a partner's ordinary use and refuse the mistakes it marks.
pub fn typecheck(root: &Path, tools: &Tools) -> Result<(), String> {
    run(tools
        .command("tsc")
        .args([
            "--noEmit",
            "--strict",
            "-p",
            "package/typecheck/tsconfig.json",
        ])
        .current_dir(root))?;
    println!("xtask: package/typecheck/usage.ts compiles with tsc --noEmit --strict");
    Ok(())
}

/// The release bundle's own files (not their precompressed copies, not the standalone
/// page's HTML).
fn is_bundle_file(name: &str) -> bool {
    name == "embed.js"
        || (name.starts_with("wa-signup-") && (name.ends_with(".js") || name.ends_with("_bg.wasm")))
        || (name.starts_with("widget-") && name.ends_with(".css"))
}

fn tarballs(dir: &Path) -> Result<Vec<PathBuf>, String> {
    Ok(fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "tgz"))
        .collect())
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("{} -> {}: {e}", from.display(), to.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::env;

    /// A stand-in for a built `dist/` (the bundle's names, precompressed copies, the page).
    fn fake_dist(root: &Path) {
        let dist = root.join("dist");
        fs::create_dir_all(dist.join("i18n")).unwrap();
        for name in [
            "embed.js",
            "wa-signup-3f2a.js",
            "wa-signup-3f2a_bg.wasm",
            "widget-9c1d.css",
            "index.html",
            "embed.js.br",
        ] {
            fs::write(dist.join(name), name).unwrap();
        }
        fs::write(dist.join("i18n/vi.json"), "[]").unwrap();
    }

    #[test]
    fn the_package_is_packed_with_the_bundle_and_its_declarations() {
        let root = env::temp_dir().join(format!("xtask-pack-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        fs::create_dir_all(root.join("package")).unwrap();
        for name in OWN_FILES {
            fs::copy(
                repo.join("package").join(name),
                root.join("package").join(name),
            )
            .unwrap();
        }
        fake_dist(&root);
        let tarball = pack(&root, &Tools::from_path()).unwrap();
        let listing = std::process::Command::new("tar")
            .arg("-tzf")
            .arg(&tarball)
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&listing.stdout);
        let mut files: Vec<&str> = listing.lines().collect();
        files.sort_unstable();
        assert_eq!(
            files,
            [
                "package/README.md",
                "package/embed.js",
                "package/i18n/vi.json",
                "package/index.d.ts",
                "package/index.js",
                "package/package.json",
                "package/wa-signup-3f2a.js",
                "package/wa-signup-3f2a_bg.wasm",
                "package/widget-9c1d.css",
            ]
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn only_the_bundle_goes_into_the_package() {
        for name in [
            "embed.js",
            "wa-signup-3f2a.js",
            "wa-signup-3f2a_bg.wasm",
            "widget-9c1d.css",
        ] {
            assert!(is_bundle_file(name), "{name}");
        }
        for name in [
            "index.html",
            "embed.js.br",
            "wa-signup-3f2a.js.gz",
            "wa-signup-3f2a_bg.wasm.br",
            "console.js",
        ] {
            assert!(!is_bundle_file(name), "{name}");
        }
    }
}
