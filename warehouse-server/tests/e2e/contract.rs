//! The OpenAPI document is a contract: schemathesis (pinned, from PyPI,
//! in a venv cached under the target directory) generates requests for
//! every operation from `/api/v1/openapi.json`, valid and invalid, with
//! each role's token, against the real server, and fails on any 5xx, an
//! undeclared status, a wrong content type, a body off its schema (errors
//! included) or invalid data accepted.
//!
//! `WAREHOUSE_SKIP_SCHEMATHESIS=1` skips it (say so in the report); without
//! Python or PyPI the test fails with the reason.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::support::*;

const SCHEMATHESIS: &str = "3.39.16";
/// schemathesis 3.39 breaks on newer hypothesis releases.
const HYPOTHESIS: &str = "6.119.4";

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("{what}: cannot start"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The `st` executable of a venv keyed by the pinned versions, made once.
fn schemathesis() -> Result<PathBuf> {
    let venv = target_dir().join(format!("schemathesis/venv-{SCHEMATHESIS}-{HYPOTHESIS}"));
    let st = venv.join("bin/st");
    if st.exists() {
        return Ok(st);
    }
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv (install python3-venv)",
    )?;
    run(
        Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            &format!("schemathesis=={SCHEMATHESIS}"),
            &format!("hypothesis=={HYPOTHESIS}"),
        ]),
        "pip install schemathesis from PyPI",
    )?;
    Ok(st)
}

#[tokio::test]
async fn every_operation_keeps_the_openapi_contract_for_every_role() -> Result<()> {
    if std::env::var_os("WAREHOUSE_SKIP_SCHEMATHESIS").is_some() {
        eprintln!("SKIPPED: the schemathesis contract test (WAREHOUSE_SKIP_SCHEMATHESIS is set)");
        return Ok(());
    }
    let st = schemathesis()?;
    let w = World::new().await?;
    let hooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis");
    // Hypothesis writes caches into the working directory: keep them out
    // of the source tree.
    let work = target_dir().join("schemathesis/work");
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let roles = [
        ("admin", &w.admin),
        ("approver", &w.approver),
        ("finance", &w.finance),
        ("keeper", &w.keeper),
        ("unit_staff", &w.staff_a),
        ("gate reader", &w.gate_token),
        ("handheld reader", &w.handheld_token),
    ];
    for (role, token) in roles {
        let started = Instant::now();
        let mut cmd = Command::new(&st);
        cmd.arg("run")
            .arg(format!("{}/api/v1/openapi.json", w.server.base))
            .arg("--experimental=openapi-3.1")
            .args(["-H", &format!("Authorization: Bearer {token}")])
            // Logging out would end the token's session for the rest.
            .args(["--exclude-path", "/api/v1/auth/logout"])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,\
                 response_schema_conformance,negative_data_rejection",
            ])
            .args(["--data-generation-method", "all"])
            .args(["--hypothesis-max-examples", "5"])
            .args(["--hypothesis-phases", "generate"])
            .args(["--hypothesis-seed", "8"])
            .args(["--max-response-time", "5000", "--request-timeout", "10000"])
            // One worker: with two, schemathesis itself sometimes stops on an
            // internal IndexError and never exits (schemathesis#860).
            .args(["--workers", "1", "--no-color"])
            .args(["--hypothesis-database", "none"])
            .current_dir(&work)
            .env("PYTHONPATH", &hooks)
            .env("SCHEMATHESIS_HOOKS", "st_hooks");
        // One role's run takes about ten seconds; a server that stops
        // answering must fail the test, not hold the suite (each request
        // has its own timeout, but thousands of them add up to hours).
        let out = match output_within(&mut cmd, "schemathesis", Duration::from_secs(300)) {
            Ok(out) => out,
            Err(e) => {
                let log = w.server.process.log_text();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                bail!(
                    "schemathesis as {role}: {e:#}\nthe server's log ends:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
        };
        let text = String::from_utf8_lossy(&out.stdout);
        eprintln!(
            "schemathesis as {role}: {:.1} s, {}",
            started.elapsed().as_secs_f64(),
            text.lines().last().unwrap_or_default()
        );
        assert!(
            out.status.success(),
            "schemathesis as {role} found contract violations:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
