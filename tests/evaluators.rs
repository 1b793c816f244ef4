//! The compiler and the fast CPU evaluator against the f64 reference evaluator and hand-computed
//! cases.

#[macro_use]
mod common;

use rand::SeedableRng;
use std::sync::Arc;
use wann::data::Dataset;
use wann::eval::{cpu::CpuEvaluator, reference, Evaluator, PREACT_LIMIT, TRAINING_WEIGHTS};
use wann::genome::{Activation, ConnGene, Genome, HiddenNode};
use wann::program::{compile, Programs};

fn conn(innovation: u64, src: u32, dst: u32) -> ConnGene {
    ConnGene { innovation, src, dst, enabled: true }
}

/// 2 inputs, 2 outputs; examples chosen by hand.
fn tiny_data() -> Arc<Dataset> {
    Arc::new(Dataset {
        name: "tiny".into(),
        dim: 2,
        classes: 2,
        inputs: vec![0.5, -1.0, 2.0, 0.25, 0.0, 0.0],
        labels: vec![0, 1, 1],
    })
}

#[test]
fn reference_matches_hand_computation() {
    // out0 (id 3) = w * tanh(w * (x1 + bias)); out1 (id 4) = w * x2.
    let mut g = Genome::empty(2, 2);
    g.hidden.push(HiddenNode { id: 5, activation: Activation::Tanh });
    g.conns = vec![conn(0, 1, 5), conn(1, 0, 5), conn(2, 5, 3), conn(3, 2, 4)];
    let net = reference::ReferenceNet::new(&g).unwrap();
    let out = net.outputs(&[0.5, -1.0], 2.0);
    assert!((out[0] - 2.0 * (2.0f64 * 1.5).tanh()).abs() < 1e-12);
    assert_eq!(out[1], -2.0);
    // Cross-entropy of label 0: log(e^o0 + e^o1) - o0.
    let stats = reference::evaluate(&g, &[2.0], &tiny_data(), &[0]).unwrap();
    let want = (out[0].exp() + out[1].exp()).ln() - out[0];
    assert!((stats[0].ce_sum - want).abs() < 1e-12);
    assert_eq!(stats[0].correct, 1);
    // The fast evaluator agrees on the same hand-made case.
    let mut cpu = CpuEvaluator::new(tiny_data());
    let r = cpu.evaluate(&Programs::pack([&compile(&g).unwrap()]), &[2.0], &[0, 1, 2]).unwrap();
    let all = reference::evaluate(&g, &[2.0], &tiny_data(), &[0, 1, 2]).unwrap();
    assert!((r.get(0, 0).ce_sum - all[0].ce_sum).abs() < 1e-5);
    assert_eq!(r.get(0, 0).correct, all[0].correct);
}

#[test]
fn saturating_networks_stay_finite() {
    // square(square(w * 255 pixels...)) would overflow without the pre-activation clamp.
    let mut g = Genome::empty(2, 2);
    let mut innovation = 0;
    let mut prev = 1;
    for k in 0..6 {
        let id = 5 + k;
        g.hidden.push(HiddenNode { id, activation: Activation::Square });
        for src in [prev, 0, 1] {
            if !g.conns.iter().any(|c| c.src == src && c.dst == id) {
                g.conns.push(conn(innovation, src, id));
                innovation += 1;
            }
        }
        prev = id;
    }
    g.conns.push(conn(99, prev, 3));
    let data =
        Arc::new(Dataset { name: "big".into(), dim: 2, classes: 2, inputs: vec![1e3, 1e3], labels: vec![1] });
    let out = reference::ReferenceNet::new(&g).unwrap().outputs(&[1e3, 1e3], 2.0);
    assert_eq!(out[0], PREACT_LIMIT as f64);
    let r = CpuEvaluator::new(data.clone())
        .evaluate(&Programs::pack([&compile(&g).unwrap()]), &[2.0, -2.0], &[0])
        .unwrap();
    for w in 0..2 {
        assert!(r.mean_ce(0, w).is_finite());
    }
    assert!((r.mean_ce(0, 0) - PREACT_LIMIT as f64).abs() < 1.0, "label 1 loses by the full clamp range");
}

