//! Individually trained weights: gradients against finite differences of the independent f64
//! reference evaluator, learning a task that needs the weights, determinism across thread counts,
//! file round trips and clear errors.

mod common;

use rand::prelude::*;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};
use wann::data::mnist::{self, Split};
use wann::data::Dataset;
use wann::eval::reference::ReferenceNet;
use wann::eval::{ce_and_argmax_f64, PREACT_LIMIT};
use wann::genome::{self, Activation, ConnGene, Genome, HiddenNode};
use wann::program::compile;
use wann::train::{self, kernel, Options};

/// Random examples with inputs in [-1, 1].
fn synthetic(rng: &mut impl Rng, n: usize, dim: usize, classes: usize) -> Dataset {
    Dataset {
        name: "synthetic".into(),
        dim,
        classes,
        inputs: (0..n * dim).map(|_| rng.random_range(-1.0f32..1.0)).collect(),
        labels: (0..n).map(|_| rng.random_range(0..classes) as u8).collect(),
    }
}

fn with_random_weights(g: &Genome, rng: &mut impl Rng, scale: f32) -> Genome {
    let trained = g.conns.iter().map(|c| (c.innovation, rng.random_range(-scale..scale))).collect();
    Genome { trained: Some(trained), ..g.clone() }
}

/// Summed cross-entropy by the reference evaluator with every connection's weight `weight_of`.
fn reference_loss(net: &ReferenceNet, data: &Dataset, weight_of: &dyn Fn(u64) -> f64) -> f64 {
    (0..data.len())
        .map(|i| {
            ce_and_argmax_f64(&net.outputs_weighted(data.input(i), weight_of), data.labels[i] as usize).0
        })
        .sum()
}

/// Compares the f64 kernel's gradient of every trained weight with central finite differences of the
/// reference evaluator's loss; returns the largest gradient seen (so callers can check it is not 0).
fn check_gradients(g: &Genome, data: &Dataset, what: &str) -> f64 {
    let program = compile(g).unwrap();
    let weights: Vec<f64> = train::edge_weights(g, &program).unwrap().iter().map(|&w| w as f64).collect();
    let all = data.all_indices();
    let sums = kernel::sums(&program, &weights, data, &all, true);
    let net = ReferenceNet::new(g).unwrap();
    let trained: BTreeMap<u64, f64> =
        g.trained.as_ref().unwrap().iter().map(|(&k, &w)| (k, w as f64)).collect();
    let loss = reference_loss(&net, data, &|i| trained[&i]);
    assert!(
        (sums.ce_sum - loss).abs() <= 1e-9 * loss.abs().max(1.0),
        "{what}: loss {} vs {loss}",
        sums.ce_sum
    );
    let h = 1e-6;
    let mut largest = 0.0f64;
    for (e, &gene) in program.edge_genes.iter().enumerate() {
        let innovation = g.conns[gene as usize].innovation;
        let at = |delta: f64| {
            reference_loss(&net, data, &|i| if i == innovation { trained[&i] + delta } else { trained[&i] })
        };
        let fd = (at(h) - at(-h)) / (2.0 * h);
        let analytic = sums.grad[e];
        let tol = 1e-5 * (fd.abs() + analytic.abs()) + 1e-6;
        assert!(
            (analytic - fd).abs() <= tol,
            "{what}: connection {innovation}: gradient {analytic}, finite difference {fd}"
        );
        largest = largest.max(analytic.abs());
    }
    largest
}

#[test]
fn gradients_match_finite_differences_for_every_activation() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for a in Activation::ALL {
        // 3 inputs, 2 outputs; two hidden nodes of the activation under test in a chain, so that its
        // derivative is used both for a weight's own gradient and for passing gradient on.
        let mut g = Genome::empty(3, 2);
        g.hidden = vec![HiddenNode { id: 6, activation: a }, HiddenNode { id: 7, activation: a }];
        for (i, (src, dst)) in
            [(0, 6), (1, 6), (2, 6), (6, 7), (3, 7), (6, 4), (7, 4), (7, 5), (1, 5), (0, 5)]
                .into_iter()
                .enumerate()
        {
            g.conns.push(ConnGene { innovation: i as u64, src, dst, enabled: true });
        }
        let data = synthetic(&mut rng, 7, 3, 2);
        let g = with_random_weights(&g, &mut rng, 1.5);
        let largest = check_gradients(&g, &data, a.name());
        assert!(largest > 1e-3, "{a}: every gradient is zero");
    }
}

