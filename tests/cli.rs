//! The `wann` binary end to end: its commands give the reference evaluator's numbers and clear errors.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use wann::eval::{reference, TRAINING_WEIGHTS};

fn wann(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_wann"))
        .args(args)
        .env("WANN_DATA", common::mnist_dir())
        .output()
        .expect("the binary runs");
    out
}

fn ok_json(args: &[&str]) -> serde_json::Value {
    let out = wann(args);
    assert!(out.status.success(), "wann {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

fn failure(args: &[&str]) -> String {
    let out = wann(args);
    assert!(!out.status.success(), "wann {args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "wann {args:?} panicked: {err}");
    err
}

/// Per-weight accuracies from `wann eval --json`.
fn accuracies(v: &serde_json::Value) -> Vec<f64> {
    v["report"]["per_weight"].as_array().unwrap().iter().map(|r| r["accuracy"].as_f64().unwrap()).collect()
}

#[test]
fn hand_made_and_converted_networks_evaluate_as_the_reference_says() {
    let dir = tempfile::tempdir().unwrap();
    let json = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hand_made.json");
    let out = dir.path().join("hand_made.out");
    let conv = wann(&["convert", json.to_str().unwrap(), out.to_str().unwrap()]);
    assert!(conv.status.success(), "{}", String::from_utf8_lossy(&conv.stderr));
    let data = common::mnist_test();
    let genome = wann::genome::json::load(&json).unwrap();
    let exact = reference::evaluate(&genome, &TRAINING_WEIGHTS, &data, &data.all_indices()).unwrap();
    for file in [&json, &out] {
        let v = ok_json(&["eval", file.to_str().unwrap(), "--json", "--backend", "cpu"]);
        assert_eq!(v["report"]["examples"], 10_000);
        for (acc, e) in accuracies(&v).iter().zip(&exact) {
            assert_eq!(*acc, e.correct as f64 / 10_000.0, "{}", file.display());
        }
        for (row, e) in v["report"]["per_weight"].as_array().unwrap().iter().zip(&exact) {
            let ce = row["mean_cross_entropy"].as_f64().unwrap();
            assert!((ce - e.ce_sum / 10_000.0).abs() < 1e-4, "{ce} vs {}", e.ce_sum / 10_000.0);
        }
    }
}

#[test]
fn bad_input_gives_clear_errors_and_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let e = failure(&["eval", "/no/such/net.json"]);
    assert!(e.contains("/no/such/net.json"), "{e}");
    let cyclic = dir.path().join("cyclic.json");
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hand_made.json"))
            .unwrap();
    // 268 -> 267 closes a cycle with 267 -> 268.
    std::fs::write(&cyclic, text.replace("\"src\": 40, \"dst\": 268", "\"src\": 268, \"dst\": 267")).unwrap();
    assert!(failure(&["eval", cyclic.to_str().unwrap()]).contains("cycle"));
    let bad_act = dir.path().join("act.json");
    std::fs::write(&bad_act, text.replace("\"activation\": 4", "\"activation\": 42")).unwrap();
    assert!(failure(&["eval", bad_act.to_str().unwrap()]).contains("unknown activation id 42"));
    let garbage = dir.path().join("garbage.out");
    std::fs::write(&garbage, "1,2,3\n").unwrap();
    assert!(failure(&["convert", garbage.to_str().unwrap(), "x.json"]).contains("garbage.out"));
    let e = failure(&["search", "--resume", dir.path().to_str().unwrap()]);
    assert!(e.contains("no checkpoint here"), "{e}");
    let e = failure(&[
        "eval",
        "tests/fixtures/hand_made.json",
        "--data",
        dir.path().to_str().unwrap(),
        "--weights",
        "nan",
    ]);
    assert!(e.contains("finite"), "{e}");
}

#[test]
fn a_tiny_search_writes_its_run_directory_and_its_champion_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let args = [
        "search",
        "--population",
        "16",
        "--generations",
        "3",
        "--minibatch",
        "100",
        "--train-limit",
        "1000",
        "--backend",
        "cpu",
        "--quiet",
        "--out",
        run.to_str().unwrap(),
    ];
    let out = wann(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for f in [
        "config.json",
        "log.csv",
        "champion.json",
        "champion.out",
        "checkpoint.json.gz",
        "report.json",
        "heatmap.png",
    ] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    let log = std::fs::read_to_string(run.join("log.csv")).unwrap();
    assert_eq!(log.lines().count(), 4, "header and one row per generation");
    assert!(String::from_utf8_lossy(&out.stdout).contains("champion on the MNIST test set"));
    let a = ok_json(&["eval", run.join("champion.json").to_str().unwrap(), "--json", "--limit", "500"]);
    let b = ok_json(&["eval", run.join("champion.out").to_str().unwrap(), "--json", "--limit", "500"]);
    assert_eq!(accuracies(&a), accuracies(&b));
    // Running again into the same directory is refused rather than overwriting the run.
    let again = wann(&args);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("--resume"));
    // Resuming a finished run has nothing left to do and succeeds.
    let resumed = wann(&["search", "--resume", run.to_str().unwrap(), "--quiet"]);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
}

#[test]
fn bench_reports_throughput_as_json() {
    let v = ok_json(&[
        "bench",
        "--backend",
        "cpu",
        "--sizes",
        "start",
        "--bred",
        "start",
        "--population",
        "8",
        "--minibatch",
        "64",
        "--test-images",
        "64",
        "--repetitions",
        "2",
        "--warmup",
        "0",
        "--json",
    ]);
    let results = v["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        3,
        "one generation workload (no grown size, so no test-set workload), one bred twice"
    );
    // The bred generation, children in full then as deltas: the same effective work, less computed.
    let (full, delta) = (&results[1], &results[2]);
    assert_eq!((full["deltas"].as_bool(), delta["deltas"].as_bool()), (Some(false), Some(true)));
    assert_eq!(full["edge_evaluations"], delta["edge_evaluations"]);
    let computed = |m: &serde_json::Value| m["computed_edge_evaluations"].as_u64().unwrap();
    assert!(computed(delta) < computed(full) && computed(full) <= full["edge_evaluations"].as_u64().unwrap());
    assert_eq!(v["delta_over_full"].as_array().unwrap().len(), 1);
    let m = &results[0];
    assert!(m["backend"].as_str().unwrap().starts_with("cpu"));
    let secs = m["seconds"]["median"].as_f64().unwrap();
    assert!(secs > 0.0 && m["seconds"]["min"].as_f64().unwrap() <= secs);
    // edge-evaluations = enabled connections x images x weights, per second.
    let edges = m["mean_connections"].as_f64().unwrap() * 8.0 * 64.0 * 6.0;
    let rate = m["edge_evaluations_per_second"].as_f64().unwrap();
    assert!((rate * secs / edges - 1.0).abs() < 1e-9, "{rate} x {secs} vs {edges}");
    let genomes = m["genome_evaluations_per_second"].as_f64().unwrap() * secs;
    assert!((genomes / (8.0 * 6.0) - 1.0).abs() < 1e-9, "{genomes} genome evaluations");
    let e = failure(&["bench", "--sizes", "huge"]);
    assert!(e.contains("unknown size"), "{e}");
}
