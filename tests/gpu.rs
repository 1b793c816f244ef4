//! The GPU evaluator against the fast CPU evaluator and the f64 reference, on random genomes and real
//! MNIST minibatches. Without a GPU adapter (or MNIST) these tests print a SKIPPED line saying why and
//! return, unless `WANN_REQUIRE_GPU=1` (CI, on lavapipe), where a missing adapter fails them.
#![cfg(feature = "gpu")]

#[macro_use]
mod common;

use rand::SeedableRng;
use std::sync::Arc;
use std::time::Instant;
use wann::data::{minibatch, Dataset};
use wann::eval::backend::{self, Backend};
use wann::eval::gpu::{GpuEvaluator, GpuOptions, KernelUse};
use wann::eval::{cpu::CpuEvaluator, reference, Evaluation, Evaluator, TRAINING_WEIGHTS};
use wann::genome::Genome;
use wann::program::{compile, Programs};
use wann::Error;

/// A GPU evaluator, or `None` (after saying why) when this machine has no usable adapter.
fn gpu(data: &Arc<Dataset>, opts: GpuOptions) -> Option<GpuEvaluator> {
    match GpuEvaluator::with_options(data.clone(), opts) {
        Ok(g) => Some(g),
        Err(e) if std::env::var("WANN_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
            panic!("WANN_REQUIRE_GPU=1 but the GPU evaluator cannot start: {e}")
        }
        Err(e) => {
            common::skip(&format!("no usable GPU adapter ({e}); set WANN_REQUIRE_GPU=1 to fail instead"));
            None
        }
    }
}

/// The default options with wgpu's runtime bounds checks kept in every kernel (release builds
/// otherwise run the on-chip kernel trusted; `trusted_and_checked_modules_agree` covers that one).
fn checked() -> GpuOptions {
    GpuOptions { runtime_checks: true, ..GpuOptions::default() }
}

/// Genomes of every shape: wide fan-in, deep chains, nodes without inputs, every activation.
fn random_genomes(seed: u64, n: usize) -> Vec<Genome> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|k| {
            let (hidden, conns, chain) = match k % 4 {
                0 => (0, 150, false),
                1 => (20, 400, false),
                2 => (40, 120, true),
                _ => (60, 40, false),
            };
            common::random_genome(&mut rng, 256, 10, hidden, conns, chain)
        })
        .collect()
}

/// GPU against the CPU evaluator and the reference. Pairs whose reference result moves by more than
/// 1e-6 relative when its node values are rounded to f32 are chaotic (see tests/evaluators.rs):
/// held to 2e-2 and must be rare. Well-conditioned pairs: 1e-5 relative to the CPU evaluator (same
/// f32 operations, different summation order) and 1e-4 to the reference. Correct counts equal the
/// CPU's except through exact ties (a handful at most).
fn check(genomes: &[Genome], data: &Arc<Dataset>, indices: &[u32], gpu_eval: &Evaluation, label: &str) {
    let programs: Vec<_> = genomes.iter().map(|g| compile(g).unwrap()).collect();
    let cpu = CpuEvaluator::new(data.clone())
        .evaluate(&Programs::pack(&programs), &TRAINING_WEIGHTS, indices)
        .unwrap();
    let (mut worst_cpu, mut worst_ref, mut chaotic_pairs, mut count_diffs, mut both_off) =
        (0.0f64, 0.0f64, 0, 0, 0);
    for (g, genome) in genomes.iter().enumerate() {
        let exact = reference::evaluate(genome, &TRAINING_WEIGHTS, data, indices).unwrap();
        let rounded = reference::evaluate_with(genome, &TRAINING_WEIGHTS, data, indices, true).unwrap();
        for (w, (e, r)) in exact.iter().zip(&rounded).enumerate() {
            let (gv, cv) = (gpu_eval.get(g, w), cpu.get(g, w));
            assert!(gv.ce_sum.is_finite(), "{label}: genome {g} weight {w}: GPU cross-entropy {}", gv.ce_sum);
            let scale = e.ce_sum.abs().max(indices.len() as f64);
            let chaotic = (r.ce_sum - e.ce_sum).abs() > 1e-6 * scale;
            chaotic_pairs += chaotic as usize;
            let (d_cpu, d_ref) =
                ((gv.ce_sum - cv.ce_sum).abs() / scale, (gv.ce_sum - e.ce_sum).abs() / scale);
            let (tol_cpu, tol_ref) = if chaotic { (2e-2, 2e-2) } else { (1e-5, 1e-4) };
            // Where the CPU evaluator itself is off the reference (an exact tie at a step or relu
            // kink broken differently by f32 summation, which f32 storage in the reference does
            // not show), the GPU must be as close as the CPU.
            let cpu_off = (cv.ce_sum - e.ce_sum).abs() / scale;
            let like_cpu = cpu_off > tol_ref && d_ref <= cpu_off + 1e-5;
            both_off += like_cpu as usize;
            if !chaotic {
                worst_cpu = worst_cpu.max(d_cpu);
                if !like_cpu {
                    worst_ref = worst_ref.max(d_ref);
                }
            }
            assert!(
                d_cpu <= tol_cpu && (d_ref <= tol_ref || like_cpu),
                "{label}: genome {g} weight {w}: GPU {} vs CPU {} vs reference {} (chaotic: {chaotic})",
                gv.ce_sum,
                cv.ce_sum,
                e.ce_sum
            );
            let diff = (gv.correct as i64 - cv.correct as i64).unsigned_abs();
            count_diffs += diff;
            assert!(
                diff <= 2 || chaotic,
                "{label}: genome {g} weight {w}: GPU {} vs CPU {} correct",
                gv.correct,
                cv.correct
            );
        }
    }
    let pairs = genomes.len() * TRAINING_WEIGHTS.len();
    assert!(chaotic_pairs * 10 <= pairs, "{label}: {chaotic_pairs} of {pairs} pairs chaotic: not a test");
    assert!(
        both_off * 50 <= pairs,
        "{label}: {both_off} of {pairs} pairs off the reference on CPU and GPU alike"
    );
    eprintln!(
        "{label}: worst relative cross-entropy difference {worst_cpu:.2e} to CPU, {worst_ref:.2e} to reference \
         (well-conditioned pairs); {chaotic_pairs} of {pairs} chaotic; {both_off} off the reference like the CPU; \
         correct-count differences to CPU {count_diffs}"
    );
}