#[test]
fn compiler_orders_prunes_and_counts() {
    // Hidden 5 feeds 6, 6 feeds output 3; hidden 7 is a dead end (pruned); one gene disabled.
    let mut g = Genome::empty(2, 2);
    g.hidden = [6, 5, 7].map(|id| HiddenNode { id, activation: Activation::Relu }).to_vec();
    g.conns = vec![conn(0, 5, 6), conn(1, 1, 5), conn(2, 6, 3), conn(3, 2, 7), conn(4, 0, 6), conn(5, 2, 4)];
    g.conns.push(ConnGene { innovation: 6, src: 1, dst: 4, enabled: false });
    let p = compile(&g).unwrap();
    assert_eq!(p.enabled_connections, 6);
    assert_eq!(p.node_count, 1 + 2 + 2 + 3);
    // Ops: 5, 6, then outputs 3 and 4 (slots 3, 4, 5, 6).
    assert_eq!(p.ops.len(), 4);
    let acts: Vec<u32> = p.ops.iter().map(|o| o.activation).collect();
    assert_eq!(acts, vec![9, 9, 1, 1]);
    let sources = |k: usize| {
        let o = p.ops[k];
        (o.n_const, p.edges[o.src_start as usize..(o.src_start + o.n_const + o.n_hidden) as usize].to_vec())
    };
    assert_eq!(sources(0), (1, vec![1])); // 5 <- input 1
    assert_eq!(sources(1), (1, vec![0, 3])); // 6 <- bias, op 5 (slot 3)
    assert_eq!(sources(2), (0, vec![4])); // output 3 <- op 6 (slot 4)
    assert_eq!(sources(3), (1, vec![2])); // output 4 <- input 2
    assert_eq!(p.edge_split(), (3, 2));
}

/// The fast evaluator against the f64 reference: 1e-4 relative on cross-entropy sums. Deep chains of
/// periodic activations at |w| = 2 are chaotic: f32 rounding anywhere is amplified layer by layer.
/// Such a pair is recognised by the reference itself (rounding its node values to f32 moves its
/// result by more than 1e-6 relative); those are held to 2e-2 and must be rare. Correct counts may
/// differ only through exact ties (outputs equal in exact arithmetic).
fn check_against_reference(genomes: &[Genome], data: &Arc<Dataset>, indices: &[u32], label: &str) {
    let programs: Vec<_> = genomes.iter().map(|g| compile(g).unwrap()).collect();
    let packed = Programs::pack(&programs);
    let mut cpu = CpuEvaluator::new(data.clone());
    let fast = cpu.evaluate(&packed, &TRAINING_WEIGHTS, indices).unwrap();
    let (mut worst, mut sensitive, mut count_diffs) = (0.0f64, 0, 0);
    for (g, genome) in genomes.iter().enumerate() {
        let exact = reference::evaluate(genome, &TRAINING_WEIGHTS, data, indices).unwrap();
        let rounded = reference::evaluate_with(genome, &TRAINING_WEIGHTS, data, indices, true).unwrap();
        for (w, (e, r)) in exact.iter().zip(&rounded).enumerate() {
            let f = fast.get(g, w);
            assert!(f.ce_sum.is_finite());
            let scale = e.ce_sum.abs().max(indices.len() as f64);
            let sensitivity = (r.ce_sum - e.ce_sum).abs();
            let chaotic = sensitivity > 1e-6 * scale;
            sensitive += chaotic as usize;
            let err = (f.ce_sum - e.ce_sum).abs();
            if !chaotic {
                worst = worst.max(err / scale);
            }
            assert!(
                err <= if chaotic { 2e-2 } else { 1e-4 } * scale,
                "{label}: genome {g} weight {w}: fast {} vs reference {} (f32 storage: {})",
                f.ce_sum,
                e.ce_sum,
                r.ce_sum
            );
            let diff = (f.correct as i64 - e.correct as i64).unsigned_abs();
            count_diffs += diff;
            assert!(
                diff <= 2 + indices.len() as u64 / 100 || chaotic,
                "{label}: genome {g} weight {w}: {} vs {} correct",
                f.correct,
                e.correct
            );
        }
    }
    let pairs = genomes.len() * TRAINING_WEIGHTS.len();
    assert!(
        sensitive * 10 <= pairs,
        "{label}: too few well-conditioned cases to be a test ({sensitive} of {pairs} sensitive)"
    );
    eprintln!("{label}: worst relative cross-entropy difference {worst:.2e} (well-conditioned pairs); {sensitive} of {pairs} pairs chaotic; correct-count differences {count_diffs}");
}