#[test]
fn gradients_match_finite_differences_for_random_networks() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for k in 0..24 {
        let g = common::random_genome(&mut rng, 6, 3, 10, 50, k % 2 == 0);
        let g = with_random_weights(&g, &mut rng, 1.2);
        let data = synthetic(&mut rng, 9, 6, 3);
        check_gradients(&g, &data, &format!("random network {k}"));
    }
}

#[test]
fn a_clamped_pre_activation_passes_no_gradient() {
    // bias -> h (linear) -> output 0, with h's pre-activation far beyond the limit for one weight:
    // the bias weight into h gets no gradient, the h -> output weight does.
    let mut g = Genome::empty(1, 2);
    g.hidden.push(HiddenNode { id: 4, activation: Activation::Linear });
    g.conns.push(ConnGene { innovation: 0, src: 0, dst: 4, enabled: true });
    g.conns.push(ConnGene { innovation: 1, src: 4, dst: 2, enabled: true });
    g.conns.push(ConnGene { innovation: 2, src: 1, dst: 3, enabled: true });
    g.trained = Some([(0, 3.0 * PREACT_LIMIT), (1, 1e-4), (2, 0.5)].into_iter().collect());
    let data = Dataset { name: "one".into(), dim: 1, classes: 2, inputs: vec![0.3], labels: vec![1] };
    let program = compile(&g).unwrap();
    let w: Vec<f64> = train::edge_weights(&g, &program).unwrap().iter().map(|&w| w as f64).collect();
    let sums = kernel::sums(&program, &w, &data, &[0], true);
    let grad_of = |innovation: u64| {
        let e = program.edge_genes.iter().position(|&gene| g.conns[gene as usize].innovation == innovation);
        sums.grad[e.unwrap()]
    };
    assert_eq!(grad_of(0), 0.0);
    assert!(grad_of(1).abs() > 1.0, "h's value is the limit, so its outgoing weight has a large gradient");
    check_gradients(&g, &data, "clamped");
}

#[test]
fn f32_training_gradients_agree_with_the_f64_ones() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for k in 0..8 {
        let g = common::random_genome(&mut rng, 6, 3, 10, 50, false);
        let g = with_random_weights(&g, &mut rng, 1.0);
        let data = synthetic(&mut rng, 40, 6, 3);
        let program = compile(&g).unwrap();
        let w32 = train::edge_weights(&g, &program).unwrap();
        let w64: Vec<f64> = w32.iter().map(|&w| w as f64).collect();
        let all = data.all_indices();
        let s32 = kernel::sums(&program, &w32, &data, &all, true);
        let s64 = kernel::sums(&program, &w64, &data, &all, true);
        let norm = s64.grad.iter().map(|g| g * g).sum::<f64>().sqrt();
        let diff = s32.grad.iter().zip(&s64.grad).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
        assert!(diff <= 1e-4 * norm.max(1.0), "network {k}: f32 gradient off by {diff} (norm {norm})");
        assert!((s32.ce_sum - s64.ce_sum).abs() <= 1e-4 * s64.ce_sum.max(1.0));
    }
}

#[test]
fn a_hand_made_network_learns_a_task_no_shared_weight_can_solve() {
    // Class 1 when x1 > x2. Both outputs see the bias and both inputs: with one shared weight their
    // outputs are always equal (50%, every tie going to class 0); the trained weights must separate
    // them, through the direct connections and a tanh node.
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let n = 2000;
    let mut data = synthetic(&mut rng, n, 2, 2);
    for i in 0..n {
        data.labels[i] = (data.inputs[2 * i] > data.inputs[2 * i + 1]) as u8;
    }
    let mut g = Genome::empty(2, 2);
    g.hidden.push(HiddenNode { id: 5, activation: Activation::Tanh });
    for (i, (src, dst)) in
        [(0, 3), (1, 3), (2, 3), (0, 4), (1, 4), (2, 4), (1, 5), (2, 5), (5, 4)].into_iter().enumerate()
    {
        g.conns.push(ConnGene { innovation: i as u64, src, dst, enabled: true });
    }
    let options =
        Options { epochs: 20, learning_rate: 0.05, batch_size: 32, validation: 400, ..Options::default() };
    let out = train::train(&g, Arc::new(data.clone()), &options, &mut |_| {}).unwrap();
    let start = &out.history[0];
    assert!(start.train_accuracy < 0.6, "no shared weight separates the classes: {}", start.train_accuracy);
    let best = &out.history[out.best_epoch];
    assert!(best.validation_accuracy.unwrap() >= 0.98, "validation accuracy {:?}", best.validation_accuracy);
    let fresh = {
        let mut d = synthetic(&mut rng, 1000, 2, 2);
        for i in 0..1000 {
            d.labels[i] = (d.inputs[2 * i] > d.inputs[2 * i + 1]) as u8;
        }
        d
    };
    let s = train::evaluate(&out.genome, &fresh, &fresh.all_indices()).unwrap();
    assert!(s.correct >= 970, "{} of 1000 fresh examples right", s.correct);
}