#[test]
fn gpu_matches_cpu_and_reference_on_random_genomes_and_a_real_minibatch() {
    let data = mnist_test!();
    let Some(mut gpu) = gpu(&data, checked()) else { return };
    eprintln!("{}", gpu.summary());
    let genomes = random_genomes(21, 200);
    let programs: Vec<_> = genomes.iter().map(|g| compile(g).unwrap()).collect();
    // A minibatch drawn as the search draws it (not a multiple of 64: the last tile is partial).
    let indices = minibatch::draw(5, 0, data.len(), 250);
    let t = Instant::now();
    let r = gpu.evaluate(&Programs::pack(&programs), &TRAINING_WEIGHTS, &indices).unwrap();
    eprintln!("GPU: 200 genomes x 6 weights x 250 images in {:.2?}", t.elapsed());
    assert_eq!((r.n_programs, r.n_weights, r.n_examples), (200, 6, 250));
    check(&genomes, &data, &indices, &r, "random genomes");
    // The same evaluator again on a different batch size (buffers are reused or grown).
    let small = &indices[..70];
    let again = gpu.evaluate(&Programs::pack(&programs[..20]), &TRAINING_WEIGHTS, small).unwrap();
    check(&genomes[..20], &data, small, &again, "second batch");
}

#[test]
fn predictions_match_cpu_on_test_images() {
    let data = mnist_test!();
    let Some(mut gpu) = gpu(&data, checked()) else { return };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    let g = common::random_genome(&mut rng, 256, 10, 30, 600, false);
    let p = compile(&g).unwrap();
    let indices: Vec<u32> = (0..2000).collect();
    let weights = [-1.5f32, 0.5, 2.0];
    let got = gpu.predict(&p, &weights, &indices, true).unwrap();
    let want = CpuEvaluator::new(data.clone()).predict(&p, &weights, &indices, true).unwrap();
    assert_eq!(got.classes.len(), want.classes.len());
    let (gpu_out, cpu_out) = (got.outputs.as_ref().unwrap(), want.outputs.as_ref().unwrap());
    let mut differing = 0;
    for (e, (a, b)) in got.classes.iter().zip(&want.classes).enumerate() {
        let (go, co) = (&gpu_out[e * 10..e * 10 + 10], &cpu_out[e * 10..e * 10 + 10]);
        for (x, y) in go.iter().zip(co) {
            assert!((x - y).abs() <= 1e-4 * y.abs().max(1.0), "example {e}: output {x} vs {y}");
        }
        if a != b {
            // Only a tie (to f32 rounding) between the two classes may differ.
            let (x, y) = (co[*a as usize], co[*b as usize]);
            assert!((x - y).abs() <= 1e-5 * x.abs().max(1.0), "example {e}: class {a} vs {b} ({x} vs {y})");
            differing += 1;
        }
    }
    assert!(differing <= 2, "{differing} predictions differ");
    // Predictions and evaluation agree on the GPU.
    let ev = gpu.evaluate(&Programs::pack([&p]), &weights, &indices).unwrap();
    for w in 0..weights.len() {
        let correct =
            got.for_weight(w).iter().zip(&indices).filter(|(c, &i)| **c == data.labels[i as usize]).count();
        assert_eq!(correct as u32, ev.get(0, w).correct);
    }
    let no_outputs = gpu.predict(&p, &weights, &indices[..100], false).unwrap();
    assert!(no_outputs.outputs.is_none());
    assert_eq!(no_outputs.for_weight(1), &got.for_weight(1)[..100]);
}

