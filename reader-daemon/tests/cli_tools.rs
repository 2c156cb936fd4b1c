//! The field tools as a user runs them: the real binary, real pipes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reader-daemon"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn reader-daemon");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("wait")
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn decodes_the_standard_sgtin_example_from_stdin() {
    let out = run(&["epc", "decode"], "3074257BF7194E4000001A85\n");
    assert!(out.status.success(), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    let v = &lines[0];
    assert_eq!(v["hex"], "3074257BF7194E4000001A85");
    assert_eq!(v["scheme"], "sgtin-96");
    assert_eq!(v["filter"], 3);
    assert_eq!(v["id_uri"], "urn:epc:id:sgtin:0614141.812345.6789");
    assert_eq!(v["tag_uri"], "urn:epc:tag:sgtin-96:3.0614141.812345.6789");
    assert_eq!(v["company_prefix"], "0614141");
}

#[test]
fn a_bad_line_is_reported_and_the_stream_goes_on() {
    let input = "3074257BF7194E4000001A85\nnot-hex\r\n\n3074257BF7194E4000001A8\nE2801160600002\n";
    let out = run(&["epc", "decode", "-"], input);
    assert_eq!(out.status.code(), Some(1), "some lines failed");
    let lines = json_lines(&out);
    assert_eq!(
        lines.len(),
        4,
        "blank line skipped, every other line answered"
    );
    assert_eq!(lines[0]["scheme"], "sgtin-96");
    assert_eq!(lines[1]["input"], "not-hex");
    assert!(lines[1]["error"]
        .as_str()
        .unwrap()
        .contains("invalid hex digit"));
    assert_eq!(lines[2]["input"], "3074257BF7194E4000001A8");
    assert!(lines[2]["error"].as_str().unwrap().contains("odd number"));
    // An unknown header is a value, not an error.
    assert_eq!(lines[3]["scheme"], "raw");
    assert!(lines[3]["id_uri"]
        .as_str()
        .unwrap()
        .starts_with("urn:epc:raw:"));
}

#[test]
fn decodes_arguments_and_exits_zero_when_all_succeed() {
    let out = run(
        &[
            "epc",
            "decode",
            "3074257BF7194E4000001A85",
            "3074257BF7194E4000001A85",
        ],
        "",
    );
    assert!(out.status.success());
    assert_eq!(json_lines(&out).len(), 2);
}

#[test]
fn encodes_identity_uri_with_filter_and_names_what_is_wrong() {
    let out = run(
        &[
            "epc",
            "encode",
            "--filter",
            "3",
            "urn:epc:id:sgtin:0614141.812345.6789",
        ],
        "",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(json_lines(&out)[0]["hex"], "3074257BF7194E4000001A85");

    let out = run(
        &["epc", "encode"],
        "urn:epc:tag:sgtin-96:3.0614141.812345.6789\nurn:epc:id:sgtin:0614141.812345.6789\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["hex"], "3074257BF7194E4000001A85");
    let err = lines[1]["error"].as_str().unwrap();
    assert!(
        err.contains("filter"),
        "error names the missing filter: {err}"
    );
}

#[test]
fn frame_decode_finds_the_documented_r2000_frame_and_reports_noise() {
    // PROTOCOLS.md: `A0 03 01 72 EA` is "get firmware version" to address 1.
    let out = run(
        &[
            "frame",
            "decode",
            "--protocol",
            "r2000",
            "--direction",
            "command",
            "FF FF A0 03 01 72 EA",
        ],
        "",
    );
    assert!(out.status.success(), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["offset"], 0);
    assert_eq!(lines[0]["skipped"], 2);
    assert_eq!(lines[1]["offset"], 2);
    assert_eq!(lines[1]["len"], 5);
    assert_eq!(lines[1]["frame"]["addr"], 1);
}

#[test]
fn frame_decode_skips_a_bad_checksum_and_keeps_the_next_frame() {
    // The set-power example from PROTOCOLS.md, once with its checksum
    // broken, then intact, split across stdin lines mid-frame.
    let bad = "A55A000E1002010BB80BB81E0D0A";
    let good = "A55A000E1002010B\nB80BB81D0D0A";
    let out = run(
        &[
            "frame",
            "decode",
            "--protocol",
            "chainway",
            "--direction",
            "command",
        ],
        &format!("{bad}\n{good}\n"),
    );
    assert!(out.status.success(), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["offset"], 0);
    assert_eq!(lines[0]["skipped"], 14);
    assert!(lines[0]["reason"].as_str().unwrap().contains("checksum"));
    assert_eq!(lines[1]["offset"], 14);
    assert_eq!(lines[1]["len"], 14);
}

#[test]
fn frame_decode_reports_a_truncated_tail_and_bad_hex() {
    let out = run(
        &[
            "frame",
            "decode",
            "--protocol",
            "r2000",
            "--direction",
            "command",
        ],
        "A0 03 01 72 EA\nzz\nA0 03 01\n",
    );
    assert_eq!(out.status.code(), Some(1), "the bad hex line fails the run");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[1]["input"], "zz");
    assert_eq!(lines[2]["offset"], 5);
    assert_eq!(lines[2]["skipped"], 3);
    assert!(lines[2]["reason"].as_str().unwrap().contains("ended"));
}
