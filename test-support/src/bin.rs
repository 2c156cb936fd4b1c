//! Where the workspace's binaries are, for tests of another crate.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};

/// Binaries built by this test process, so parallel tests build each once.
static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

/// A workspace binary (`warehouse-server`, `reader-daemon`, `hardware-sim`):
/// `$<NAME>_BIN` if set (`WAREHOUSE_SERVER_BIN`, …), else the one next to
/// this test executable (`<target>/<profile>/NAME`, which `cargo test
/// --workspace` builds before any test runs); when that is missing (`cargo
/// test -p` of another crate), `cargo build -p NAME` in the same profile
/// builds it (cargo has released its build lock by the time tests run).
pub fn workspace_bin(name: &str) -> Result<PathBuf> {
    let env = format!("{}_BIN", name.to_uppercase().replace('-', "_"));
    if let Some(p) = std::env::var_os(&env) {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().context("locating the test executable")?;
    let profile_dir = exe.parent().and_then(Path::parent).ok_or_else(|| {
        anyhow!(
            "test executable {} is not in <target>/<profile>/deps",
            exe.display()
        )
    })?;
    let bin = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if bin.exists() {
        return Ok(bin);
    }
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(p) = built.get(name) {
        return Ok(p.clone());
    }
    build(name, profile_dir, &env)?;
    if !bin.exists() {
        bail!(
            "`cargo build -p {name}` succeeded but {} is still missing; set {env} to the binary",
            bin.display()
        );
    }
    built.insert(name.to_owned(), bin.clone());
    Ok(bin)
}

/// `cargo build -p NAME --bin NAME` in the profile `profile_dir` is for.
fn build(name: &str, profile_dir: &Path, env: &str) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "-p",
        name,
        "--bin",
        name,
        "--manifest-path",
    ])
    .arg(&manifest);
    if let Some(target) = profile_dir.parent() {
        cmd.arg("--target-dir").arg(target);
    }
    match profile_dir.file_name().and_then(|p| p.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
    }
    let status = cmd
        .status()
        .with_context(|| format!("running `cargo build -p {name}`"))?;
    if !status.success() {
        bail!("`cargo build -p {name}` failed ({status}); set {env} to a built binary");
    }
    Ok(())
}