#[test]
fn large_grids_are_split_not_truncated() {
    let data = mnist_test!();
    let Some(mut whole) = gpu(&data, checked()) else { return };
    // Two workgroups per dimension, 128 examples per pass, 140 kB per binding: many dispatches,
    // three passes and two program groups.
    let opts = GpuOptions {
        max_workgroups_per_dimension: Some(2),
        max_examples_per_pass: Some(128),
        max_binding_bytes: Some(140_000),
        ..checked()
    };
    let Some(mut split) = gpu(&data, opts) else { return };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let programs: Vec<_> = (0..40)
        .map(|k| compile(&common::random_genome(&mut rng, 256, 10, 30, 1500 - 10 * k, false)).unwrap())
        .collect();
    let packed = Programs::pack(&programs);
    assert!(packed.edges.len() * 4 > 140_000, "the programs must not fit one binding");
    let indices = minibatch::draw(1, 2, data.len(), 300);
    let a = whole.evaluate(&packed, &TRAINING_WEIGHTS, &indices).unwrap();
    let b = split.evaluate(&packed, &TRAINING_WEIGHTS, &indices).unwrap();
    let cpu = CpuEvaluator::new(data.clone()).evaluate(&packed, &TRAINING_WEIGHTS, &indices).unwrap();
    for (i, ((x, y), c)) in a.stats.iter().zip(&b.stats).zip(&cpu.stats).enumerate() {
        assert_eq!(x.correct, y.correct, "pair {i}: correct counts must not depend on the split");
        assert!((x.ce_sum - y.ce_sum).abs() <= 1e-5 * x.ce_sum.abs().max(1.0), "pair {i}: {x:?} vs {y:?}");
        assert!(
            (c.ce_sum - y.ce_sum).abs() <= 1e-4 * c.ce_sum.abs().max(300.0),
            "pair {i}: CPU {c:?} vs split {y:?}"
        );
    }
    let p = &programs[0];
    let pa = whole.predict(p, &TRAINING_WEIGHTS, &indices, true).unwrap();
    let pb = split.predict(p, &TRAINING_WEIGHTS, &indices, true).unwrap();
    assert_eq!(pa, pb, "predictions must not depend on the split");
}

#[test]
fn programs_over_the_size_cap_are_evaluated_on_the_cpu() {
    let data = mnist_test!();
    let opts = GpuOptions { max_ops: 48, ..checked() };
    let Some(mut gpu) = gpu(&data, opts) else { return };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(10);
    // 60-node chains (70 ops) mixed with small networks (at most 30 ops).
    let genomes: Vec<_> = (0..12)
        .map(|k| {
            let big = k % 3 == 0;
            common::random_genome(&mut rng, 256, 10, if big { 60 } else { 20 }, 200, big)
        })
        .collect();
    let programs: Vec<_> = genomes.iter().map(|g| compile(g).unwrap()).collect();
    assert!(programs.iter().any(|p| p.ops.len() > 48) && programs.iter().any(|p| p.ops.len() <= 48));
    let indices: Vec<u32> = (0..200).collect();
    let r = gpu.evaluate(&Programs::pack(&programs), &TRAINING_WEIGHTS, &indices).unwrap();
    check(&genomes, &data, &indices, &r, "over the cap");
    let big = programs.iter().find(|p| p.ops.len() > 48).unwrap();
    let got = gpu.predict(big, &TRAINING_WEIGHTS, &indices, false).unwrap();
    let want = CpuEvaluator::new(data.clone()).predict(big, &TRAINING_WEIGHTS, &indices, false).unwrap();
    assert_eq!(got, want, "an oversized program is predicted by the CPU evaluator");
}

/// `hidden` hidden nodes, all live: each reads the bias, three pixels and one earlier hidden node,
/// and feeds one output.
fn wide_genome(rng: &mut impl rand::Rng, hidden: u32) -> Genome {
    use wann::genome::{Activation, ConnGene, HiddenNode};
    let mut g = Genome::empty(256, 10);
    let (first, first_output) = (g.fixed_node_count(), g.first_output_id());
    let add = |g: &mut Genome, src: u32, dst: u32| {
        if !g.conns.iter().rev().take(8).any(|c| c.src == src && c.dst == dst) {
            let innovation = g.conns.len() as u64;
            g.conns.push(ConnGene { innovation, src, dst, enabled: true });
        }
    };
    for k in 0..hidden {
        let id = first + k;
        let activation = Activation::ALL[rng.random_range(0..Activation::ALL.len())];
        g.hidden.push(HiddenNode { id, activation });
        for src in [0, rng.random_range(1..=256), rng.random_range(1..=256), rng.random_range(1..=256)] {
            add(&mut g, src, id);
        }
        if k > 0 {
            add(&mut g, first + rng.random_range(0..k), id);
        }
        add(&mut g, id, first_output + k % 10);
    }
    g
}