fn mnist_train() -> Arc<Dataset> {
    static DATA: OnceLock<Arc<Dataset>> = OnceLock::new();
    DATA.get_or_init(|| {
        Arc::new(
            mnist::load(&common::try_mnist_dir().expect("the test checked for MNIST first"), Split::Train)
                .expect("MNIST loads")
                .truncated(3000),
        )
    })
    .clone()
}

fn small_champion_like() -> Genome {
    wann::workload::grown_network(5, 256, 10, 400, 40)
}

#[test]
fn training_is_the_same_on_one_and_two_threads() {
    let _ = mnist_dir!();
    let g = small_champion_like();
    let run = |threads| {
        let o = Options {
            epochs: 2,
            batch_size: 100,
            validation: 500,
            threads: Some(threads),
            ..Options::default()
        };
        train::train(&g, mnist_train(), &o, &mut |_| {}).unwrap()
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a.genome, b.genome);
    let numbers = |o: &train::Outcome| {
        let h: Vec<_> = o.history.iter().map(|e| train::EpochStats { seconds: 0.0, ..e.clone() }).collect();
        serde_json::to_string(&h).unwrap()
    };
    assert_eq!(numbers(&a), numbers(&b));
    assert!(a.history.last().unwrap().train_loss < a.history[0].train_loss, "training lowers the loss");
}