#[test]
fn fast_matches_reference_on_random_genomes_and_real_mnist() {
    let data = mnist_test!();
    let indices: Vec<u32> = (0..200).map(|i| i * 37).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    // Wide fan-in, deep chains, nodes without inputs (hidden > conns), every activation.
    let mut genomes = Vec::new();
    for k in 0..300 {
        let (hidden, conns, chain) = match k % 4 {
            0 => (0, 150, false),
            1 => (20, 400, false),
            2 => (40, 120, true),
            _ => (60, 40, false),
        };
        genomes.push(common::random_genome(&mut rng, 256, 10, hidden, conns, chain));
    }
    check_against_reference(&genomes, &data, &indices, "random genomes");
}

#[test]
fn predictions_match_reference_and_evaluate() {
    let data = mnist_test!();
    let indices: Vec<u32> = (0..500).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let weights = [-1.5f32, 0.3, 1.0];
    for _ in 0..10 {
        let g = common::random_genome(&mut rng, 256, 10, 15, 300, false);
        let p = compile(&g).unwrap();
        let mut cpu = CpuEvaluator::with_threads(data.clone(), 2).unwrap();
        let pred = cpu.predict(&p, &weights, &indices, true).unwrap();
        let exact = reference::predict(&g, &weights, &data, &indices).unwrap();
        let differing = pred.classes.iter().zip(&exact).filter(|(a, b)| a != b).count();
        assert!(differing <= 3, "{differing} of {} predictions differ", exact.len());
        let ev = cpu.evaluate(&Programs::pack([&p]), &weights, &indices).unwrap();
        for w in 0..weights.len() {
            let correct = pred
                .for_weight(w)
                .iter()
                .zip(&indices)
                .filter(|(c, &i)| **c == data.labels[i as usize])
                .count();
            assert_eq!(correct as u32, ev.get(0, w).correct, "predict and evaluate agree");
        }
        let outs = pred.outputs.as_ref().unwrap();
        assert_eq!(outs.len(), weights.len() * indices.len() * 10);
        let net = reference::ReferenceNet::new(&g).unwrap();
        let o = net.outputs(data.input(7), weights[2] as f64);
        let fast = &outs[(2 * indices.len() + 7) * 10..(2 * indices.len() + 8) * 10];
        for (a, b) in fast.iter().zip(&o) {
            assert!((*a as f64 - b).abs() <= 1e-3 * b.abs().max(1.0), "{a} vs {b}");
        }
    }
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let data = mnist_test!();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let genomes: Vec<_> =
        (0..8).map(|_| compile(&common::random_genome(&mut rng, 256, 10, 10, 200, false)).unwrap()).collect();
    let packed = Programs::pack(&genomes);
    let idx: Vec<u32> = (0..1000).collect();
    let one = CpuEvaluator::with_threads(data.clone(), 1)
        .unwrap()
        .evaluate(&packed, &TRAINING_WEIGHTS, &idx)
        .unwrap();
    let two = CpuEvaluator::with_threads(data.clone(), 2)
        .unwrap()
        .evaluate(&packed, &TRAINING_WEIGHTS, &idx)
        .unwrap();
    assert_eq!(one, two);
}