#[test]
fn big_programs_run_on_the_gpu() {
    let data = mnist_test!();
    let Some(mut gpu) = gpu(&data, checked()) else { return };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(16);
    // About 400 and 3000 live ops: large scratch blocks, fewer workgroups per dispatch. (On lavapipe
    // the larger one exceeds llvmpipe's loop-iteration limit and is evaluated on the CPU.)
    let programs: Vec<_> = std::env::var("BIGSIZES")
        .map_or(vec![400, 3000], |v| v.split(',').map(|x| x.parse().unwrap()).collect())
        .iter()
        .map(|&hidden| compile(&wide_genome(&mut rng, hidden)).unwrap())
        .collect();
    let sizes: Vec<usize> = programs.iter().map(|p| p.ops.len()).collect();
    assert!(sizes[0] > 256 && sizes[1] > 2048, "op counts {sizes:?}");
    let indices: Vec<u32> = (0..100).collect();
    for p in &programs {
        let t = Instant::now();
        let r = gpu.evaluate(&Programs::pack([p]), &TRAINING_WEIGHTS, &indices).unwrap();
        eprintln!("{} ops: {:.2?}", p.ops.len(), t.elapsed());
        let c = CpuEvaluator::new(data.clone())
            .evaluate(&Programs::pack([p]), &TRAINING_WEIGHTS, &indices)
            .unwrap();
        for (w, (a, b)) in r.stats.iter().zip(&c.stats).enumerate() {
            assert!(
                (a.ce_sum - b.ce_sum).abs() <= 1e-4 * b.ce_sum.abs().max(100.0),
                "weight {w}: {a:?} vs {b:?}"
            );
            assert!(a.correct.abs_diff(b.correct) <= 2, "weight {w}: {a:?} vs {b:?}");
        }
    }
    // Many weight values: on lavapipe the loops of one thread would be cut short (this once gave
    // wrong sums from the 39th weight on); the program must be routed to the CPU there.
    let many = [0.5f32; 40];
    let r = gpu.evaluate(&Programs::pack([&programs[0]]), &many, &indices[..10]).unwrap();
    let c = CpuEvaluator::new(data.clone())
        .evaluate(&Programs::pack([&programs[0]]), &many, &indices[..10])
        .unwrap();
    for (a, b) in r.stats.iter().zip(&c.stats) {
        assert!((a.ce_sum - b.ce_sum).abs() <= 1e-4 * b.ce_sum.abs().max(10.0), "{a:?} vs {b:?}");
    }
}

#[test]
fn bad_requests_are_clear_errors() {
    let data = mnist_test!();
    let Some(mut gpu) = gpu(&data, checked()) else { return };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    let p = compile(&common::random_genome(&mut rng, 256, 10, 5, 50, false)).unwrap();
    let err = gpu.evaluate(&Programs::pack([&p]), &[1.0], &[0, 10_000]).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)) && err.to_string().contains("10000"), "{err}");
    let wrong = compile(&common::random_genome(&mut rng, 16, 10, 5, 50, false)).unwrap();
    let err = gpu.predict(&wrong, &[1.0], &[0], false).unwrap_err();
    assert!(err.to_string().contains("16 inputs"), "{err}");
    // Empty requests are answered without touching the GPU.
    let r = gpu.evaluate(&Programs::pack([&p]), &[1.0, 2.0], &[]).unwrap();
    assert_eq!(r.stats.len(), 2);
    assert_eq!(gpu.evaluate(&Programs::default(), &[1.0], &[0]).unwrap().stats.len(), 0);
    // The evaluator still works after refusing.
    let ok = gpu.evaluate(&Programs::pack([&p]), &[1.0], &[0, 1, 2]).unwrap();
    assert_eq!(ok.n_examples, 3);
}

#[test]
fn a_lost_device_is_an_error_not_a_panic() {
    let data = mnist_test!();
    let Some(mut gpu) = gpu(&data, checked()) else { return };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
    let p = compile(&common::random_genome(&mut rng, 256, 10, 5, 50, false)).unwrap();
    gpu.evaluate(&Programs::pack([&p]), &[1.0], &[0, 1]).unwrap();
    gpu.simulate_device_loss();
    let err = gpu.evaluate(&Programs::pack([&p]), &[1.0], &[0, 1]).unwrap_err();
    eprintln!("after device loss: {err}");
    assert!(matches!(err, Error::Gpu(_)) && err.to_string().contains("on the CPU"), "{err}");
    let err = gpu.predict(&p, &[1.0], &[0, 1], false).unwrap_err();
    assert!(matches!(err, Error::Gpu(_)) && err.to_string().contains("lost"), "{err}");
}

#[test]
fn backend_choice_says_what_it_chose() {
    let data = Arc::new(mnist_test!().as_ref().clone().truncated(100));
    let (_, why) = backend::open(Backend::Cpu, data.clone()).unwrap();
    assert!(why.contains("cpu"), "{why}");
    let (auto, why) = backend::open(Backend::Auto, data.clone()).unwrap();
    eprintln!("{why}");
    assert!(why.contains("auto"), "{why}");
    match wann::eval::gpu::best_adapter() {
        Some(info) if info.device_type == wgpu::DeviceType::Cpu => {
            assert!(auto.describe().starts_with("cpu"), "auto must not pick a software adapter: {why}")
        }
        Some(_) => assert!(auto.describe().starts_with("gpu"), "{why}"),
        None => assert!(why.contains("no GPU adapter"), "{why}"),
    }
    match backend::open(Backend::Gpu, data) {
        Ok((g, why)) => assert!(g.describe().starts_with("gpu") && why.contains("limits"), "{why}"),
        Err(e) => {
            assert!(std::env::var("WANN_REQUIRE_GPU").map_or(true, |v| v != "1"), "{e}");
            assert!(matches!(e, Error::Gpu(_)) && e.to_string().contains("on the CPU"), "{e}");
        }
    }
}