#[test]
fn trained_networks_save_load_and_evaluate_the_same() {
    let _ = mnist_dir!();
    let g = small_champion_like();
    let o = Options { epochs: 1, batch_size: 64, validation: 500, ..Options::default() };
    let out = train::train(&g, mnist_train(), &o, &mut |_| {}).unwrap();
    let trained = out.genome.trained.as_ref().unwrap();
    assert_eq!(trained.len(), out.trained_connections);
    assert!(trained.values().any(|&w| w != out.shared_weight), "the weights moved");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("t.json");
    genome::save(&out.genome, &json).unwrap();
    let back = genome::load(&json, 256, 10).unwrap();
    assert_eq!(back, out.genome, "JSON keeps every trained weight exactly");

    // The fast f32 forward pass against the f64 reference evaluator straight from the genome.
    let test = mnist_test!();
    let idx: Vec<u32> = (0..500).collect();
    let fast = train::evaluate(&back, &test, &idx).unwrap();
    let net = ReferenceNet::new(&back).unwrap();
    let w = back.trained.as_ref().unwrap();
    let (mut correct, mut ce) = (0, 0.0);
    for &i in &idx {
        let o = net.outputs_weighted(test.input(i as usize), &|k| w.get(&k).map_or(0.0, |&w| w as f64));
        let (c, arg) = ce_and_argmax_f64(&o, test.labels[i as usize] as usize);
        ce += c;
        correct += (arg == test.labels[i as usize] as usize) as u32;
    }
    assert!(fast.correct.abs_diff(correct) <= 1, "f32 {} vs f64 {correct} correct", fast.correct);
    assert!((fast.ce_sum - ce).abs() <= 1e-3 * ce, "f32 {} vs f64 {ce}", fast.ce_sum);

    // `.out` holds weights to three significant digits, and only as trained weights when asked.
    let out_file = dir.path().join("t.out");
    genome::save(&back, &out_file).unwrap();
    let as_shared = genome::load(&out_file, 256, 10).unwrap();
    assert_eq!(as_shared.trained, None);
    let as_trained = genome::load_trained(&out_file, 256, 10).unwrap();
    let again = compile(&as_trained).unwrap();
    let first = compile(&back).unwrap();
    assert_eq!(again.edges, first.edges);
    let (wa, wb) =
        (train::edge_weights(&as_trained, &again).unwrap(), train::edge_weights(&back, &first).unwrap());
    for (a, b) in wa.iter().zip(&wb) {
        assert!((a - b).abs() <= 5e-3 * b.abs(), "{a} written for {b}");
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let _ = mnist_dir!();
    let data = mnist_train();
    let g = small_champion_like();
    let err =
        |g: &Genome, o: Options| train::train(g, data.clone(), &o, &mut |_| {}).unwrap_err().to_string();
    let base = || Options { validation: 500, ..Options::default() };
    let e = err(&Genome::empty(256, 10), base());
    assert!(e.contains("no enabled connections"), "{e}");
    let mut dead = Genome::empty(256, 10);
    dead.hidden.push(HiddenNode { id: 300, activation: Activation::Tanh });
    dead.conns.push(ConnGene { innovation: 0, src: 3, dst: 300, enabled: true });
    let e = err(&dead, base());
    assert!(e.contains("leads to an output"), "{e}");
    assert!(err(&g, Options { epochs: 0, ..base() }).contains("at least one epoch"));
    for lr in [f64::NAN, 0.0, -1.0, f64::INFINITY] {
        let e = err(&g, Options { learning_rate: lr, ..base() });
        assert!(e.contains("learning rate"), "{lr}: {e}");
    }
    assert!(err(&g, Options { batch_size: 0, ..base() }).contains("minibatch size"));
    assert!(err(&g, Options { validation: 3000, ..base() }).contains("none of the 3000"));
    assert!(err(&g, Options { threads: Some(0), ..base() }).contains("threads"));
    let e = err(&common::random_genome(&mut ChaCha8Rng::seed_from_u64(0), 5, 2, 3, 10, false), base());
    assert!(e.contains("5 inputs and 2 outputs"), "{e}");

    // A trained network whose file lacks an expressed connection's weight, or names a missing one.
    let mut partial = g.clone();
    partial.trained = Some(g.conns.iter().skip(1).map(|c| (c.innovation, 1.0)).collect());
    let first = g.conns.iter().find(|c| c.enabled).unwrap();
    partial.trained.as_mut().unwrap().remove(&first.innovation);
    let e = train::evaluate(&partial, &data, &[0]).unwrap_err().to_string();
    assert!(e.contains("has no trained weight"), "{e}");
    let mut ghost = g.clone();
    ghost.trained = Some([(1_000_000, 1.0)].into_iter().collect());
    assert!(ghost.validate().unwrap_err().to_string().contains("does not have"));
    let mut nan = g.clone();
    nan.trained = Some([(first.innovation, f32::NAN)].into_iter().collect());
    assert!(nan.validate().unwrap_err().to_string().contains("not a finite number"));
}

fn wann(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wann"))
        .args(args)
        .env("WANN_DATA", common::try_mnist_dir().expect("the test checked for MNIST first"))
        .output()
        .expect("the binary runs")
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

#[test]
fn the_cli_trains_saves_converts_and_reports_the_trained_row() {
    let _ = mnist_dir!();
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net.json");
    genome::save(&small_champion_like(), &net).unwrap();
    let trained = dir.path().join("trained.json");
    let (net_s, trained_s) = (net.to_str().unwrap(), trained.to_str().unwrap());
    let v = ok_json(&[
        "train",
        net_s,
        "--out",
        trained_s,
        "--limit",
        "2000",
        "--validation",
        "500",
        "--epochs",
        "2",
        "--json",
    ]);
    assert_eq!(v["outcome"]["history"].as_array().unwrap().len(), 3);
    assert_eq!(v["outcome"]["train_examples"], 1500);
    let test_accuracy = v["test_accuracy"].as_f64().unwrap();

    let g = genome::load(&trained, 256, 10).unwrap();
    let test = mnist_test!();
    let s = train::evaluate(&g, &test, &test.all_indices()).unwrap();
    assert_eq!(test_accuracy, s.correct as f64 / 10_000.0);
    let rep = ok_json(&["eval", trained_s, "--json", "--backend", "cpu", "--limit", "1000", "--draws", "3"]);
    let s = train::evaluate(&g, &test, &(0..1000).collect::<Vec<u32>>()).unwrap();
    assert_eq!(rep["report"]["trained"]["accuracy"].as_f64().unwrap(), s.correct as f64 / 1000.0);
    assert!(rep["report"]["tuned"]["best_accuracy"].as_f64().is_some(), "shared-weight rows stay");
    let text = wann(&["eval", trained_s, "--backend", "cpu", "--limit", "1000", "--draws", "3"]);
    let text = String::from_utf8_lossy(&text.stdout);
    let row = text.lines().find(|l| l.starts_with("individually trained weights")).unwrap();
    assert!(row.contains(&format!("{:.2}%", 100.0 * s.correct as f64 / 1000.0)), "{row}");

    let out = dir.path().join("trained.out");
    let conv = wann(&["convert", trained_s, out.to_str().unwrap()]);
    assert!(conv.status.success(), "{}", String::from_utf8_lossy(&conv.stderr));
    let with = ok_json(&[
        "eval",
        out.to_str().unwrap(),
        "--trained",
        "--json",
        "--backend",
        "cpu",
        "--limit",
        "100",
    ]);
    assert!(with["report"]["trained"]["accuracy"].as_f64().is_some());
    let without = ok_json(&["eval", out.to_str().unwrap(), "--json", "--backend", "cpu", "--limit", "100"]);
    assert!(without["report"]["trained"].is_null());

    assert!(failure(&["train", net_s, "--out", trained_s, "--epochs", "0"]).contains("at least one epoch"));
    assert!(
        failure(&["train", net_s, "--out", trained_s, "--learning-rate", "nan"]).contains("learning rate")
    );
    assert!(failure(&["train", net_s, "--out", trained_s, "--backend", "gpu"]).contains("CPU only"));
    assert!(failure(&["train", net_s, "--out", "/no/such/dir/t.json"]).contains("does not exist"));
    assert!(failure(&["eval", trained_s, "--trained"]).contains("--trained is for `.out` files"));
    let empty = dir.path().join("empty.json");
    genome::save(&Genome::empty(256, 10), &empty).unwrap();
    assert!(
        failure(&["train", empty.to_str().unwrap(), "--out", trained_s]).contains("no enabled connections")
    );
    assert!(Path::new(trained_s).exists());
}

#[test]
fn files_carry_weights_only_where_they_should() {
    use wann::genome::{json, out_format};
    let p = Path::new("n.json");
    let text = r#"{ "format": "wann-genome", "version": 1, "inputs": 2, "outputs": 1, "hidden": [],
        "connections": [ { "innovation": 0, "src": 1, "dst": 3, "enabled": true, "weight": -0.25 },
                         { "innovation": 1, "src": 2, "dst": 3, "enabled": true } ] }"#;
    let g = json::from_str(text, p).unwrap();
    assert_eq!(g.trained, Some([(0, -0.25)].into_iter().collect()));
    let e = json::from_str(&text.replace("-0.25", "\"heavy\""), p).unwrap_err().to_string();
    assert!(e.contains("n.json"), "{e}");
    let e = json::from_str(&text.replace("\"weight\"", "\"wieght\""), p).unwrap_err().to_string();
    assert!(e.contains("wieght"), "a misspelt field is named: {e}");
    // Incomplete weights load (the file is well formed) but cannot be evaluated.
    let e = train::evaluate(&g, &synthetic(&mut ChaCha8Rng::seed_from_u64(0), 4, 2, 1), &[0]).unwrap_err();
    assert!(e.to_string().contains("connection 1 (2 -> 3) is expressed but has no trained weight"), "{e}");

    // A .out cell's value is a trained weight only when asked; nan stays "disabled".
    let out = "0.00e+00,0.00e+00,0.00e+00,0.00e+00,1.00e+00\n\
               0.00e+00,0.00e+00,0.00e+00,5.00e-01,1.00e+00\n\
               0.00e+00,0.00e+00,0.00e+00,nan,1.00e+00\n\
               0.00e+00,0.00e+00,0.00e+00,0.00e+00,1.00e+00\n";
    let p = Path::new("n.out");
    assert_eq!(out_format::from_str(out, 2, 1, p).unwrap().trained, None);
    let t = out_format::from_str_trained(out, 2, 1, p).unwrap();
    assert_eq!(t.trained, Some([(0, 0.5)].into_iter().collect()));
    assert!(!t.conns[1].enabled);
    let e = out_format::from_str_trained(&out.replace("5.00e-01", "inf"), 2, 1, p).unwrap_err().to_string();
    assert!(e.contains("not a finite"), "{e}");
    // And back: the weight goes into its cell.
    assert!(out_format::to_string(&t).unwrap().contains("5.00e-01"));
}