/// A network that does something: output c sums the pixels that are brighter in class c than on
/// average (template matching with the shared weight).
fn template_genome(data: &Dataset) -> Genome {
    let mut mean = vec![[0.0f64; 256]; 11];
    let mut count = [0usize; 11];
    for i in 0..data.len() {
        for c in [data.labels[i] as usize, 10] {
            count[c] += 1;
            for (m, &x) in mean[c].iter_mut().zip(data.input(i)) {
                *m += x as f64;
            }
        }
    }
    let mut g = Genome::empty(256, 10);
    for c in 0..10 {
        for (p, (&m, &all)) in mean[c].iter().zip(&mean[10]).enumerate() {
            if m / count[c] as f64 > all / count[10] as f64 + 0.1 {
                let innovation = g.conns.len() as u64;
                let dst = g.first_output_id() + c as u32;
                g.conns.push(wann::genome::ConnGene { innovation, src: 1 + p as u32, dst, enabled: true });
            }
        }
    }
    g
}

/// `wann eval --backend gpu` and `--backend cpu` give the same accuracies on the 10,000 test images.
#[test]
fn cli_eval_gpu_matches_cpu_on_the_test_set() {
    let data = mnist_test!();
    if gpu(&data, checked()).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.json");
    wann::genome::save(&template_genome(&data), &path).unwrap();
    let run = |backend: &str| -> serde_json::Value {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wann"))
            .args(["eval", "--json", "--backend", backend, "--data"])
            .arg(common::try_mnist_dir().expect("found above"))
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "wann eval --backend {backend}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (g, c) = (run("gpu"), run("cpu"));
    let (g, c) = (&g["report"], &c["report"]);
    assert!(g["evaluator"].as_str().unwrap().starts_with("gpu"), "{g}");
    assert_eq!(g["examples"], 10_000);
    for (a, b) in g["per_weight"].as_array().unwrap().iter().zip(c["per_weight"].as_array().unwrap()) {
        let (ga, ca) = (a["accuracy"].as_f64().unwrap(), b["accuracy"].as_f64().unwrap());
        eprintln!("weight {}: accuracy gpu {ga} cpu {ca}", a["weight"]);
        assert!((ga - ca).abs() <= 1e-4, "weight {}: accuracy {ga} on the GPU, {ca} on the CPU", a["weight"]);
        let (gc, cc) = (a["mean_cross_entropy"].as_f64().unwrap(), b["mean_cross_entropy"].as_f64().unwrap());
        assert!(
            (gc - cc).abs() <= 1e-5 * cc.abs().max(1.0),
            "weight {}: cross-entropy {gc} vs {cc}",
            a["weight"]
        );
    }
}

/// Throughput in one run: the on-chip kernel, the scratch kernel alone (the evaluator before the
/// on-chip kernel), and the CPU, on `wann bench`'s grown start-, mid- and champion-sized networks
/// (population 32, 6 weights, 500 images; `WANN_THROUGHPUT_POPULATION` and `WANN_THROUGHPUT_SIZES`,
/// e.g. `champion`, to change). On lavapipe, which
/// is no GPU, only a sanity check. Run with
/// `cargo test --release --test gpu -- --ignored --nocapture throughput`.
#[test]
#[ignore]
fn throughput() {
    use wann::bench::{self, BenchConfig, Size};
    let data = mnist_test!();
    let Some(mut onchip) = gpu(&data, GpuOptions::default()) else { return };
    let Some(mut scratch) = gpu(&data, GpuOptions { onchip: false, ..GpuOptions::default() }) else { return };
    // The other edge-loop form from the default's (unrolled on hardware, rolled on llvmpipe).
    let unrolled = onchip.summary().contains("llvmpipe");
    let other = GpuOptions { unroll_edges: Some(unrolled), ..GpuOptions::default() };
    let Some(mut other_loop) = gpu(&data, other) else { return };
    let other_name = if unrolled { "gpu on-chip unroll" } else { "gpu on-chip rolled" };
    let mut cpu = CpuEvaluator::new(data.clone());
    let population = std::env::var("WANN_THROUGHPUT_POPULATION").map_or(32, |v| v.parse().unwrap());
    let cfg = BenchConfig { population, minibatch: 500, test_images: 0, distinct: 4, ..Default::default() };
    let sizes: Vec<Size> = match std::env::var("WANN_THROUGHPUT_SIZES") {
        Ok(names) => Size::standard().into_iter().filter(|s| names.split(',').any(|n| n == s.name)).collect(),
        Err(_) => Size::standard(),
    };
    let workloads = bench::workloads(&cfg, &sizes, &data).unwrap();
    for w in workloads.iter().filter(|w| w.images.len() == 500) {
        let evaluators: [(&str, &mut dyn Evaluator); 4] = [
            ("gpu on-chip", &mut onchip),
            (other_name, &mut other_loop),
            ("gpu scratch only", &mut scratch),
            ("cpu", &mut cpu),
        ];
        for (name, ev) in evaluators {
            let m = bench::measure(ev, name, w, &cfg.weights, 1, 2, false).unwrap();
            eprintln!(
                "{:<28} {name:<17} {:>8.3} s  {:.3e} edge-evals/s  kernels {:?}",
                w.name, m.seconds.median, m.edge_evaluations_per_second, m.kernel_seconds
            );
        }
    }
}

/// Networks as the search grows them: the initial population, mid-sized and champion-sized ones.
fn grown_programs() -> Vec<wann::program::Program> {
    use wann::evolve::{config::SearchConfig, search::Search};
    let start = Search::new(SearchConfig { population: 4, seed: 3, ..Default::default() }, 256, 10).unwrap();
    let mut out: Vec<_> = start.state.population.iter().map(|g| compile(g).unwrap()).collect();
    for (seed, conns, hidden) in [(1, 800, 150), (2, 800, 150), (3, 1850, 400), (4, 1850, 400)] {
        out.push(compile(&wann::workload::grown_network(seed, 256, 10, conns, hidden)).unwrap());
    }
    out
}

/// Cross-entropy within 1e-5 (relative, at least per image) and correct counts within 2 of `want`.
fn assert_close(got: &Evaluation, want: &Evaluation, label: &str) {
    for (i, (a, b)) in got.stats.iter().zip(&want.stats).enumerate() {
        let scale = b.ce_sum.abs().max(got.n_examples as f64);
        assert!((a.ce_sum - b.ce_sum).abs() <= 1e-5 * scale, "{label}: pair {i}: {a:?} vs {b:?}");
        assert!(a.correct.abs_diff(b.correct) <= 2, "{label}: pair {i}: {a:?} vs {b:?}");
    }
}

#[test]
fn onchip_kernel_matches_cpu_on_grown_networks_in_every_variant() {
    let data = mnist_test!();
    let Some(mut onchip) = gpu(&data, checked()) else { return };
    let programs = grown_programs();
    let slots: Vec<u32> = programs.iter().map(|p| p.slot_map().n_slots).collect();
    eprintln!("value slots: {slots:?}; ops: {:?}", programs.iter().map(|p| p.ops.len()).collect::<Vec<_>>());
    let packed = Programs::pack(&programs);
    let indices = minibatch::draw(4, 0, data.len(), 100);
    let cpu = CpuEvaluator::new(data.clone()).evaluate(&packed, &TRAINING_WEIGHTS, &indices).unwrap();
    let r = onchip.evaluate(&packed, &TRAINING_WEIGHTS, &indices).unwrap();
    let mut r_default = r.clone();
    assert_eq!(onchip.kernel_use(), KernelUse { onchip: programs.len(), ..Default::default() });
    assert_close(&r, &cpu, "on-chip");
    // 16 KB of workgroup memory: fewer weights per lane, 32 lanes, and the scratch kernel for
    // programs over 126 slots.
    let Some(mut small) = gpu(&data, GpuOptions { max_workgroup_storage: Some(16_384), ..checked() }) else {
        return;
    };
    let r = small.evaluate(&packed, &TRAINING_WEIGHTS, &indices).unwrap();
    let over = slots.iter().filter(|&&s| s > 16_384 / 128 - 2).count();
    assert!(over > 0 && over < programs.len(), "slots {slots:?}");
    assert_eq!(
        small.kernel_use(),
        KernelUse { onchip: programs.len() - over, scratch: over, ..Default::default() }
    );
    assert_close(&r, &cpu, "16 KB");
    // Odd weight counts: the last block of weights per lane is partial.
    let weights = [-1.5f32, -0.25, 0.75, 1.25, 2.0];
    let want = CpuEvaluator::new(data.clone()).evaluate(&packed, &weights, &indices).unwrap();
    assert_close(&onchip.evaluate(&packed, &weights, &indices).unwrap(), &want, "5 weights");
    // Both forms of the edge loop give the same results (same additions in the same order).
    for unroll in [false, true] {
        let Some(mut g) = gpu(&data, GpuOptions { unroll_edges: Some(unroll), ..checked() }) else { return };
        let again = g.evaluate(&packed, &TRAINING_WEIGHTS, &indices).unwrap();
        assert_close(&again, &cpu, "unroll");
        if unroll {
            assert_eq!(again, r_default, "unrolled and rolled edge loops must agree exactly");
        } else {
            r_default = again;
        }
    }
    // The scratch kernel alone agrees too.
    let Some(mut scratch) = gpu(&data, GpuOptions { onchip: false, ..checked() }) else { return };
    let r = scratch.evaluate(&packed, &TRAINING_WEIGHTS, &indices).unwrap();
    assert_eq!(scratch.kernel_use(), KernelUse { scratch: programs.len(), ..Default::default() });
    assert_close(&r, &cpu, "scratch kernel");
}

#[test]
fn trusted_and_checked_modules_agree() {
    let data = mnist_test!();
    let Some(mut checked_gpu) = gpu(&data, checked()) else { return };
    let Some(mut trusted) = gpu(&data, GpuOptions { runtime_checks: false, ..GpuOptions::default() }) else {
        return;
    };
    let genomes = random_genomes(5, 24);
    let programs: Vec<_> = genomes.iter().map(|g| compile(g).unwrap()).collect();
    let packed = Programs::pack(&programs);
    let indices = minibatch::draw(6, 0, data.len(), 90);
    let a = checked_gpu.evaluate(&packed, &TRAINING_WEIGHTS, &indices).unwrap();
    let b = trusted.evaluate(&packed, &TRAINING_WEIGHTS, &indices).unwrap();
    assert_eq!(trusted.kernel_use().onchip, programs.len());
    assert_eq!(a, b, "bounds checks must not change any result");
    // A malformed program is refused before it reaches the unchecked kernel.
    let mut bad = packed.clone();
    let last = bad.edges.len() - 1;
    bad.edges[last] = 100_000;
    let err = trusted.evaluate(&bad, &TRAINING_WEIGHTS, &indices).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)) && err.to_string().contains("malformed program"), "{err}");
    // So is one handed in as a child, before any delta is planned from it.
    let mut parents = vec![None; bad.len()];
    parents[bad.len() - 1] = Some(0);
    let err = trusted.evaluate_with_parents(&bad, &parents, &TRAINING_WEIGHTS, &indices).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)) && err.to_string().contains("malformed program"), "{err}");
}

/// Children of bred generations run as deltas of their parents on the GPU: results agree with the
/// CPU evaluator, and equal the GPU's own full evaluation exactly on lavapipe (the same float
/// operations on the same values); so do they when the family value table is too small for every
/// family's rows at once (families take turns in chunks) or for some family's alone (its children
/// run in full).
#[test]
fn children_run_as_deltas_on_the_gpu() {
    use wann::bench::{generation_workloads, BenchConfig, Size};
    let data = mnist_test!();
    let Some(mut gpu_eval) = gpu(&data, checked()) else { return };
    let lavapipe = gpu_eval.describe().to_lowercase().contains("llvmpipe");
    let cfg = BenchConfig { population: 48, minibatch: 150, distinct: 6, seed: 2, ..BenchConfig::default() };
    let sizes = [
        Size { name: "start".into(), connections: 0, hidden: 0 },
        Size { name: "mid".into(), connections: 600, hidden: 100 },
    ];
    let mut cpu = CpuEvaluator::new(data.clone());
    for w in generation_workloads(&cfg, &sizes, &data).unwrap() {
        let parents = w.parents.as_ref().unwrap();
        let want = cpu.evaluate(&w.programs, &TRAINING_WEIGHTS, &w.images).unwrap();
        let full = gpu_eval.evaluate(&w.programs, &TRAINING_WEIGHTS, &w.images).unwrap();
        assert_eq!(gpu_eval.kernel_use().deltas, 0);
        let got = gpu_eval.evaluate_with_parents(&w.programs, parents, &TRAINING_WEIGHTS, &w.images).unwrap();
        let used = gpu_eval.kernel_use();
        assert_eq!(gpu_eval.last_deltas().iter().filter(|&&d| d).count(), used.deltas + used.copies);
        eprintln!("{}: {used:?}", w.name);
        let children = parents.iter().filter(|p| p.is_some()).count();
        // Every child is either a delta or a copy of its parent.
        assert!(
            used.deltas > 0 && used.deltas + used.copies == children,
            "{}: {used:?}, {children} children",
            w.name
        );
        assert_eq!(used.onchip + used.scratch + used.cpu + used.copies, w.programs.len(), "{used:?}");
        assert_close(&got, &want, &w.name);
        if lavapipe {
            assert_eq!(got, full, "{}: deltas and full evaluation differ on lavapipe", w.name);
        }
        // Other shapes of the same work, each against the CPU and, on lavapipe, exactly against
        // a full evaluation with the same options: families taking turns in a table of half the
        // rows at 192 images (150 rounded up to whole tiles), every child still a delta; a table
        // smaller than some families' rows, whose children then run in full; passes of 128 images
        // and small bindings (chunks, passes and several submissions); the trusted module of
        // release builds; 8 KB of workgroup memory (parents on no on-chip variant, their children in
        // full); deltas off.
        assert_eq!(used.family_chunks, 1);
        let rows_bytes = |rows: usize| Some(rows as u64 * 192 * TRAINING_WEIGHTS.len() as u64 * 4);
        let small_passes =
            GpuOptions { max_examples_per_pass: Some(128), max_binding_bytes: Some(140_000), ..checked() };
        let variants = [
            ("half table", GpuOptions { max_table_bytes: rows_bytes(used.table_rows / 2), ..checked() }),
            ("eighth table", GpuOptions { max_table_bytes: rows_bytes(used.table_rows / 8), ..checked() }),
            ("passes of 128", small_passes),
            ("trusted", GpuOptions { runtime_checks: false, ..GpuOptions::default() }),
            ("8 KB", GpuOptions { max_workgroup_storage: Some(8_192), ..checked() }),
            ("deltas off", GpuOptions { deltas: false, ..checked() }),
        ];
        for (label, opts) in variants {
            let Some(mut g) = gpu(&data, opts) else { return };
            let full = g.evaluate(&w.programs, &TRAINING_WEIGHTS, &w.images).unwrap();
            let got = g.evaluate_with_parents(&w.programs, parents, &TRAINING_WEIGHTS, &w.images).unwrap();
            let u = g.kernel_use();
            eprintln!("{}, {label}: {u:?}", w.name);
            assert_eq!(u.onchip + u.scratch + u.cpu + u.copies, w.programs.len(), "{label}: {u:?}");
            assert_eq!(g.last_deltas().iter().filter(|&&d| d).count(), u.deltas + u.copies, "{label}");
            match label {
                "half table" => assert!(u.deltas == used.deltas && u.family_chunks > 1, "{u:?}"),
                "eighth table" => assert!(u.deltas < used.deltas && u.table_rows <= used.table_rows / 8),
                "passes of 128" => assert!(w.name.starts_with("bred start") || u.family_chunks > 1, "{u:?}"),
                "8 KB" => assert!(w.name.starts_with("bred start") || u.scratch > 0, "{u:?}"),
                "deltas off" => assert_eq!(u.deltas + u.copies, 0),
                _ => assert!(u.deltas > 0, "{label}: {u:?}"),
            }
            assert_close(&got, &want, &format!("{}, {label}", w.name));
            if lavapipe {
                assert_eq!(got, full, "{}, {label}: deltas and full evaluation differ", w.name);
            }
        }
    }
}

/// Champion-sized children (about 1,850 connections, cones reading hundreds of parent values) as
/// deltas, at two weight values: few enough that lavapipe's loop limit lets their parents run with
/// all their stores on the on-chip kernel (at six it does not; see BENCHMARKS.md).
#[test]
fn champion_sized_children_run_as_deltas_on_the_gpu() {
    use wann::bench::{generation_workloads, BenchConfig, Size};
    let data = mnist_test!();
    let Some(mut g) = gpu(&data, checked()) else { return };
    let lavapipe = g.describe().to_lowercase().contains("llvmpipe");
    let cfg = BenchConfig { population: 24, minibatch: 64, distinct: 4, seed: 5, ..BenchConfig::default() };
    let sizes = [Size { name: "champion".into(), connections: 1850, hidden: 400 }];
    let w = generation_workloads(&cfg, &sizes, &data).unwrap().pop().unwrap();
    let weights = [-1.5f32, 0.5];
    let parents = w.parents.as_ref().unwrap();
    let want = CpuEvaluator::new(data.clone()).evaluate(&w.programs, &weights, &w.images).unwrap();
    let full = g.evaluate(&w.programs, &weights, &w.images).unwrap();
    let got = g.evaluate_with_parents(&w.programs, parents, &weights, &w.images).unwrap();
    let u = g.kernel_use();
    eprintln!("{}: {u:?}", w.name);
    assert!(u.deltas > 0 && u.table_rows > 100, "{u:?}");
    assert_eq!(u.onchip + u.scratch + u.cpu + u.copies, w.programs.len(), "{u:?}");
    assert_close(&got, &want, &w.name);
    if lavapipe {
        assert_eq!(got, full, "champion-sized deltas and full evaluation differ");
    }
}

/// A search on the GPU with children as deltas follows the same path as one without: on lavapipe
/// every generation's statistics are equal (the evaluations are); elsewhere the first two
/// generations (the second is the first with children), before any near-tie can rank networks
/// differently, agree within the GPU tolerance.
#[test]
fn a_gpu_search_with_deltas_follows_one_without() {
    use wann::evolve::{config::SearchConfig, search::Search, task::Classification};
    let data = Arc::new((*mnist_test!()).clone().truncated(2000));
    let Some(probe) = gpu(&data, checked()) else { return };
    let lavapipe = probe.describe().to_lowercase().contains("llvmpipe");
    drop(probe);
    let config = SearchConfig { population: 24, minibatch: 64, tournament: 4, seed: 5, ..Default::default() };
    let run = |deltas: bool| {
        let ev = gpu(&data, GpuOptions { deltas, ..checked() }).unwrap();
        let mut task = Classification::new(Box::new(ev), data.clone(), config.minibatch, config.seed);
        let mut search = Search::new(config.clone(), 256, 10).unwrap();
        (0..8).map(|_| search.step(&mut task).unwrap()).collect::<Vec<_>>()
    };
    let (with, without) = (run(true), run(false));
    for (g, (a, b)) in with.iter().zip(&without).enumerate() {
        if lavapipe {
            assert_eq!(
                (a.best_mean, a.median_mean, a.best_max, a.champion_fitness, a.median_connections),
                (b.best_mean, b.median_mean, b.best_max, b.champion_fitness, b.median_connections),
                "generation {g}"
            );
        } else if g <= 1 {
            // Generation 1 is the first with children; its population is the same in both runs.
            assert!((a.best_mean - b.best_mean).abs() <= 1e-5 * b.best_mean.abs().max(1.0), "{a:?} vs {b:?}");
        }
    }
}
