//! The cart-pole swing-up: physics against hand-worked steps, networks of our own through our
//! evaluator and through a plain f64 re-implementation of the reference (forward pass over the `.out`
//! matrix, its own physics) episode by episode, the zoo import worked by hand, trained weights from
//! the genome, thread independence, the CLI, and a tiny search that learns to swing the pole up.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;
use std::path::{Path, PathBuf};
use std::process::Command;
use wann::evolve::config::{Preset, SearchConfig};
use wann::evolve::search::Search;
use wann::genome::{Activation, ConnGene, Genome, HiddenNode, Semantics};
use wann::swingup::controller::{with_zoo_weights, zoo_weights, Controller};
use wann::swingup::physics::{start_state, start_states, EpisodeSet, State, MAX_STEPS};
use wann::swingup::rollout::{episode_return, returns, run_episode};
use wann::swingup::task::SwingUp;

fn conn(innovation: u64, src: u32, dst: u32, enabled: bool) -> ConnGene {
    ConnGene { innovation, src, dst, enabled }
}

/// A hand-made swing-up network under reference semantics: inputs 1..=5 are x, ẋ, cos θ, sin θ, θ̇,
/// the output is 6, hidden nodes 7-10 use several activations, and a disabled hidden -> hidden gene
/// (7 -> 8) that the reference semantics still expresses. Its genes are not in row-major order.
fn handmade() -> Genome {
    let hidden =
        [(7, Activation::Tanh), (8, Activation::Sin), (9, Activation::Gaussian), (10, Activation::Relu)];
    Genome {
        hidden: hidden.iter().map(|&(id, activation)| HiddenNode { id, activation }).collect(),
        conns: vec![
            conn(0, 4, 7, true),
            conn(1, 5, 7, true),
            conn(2, 0, 7, true),
            conn(3, 7, 8, false),
            conn(4, 2, 8, true),
            conn(5, 3, 9, true),
            conn(6, 8, 9, true),
            conn(7, 1, 10, true),
            conn(8, 9, 6, true),
            conn(9, 7, 6, true),
            conn(10, 10, 6, true),
            conn(11, 4, 6, true),
            conn(12, 1, 6, false),
        ],
        ..Genome::empty(5, 1).with_semantics(Semantics::Reference)
    }
}

/// A `.out` file of `genome` in `dir`.
fn write_out(genome: &Genome, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    wann::genome::save(genome, &path).unwrap();
    path
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn one_euler_step_by_hand() {
    // Upright (sin 0 = 0, cos 0 = 1), force 10 * 0.5 = 5:
    // x'' = (4*5 - 4*0.1*0.2) / (4*1 - 3*0.5) = 19.92 / 2.5 = 7.968
    // θ'' = 6*(5 - 0.1*0.2) / (4*0.6*1 - 3*0.3) = 29.88 / 1.5 = 19.92
    // positions move with the old velocities, then the velocities change.
    let s = State { x: 0.1, x_dot: 0.2, theta: 0.0, theta_dot: 1.0 }.step(0.5);
    let want = State { x: 0.102, x_dot: 0.2 + 0.07968, theta: 0.01, theta_dot: 1.0 + 0.1992 };
    for (got, want) in
        [(s.x, want.x), (s.x_dot, want.x_dot), (s.theta, want.theta), (s.theta_dot, want.theta_dot)]
    {
        assert!(close(got, want, 1e-14), "{s:?} vs {want:?}");
    }
    // Horizontal (sin = 1, cos = 0), action 3 clipped to 1, force 10:
    // x'' = (-2*0.3*1^2 + 4*10 - 4*0.1*(-0.5)) / 4 = (-0.6 + 40 + 0.2) / 4 = 9.9
    // θ'' = (6*1*9.82) / (4*0.6) = 24.55
    let s = State { x: -1.0, x_dot: -0.5, theta: PI / 2.0, theta_dot: 1.0 }.step(3.0);
    let want = State { x: -1.005, x_dot: -0.5 + 0.099, theta: PI / 2.0 + 0.01, theta_dot: 1.0 + 0.2455 };
    for (got, want) in
        [(s.x, want.x), (s.x_dot, want.x_dot), (s.theta, want.theta), (s.theta_dot, want.theta_dot)]
    {
        assert!(close(got, want, 1e-12), "{s:?} vs {want:?}");
    }
    // The action is clipped symmetrically: -7 pushes exactly like -1.
    let a = State { x: 0.0, x_dot: 0.0, theta: 1.0, theta_dot: 0.0 };
    assert_eq!(a.step(-7.0), a.step(-1.0));
    assert_ne!(a.step(-0.5), a.step(-1.0));
}

#[test]
fn reward_at_known_states() {
    let r = |x: f64, theta: f64| State { x, x_dot: 0.0, theta, theta_dot: 0.0 }.reward();
    assert_eq!(r(0.0, 0.0), 1.0); // upright in the middle
    assert_eq!(r(0.0, PI), 0.0); // hanging down
    assert!(close(r(0.0, PI / 2.0), 0.5, 1e-15));
    assert!(close(r(1.2, 0.0), 0.5f64.sqrt(), 1e-15)); // cos(π/4)
    assert!(close(r(0.0, 2.0 * PI), 1.0, 1e-15)); // θ is not wrapped, but cos is periodic
    assert!(r(2.4, 0.0).abs() < 1e-15); // the track's end
    assert!(close(r(-3.6, 0.0), -(0.5f64.sqrt()), 1e-15)); // not clipped beyond it
}

/// A network whose output is `w * bias`: with w = 2 it pushes right at full force, with w = 0 not at all.
fn constant_pusher() -> Genome {
    let mut g = Genome::empty(5, 1);
    g.conns.push(ConnGene { innovation: 0, src: 0, dst: 6, enabled: true });
    g
}

#[test]
fn episodes_end_after_the_step_that_leaves_the_track_and_that_step_counts() {
    assert!(!State { x: 2.4, x_dot: 0.0, theta: 0.0, theta_dot: 0.0 }.out_of_bounds());
    assert!(!State { x: -2.4, x_dot: 0.0, theta: 0.0, theta_dot: 0.0 }.out_of_bounds());
    let above = f64::from_bits(2.4f64.to_bits() + 1);
    assert!(State { x: above, x_dot: 0.0, theta: 0.0, theta_dot: 0.0 }.out_of_bounds());
    assert!(State { x: -above, x_dot: 0.0, theta: 0.0, theta_dot: 0.0 }.out_of_bounds());

    let net = Controller::from_genome(&constant_pusher(), None).unwrap();
    let start = State { x: 2.0, x_dot: 1.0, theta: PI, theta_dot: 0.0 };
    // By hand: step with full force until x > 2.4, summing every reward including the last one.
    let (mut s, mut total, mut n) = (start, 0.0, 0);
    loop {
        s = s.step(1.0);
        total += s.reward();
        n += 1;
        if s.x > 2.4 {
            break;
        }
    }
    assert!(s.reward() < 0.0, "beyond the end the reward is negative and still counts");
    let mut records = Vec::new();
    let got = run_episode(&net, 2.0, start, |r| records.push(*r));
    assert_eq!(records.len(), n);
    assert_eq!(got, total);
    assert_eq!(records.last().unwrap().state, s);
    // Without a push the cart stays on the track: exactly 1000 steps.
    let mut steps = 0;
    run_episode(&net, 0.0, State { x: 0.0, x_dot: 0.0, theta: PI, theta_dot: 0.0 }, |_| steps += 1);
    assert_eq!(steps, MAX_STEPS);
}

// ---- A plain re-implementation of the reference, straight from the `.out` matrix ----

struct MatrixNet {
    /// `conn[src][dst]`: None, or the cell's value (the connection's own weight, used only without a
    /// shared weight).
    conn: Vec<Vec<Option<f64>>>,
    act: Vec<u32>,
}

fn parse_out(path: &Path) -> MatrixNet {
    let text = std::fs::read_to_string(path).unwrap();
    let rows: Vec<Vec<f64>> =
        text.lines().map(|l| l.split(',').map(|c| c.trim().parse::<f64>().unwrap()).collect()).collect();
    let n = rows.len();
    MatrixNet {
        conn: rows
            .iter()
            .map(|r| r[..n].iter().map(|&v| (v != 0.0 && !v.is_nan()).then_some(v)).collect())
            .collect(),
        act: rows.iter().map(|r| r[n] as u32).collect(),
    }
}

fn act(id: u32, x: f64) -> f64 {
    match id {
        1 => x,
        2 => (x > 0.0) as u32 as f64,
        3 => (PI * x).sin(),
        4 => (-x * x / 2.0).exp(),
        5 => x.tanh(),
        6 => ((x / 2.0).tanh() + 1.0) / 2.0,
        7 => -x,
        8 => x.abs(),
        9 => x.max(0.0),
        10 => (PI * x).cos(),
        11 => x * x,
        _ => panic!("activation {id}"),
    }
}

impl MatrixNet {
    /// The reference's forward pass: bias 1, five inputs, then every node in row order takes the
    /// weighted sum of all earlier nodes: `w` on every connection, or each connection's own weight.
    fn forward(&self, obs: [f64; 5], w: Option<f64>) -> f64 {
        let n = self.act.len();
        let mut v = vec![0.0; n];
        v[0] = 1.0;
        v[1..6].copy_from_slice(&obs);
        for i in 6..n {
            let mut raw = 0.0;
            for (row, &value) in self.conn.iter().zip(&v) {
                if let Some(own) = row[i] {
                    raw += w.unwrap_or(own) * value;
                }
            }
            v[i] = act(self.act[i], raw);
        }
        v[n - 1]
    }

    fn episode(&self, start: State, w: Option<f64>) -> f64 {
        let (g, mc, mp, l, f, dt, b) = (9.82, 0.5, 0.5, 0.6, 10.0, 0.01, 0.1);
        let (mut x, mut xd, mut th, mut thd) = (start.x, start.x_dot, start.theta, start.theta_dot);
        let mut total = 0.0;
        for _ in 0..1000 {
            let obs = [x, xd, th.cos(), th.sin(), thd];
            let u = self.forward(obs, w).clamp(-1.0, 1.0) * f;
            let (s, c) = (th.sin(), th.cos());
            let xacc = (-2.0 * mp * l * thd * thd * s + 3.0 * mp * g * s * c + 4.0 * u - 4.0 * b * xd)
                / (4.0 * (mp + mc) - 3.0 * mp * c * c);
            let thacc =
                (-3.0 * mp * l * thd * thd * s * c + 6.0 * (mp + mc) * g * s + 6.0 * (u - b * xd) * c)
                    / (4.0 * l * (mp + mc) - 3.0 * mp * l * c * c);
            x += xd * dt;
            th += thd * dt;
            xd += xacc * dt;
            thd += thacc * dt;
            total += (th.cos() + 1.0) / 2.0 * (x / 2.4 * PI / 2.0).cos();
            if x.abs() > 2.4 {
                break;
            }
        }
        total
    }
}

#[test]
fn networks_agree_with_a_plain_f64_implementation_of_the_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let genome = handmade();
    assert_eq!(genome.expressed_connections(), 12, "the disabled hidden -> hidden gene runs");
    let oracle = parse_out(&write_out(&genome, dir.path(), "net.out"));
    assert_eq!(oracle.conn.iter().flatten().filter(|c| c.is_some()).count(), 12);
    let net = Controller::from_genome(&genome, None).unwrap();
    let starts = start_states(11, EpisodeSet::Evaluation, 24);
    // Small weights keep the dynamics tame: every episode agrees to rounding.
    for w in [-1.0, -0.73, -0.5, 0.3, 0.5, 0.78, 0.91, 1.0] {
        for (e, &s) in starts.iter().enumerate() {
            let (ours, theirs) = (episode_return(&net, w, s), oracle.episode(s, Some(w)));
            assert!(close(ours, theirs, 1e-6), "w {w} episode {e}: {ours} vs {theirs}");
        }
    }
    // Large weights may be chaotic, where a difference in the last bit grows: compare the means
    // over the episodes, within four standard errors of the difference.
    for w in [-2.0, -1.6, 1.4, 2.0] {
        let ours: Vec<f64> = starts.iter().map(|&s| episode_return(&net, w, s)).collect();
        let theirs: Vec<f64> = starts.iter().map(|&s| oracle.episode(s, Some(w))).collect();
        let d: Vec<f64> = ours.iter().zip(&theirs).map(|(a, b)| a - b).collect();
        let n = d.len() as f64;
        let mean = d.iter().sum::<f64>() / n;
        let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!(mean.abs() <= 4.0 * sd / n.sqrt() + 1e-6, "w {w}: mean difference {mean}, sd {sd}");
    }
    // With a weight per connection (the oracle reads them from the matrix cells; the `.out` keeps
    // three significant digits, so the weights are chosen to fit).
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let own: Vec<f32> = genome.conns.iter().map(|_| rng.random_range(-20i32..20) as f32 / 10.0).collect();
    let trained = Genome {
        trained: Some(genome.expressed_conns().map(|c| (c.innovation, own[c.innovation as usize])).collect()),
        ..genome.clone()
    };
    let net = Controller::trained(&trained).unwrap().expect("a network with trained weights");
    let oracle = parse_out(&write_out(&trained, dir.path(), "trained.out"));
    for (e, &s) in starts.iter().enumerate().take(8) {
        let (ours, theirs) = (episode_return(&net, 0.0, s), oracle.episode(s, None));
        assert!(close(ours, theirs, 1e-6), "own weights, episode {e}: {ours} vs {theirs}");
    }
    assert!(Controller::trained(&genome).unwrap().is_none(), "no trained weights, no trained network");
}

/// A small network whose genes are out of row-major order, with a gene that is not expressed (neat
/// semantics, disabled). Matrix rows: bias 0, inputs 1-5, hidden 7, output 6.
fn small() -> Genome {
    Genome {
        hidden: vec![HiddenNode { id: 7, activation: Activation::Linear }],
        conns: vec![
            conn(10, 7, 6, true), // cell (6, 7)
            conn(11, 3, 7, true), // cell (3, 6)
            conn(12, 0, 6, true), // cell (0, 7)
            conn(13, 1, 6, false),
            conn(14, 3, 6, true), // cell (3, 7)
        ],
        ..Genome::empty(5, 1)
    }
}

#[test]
fn zoo_weights_map_row_major_with_the_weight_bias() {
    let genome = small();
    let dir = tempfile::tempdir().unwrap();
    let zoo = dir.path().join("zoo.json");
    std::fs::write(&zoo, "[[0.5, 1.0, 2.0, 3.0], 123.4]").unwrap();
    // Row-major: (0,7) gene 12, (3,6) gene 11, (3,7) gene 14, (6,7) gene 10; each parameter - 1.5.
    let w = zoo_weights(&genome, &std::fs::read_to_string(&zoo).unwrap(), -1.5, &zoo).unwrap();
    assert_eq!(w, vec![1.5, -0.5, -1.0, 0.0, 0.5]);
    let g = with_zoo_weights(genome.clone(), &zoo, -1.5).unwrap();
    let want: std::collections::BTreeMap<u64, f32> = [(10, 1.5), (11, -0.5), (12, -1.0), (14, 0.5)].into();
    assert_eq!(g.trained.as_ref(), Some(&want));
    // The row-major order is the `.out` file's: its non-empty cells, read row by row, hold the
    // parameters in file order.
    let text = wann::genome::out_format::to_string(&g).unwrap();
    let cells: Vec<f64> = text
        .lines()
        .flat_map(|l| l.split(',').take(8).map(|c| c.parse::<f64>().unwrap()).collect::<Vec<_>>())
        .filter(|v| *v != 0.0 && !v.is_nan())
        .collect();
    assert_eq!(cells, vec![-1.0, -0.5, 0.5, 1.5]);
    // By hand, at cos θ = 0.5: hidden 7 = -0.5 * 0.5 = -0.25; output = 1.5 * -0.25 - 1.0 * 1 + 0.5 * 0.5.
    let net = Controller::trained(&g).unwrap().unwrap();
    let mut slots = Vec::new();
    assert_eq!(net.output(&[0.3, -0.2, 0.5, 0.8, 0.1], 0.0, &mut slots), -1.125);
    // A file for another network is refused, saying why.
    let err = zoo_weights(&genome, "[[1.0, 2.0], 3]", -1.5, Path::new("x.json")).unwrap_err().to_string();
    assert!(err.contains("2 parameters") && err.contains("4 expressed connections"), "{err}");
    // A trained network missing a weight on a connection that reaches the output is refused.
    let mut missing = g.clone();
    missing.trained.as_mut().unwrap().remove(&11);
    assert!(Controller::trained(&missing).is_err());
}

#[test]
fn batches_do_not_depend_on_the_thread_count() {
    let genome = handmade();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let own: Vec<f64> = genome.conns.iter().map(|_| rng.random_range(-2.0..2.0)).collect();
    let nets = vec![
        Controller::from_genome(&genome, None).unwrap(),
        Controller::from_genome(&genome, Some(&own)).unwrap(),
    ];
    let weights = [-2.0, -1.2, 0.5, 1.7];
    let starts = start_states(9, EpisodeSet::Generation(4), 5);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| returns(&nets, &weights, &starts))
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
    // Laid out as [net][weight][episode].
    let at = |net: usize, w: usize, e: usize| one[(net * weights.len() + w) * starts.len() + e];
    assert_eq!(at(1, 2, 3), episode_return(&nets[1], 0.5, starts[3]));
    assert_eq!(at(0, 1, 4), episode_return(&nets[0], -1.2, starts[4]));
}

#[test]
fn the_search_from_compiled_programs_sees_what_the_genome_path_sees() {
    // The task evaluates compiled programs (pruned, reordered); the report evaluates genomes.
    let genome = handmade();
    let program = wann::program::compile(&genome).unwrap();
    let packed = wann::program::Programs::pack([&program]);
    let from_program = Controller::from_programs(&packed, 0);
    let from_genome = Controller::from_genome(&genome, None).unwrap();
    for (i, w) in [-2.0, -0.5, 0.5, 1.0, 2.0].into_iter().enumerate() {
        let s = start_state(1, EpisodeSet::Check(3), i as u64);
        assert_eq!(episode_return(&from_program, w, s), episode_return(&from_genome, w, s), "w {w}");
    }
}

#[test]
fn a_tiny_search_learns_to_swing_the_pole_up() {
    let config =
        SearchConfig { population: 48, generations: 20, seed: 1, ..SearchConfig::swingup(Preset::Quick) };
    let mut task = SwingUp::new(config.seed, 2).unwrap();
    let mut search = Search::new(config, 5, 1).unwrap();
    while !search.is_done() {
        search.step(&mut task).unwrap();
    }
    let champion = &search.state.champion.as_ref().unwrap().genome;
    let net = Controller::from_genome(champion, None).unwrap();
    // At its best training weight, on fresh episodes, the pole gets near upright (within 25 degrees)
    // in most episodes: that needs a swing, since every episode starts hanging down.
    let starts = start_states(77, EpisodeSet::Evaluation, 10);
    let best = wann::eval::TRAINING_WEIGHTS
        .iter()
        .map(|&w| w as f64)
        .max_by(|&a, &b| {
            let m = |w| starts.iter().map(|&s| episode_return(&net, w, s)).sum::<f64>();
            m(a).total_cmp(&m(b))
        })
        .unwrap();
    let swung = starts
        .iter()
        .filter(|&&s| {
            let mut up = false;
            run_episode(&net, best, s, |r| up |= r.state.theta.cos() > (25f64).to_radians().cos());
            up
        })
        .count();
    assert!(swung >= 7, "the pole got up in {swung} of 10 episodes at w = {best}");
}

// ---- The command line ----

fn wann(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wann")).args(args).output().expect("the binary runs")
}

#[test]
fn eval_reports_the_four_conditions_and_draws() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let out_file = write_out(&handmade(), dir.path(), "net.out");
    // The zoo import through `wann convert`: a genome file that carries its trained weights.
    let params: Vec<String> = (0..12).map(|k| format!("{}", 1.5 + (k as f64 - 6.0) / 8.0)).collect();
    std::fs::write(path("zoo.json"), format!("[[{}], 0]", params.join(","))).unwrap();
    let o = wann(&[
        "convert",
        out_file.to_str().unwrap(),
        &path("trained.json"),
        "--task",
        "swingup",
        "--zoo",
        &path("zoo.json"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let genome = wann::genome::load(Path::new(&path("trained.json")), 5, 1).unwrap();
    assert_eq!(genome.trained.as_ref().map(|t| t.len()), Some(12));
    let out = wann(&[
        "eval",
        &path("trained.json"),
        "--task",
        "swingup",
        "--episodes",
        "6",
        "--sweep=0.7:0.9:0.02",
        "--weight",
        "0.78",
        "--animate",
        &path("run.gif"),
        "--curve",
        &path("curve.png"),
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["report"];
    assert_eq!(r["curve"].as_array().unwrap().len(), 11);
    // The tuned weight is the curve's best point and its mean is that point's.
    let best = r["curve"]
        .as_array()
        .unwrap()
        .iter()
        .max_by(|a, b| a["mean"].as_f64().unwrap().total_cmp(&b["mean"].as_f64().unwrap()))
        .unwrap();
    assert_eq!(r["tuned_weight"], best["weight"]);
    assert_eq!(r["tuned_shared"]["mean"], best["mean"]);
    // Every condition is the mean over the same 6 evaluation episodes of seed 0; the trained row
    // uses the genome's own weights.
    let net = Controller::from_genome(&genome, None).unwrap();
    let starts = start_states(0, EpisodeSet::Evaluation, 6);
    let w = r["tuned_weight"].as_f64().unwrap();
    let mean = starts.iter().map(|&s| episode_return(&net, w, s)).sum::<f64>() / 6.0;
    assert!(close(r["tuned_shared"]["mean"].as_f64().unwrap(), mean, 1e-12));
    let own = Controller::trained(&genome).unwrap().unwrap();
    let trained_mean = starts.iter().map(|&s| episode_return(&own, 0.0, s)).sum::<f64>() / 6.0;
    assert!(close(r["trained"]["mean"].as_f64().unwrap(), trained_mean, 1e-12));
    assert_ne!(trained_mean, mean);
    for key in ["random_individual", "random_shared", "trained"] {
        assert_eq!(r[key]["n"], 6);
    }
    // The same weights through `wann eval --zoo` on the `.out` file.
    let o = wann(&[
        "eval",
        out_file.to_str().unwrap(),
        "--task",
        "swingup",
        "--episodes",
        "6",
        "--sweep=0.7:0.9:0.1",
        "--zoo",
        &path("zoo.json"),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v2: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v2["report"]["trained"], r["trained"]);
    // The GIF holds the episode, 4 steps a frame, plus the start; the curve is the stated size.
    use image::AnimationDecoder;
    let f = std::io::BufReader::new(std::fs::File::open(path("run.gif")).unwrap());
    let frames = image::codecs::gif::GifDecoder::new(f).unwrap().into_frames().collect_frames().unwrap();
    let mut steps = 0usize;
    run_episode(&net, 0.78, start_state(0, EpisodeSet::Evaluation, 0), |_| steps += 1);
    assert_eq!(frames.len(), 1 + steps.div_ceil(4));
    let curve = image::open(path("curve.png")).unwrap();
    assert_eq!(
        (curve.width(), curve.height()),
        (wann::swingup::pictures::CURVE_W, wann::swingup::pictures::CURVE_H)
    );
}

#[test]
fn eval_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = write_out(&handmade(), dir.path(), "net.out");
    let out = out.to_str().unwrap();
    let cases: [(&[&str], &str); 7] = [
        (&["eval", out, "--task", "swingup", "--animate", "x.png"], ".gif"),
        (&["eval", out, "--task", "swingup", "--weight", "1"], "only applies with --animate"),
        (&["eval", out, "--task", "swingup", "--weight-bias", "-1"], "only applies with --zoo"),
        (&["eval", out, "--animate", "x.gif"], "--task swingup"),
        (&["eval", out, "--zoo", out], "--task swingup"),
        (&["eval", out, "--task", "swingup", "--episodes", "0"], "at least 1"),
        (&["eval", out, "--task", "swingup", "--zoo", out], "not JSON"),
    ];
    for (args, want) in cases {
        let o = wann(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(want) && !err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn the_task_judges_a_generation_by_the_mean_return_over_its_episodes() {
    use wann::evolve::task::{Sample, Task};
    let genome = handmade();
    let program = wann::program::compile(&genome).unwrap();
    let packed = wann::program::Programs::pack([&program, &program]);
    let net = Controller::from_genome(&genome, None).unwrap();
    let mut task = SwingUp::new(4, 3).unwrap();
    let weights = [0.5f32, 1.0];
    for (sample, set, n) in [
        (Sample::Generation(7), EpisodeSet::Generation(7), 3),
        (Sample::Check(7), EpisodeSet::Check(7), 3 * wann::swingup::task::CHECK_FACTOR),
    ] {
        let fitness = task.fitness(&packed, &weights, sample).unwrap();
        let starts = start_states(4, set, n);
        for (i, &w) in weights.iter().enumerate() {
            let mean = starts.iter().map(|&s| episode_return(&net, w as f64, s)).sum::<f64>() / n as f64;
            assert_eq!(fitness[i], mean, "{sample:?} w {w}");
            assert_eq!(fitness[2 + i], mean, "the second copy, {sample:?} w {w}");
        }
    }
    assert!(SwingUp::new(4, 0).is_err());
}

#[test]
fn a_swing_up_run_uses_reference_semantics_resumes_and_refuses_another_task() {
    let dir = tempfile::tempdir().unwrap();
    let (short, long) = (dir.path().join("short"), dir.path().join("long"));
    let search = |out: &Path, generations: &str| {
        let out = out.to_str().unwrap().to_string();
        let args =
            ["search", "--task", "swingup", "--preset", "quick", "--population", "12", "--episodes", "1"];
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        args.extend(
            ["--generations", generations, "--seed", "3", "--backend", "cpu", "--quiet", "--out", &out]
                .map(String::from),
        );
        let o = Command::new(env!("CARGO_BIN_EXE_wann")).args(&args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    search(&short, "2");
    search(&long, "3");
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(short.join("config.json")).unwrap()).unwrap();
    assert_eq!((config["task"].as_str(), config["semantics"].as_str()), (Some("swingup"), Some("reference")));
    let resume = |extra: &[&str]| {
        let mut args = vec!["search", "--resume", short.to_str().unwrap(), "--quiet"];
        args.extend_from_slice(extra);
        wann(&args)
    };
    for (flag, value) in [("--task", "mnist"), ("--task", "swingup"), ("--episodes", "2")] {
        let o = resume(&[flag, value]);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && e.contains(flag) && e.contains("cannot change on --resume"), "{e}");
    }
    // Extended from 2 to 3 generations: the same log (fitness columns) and champion as 3 from the start.
    assert!(resume(&["--generations", "3"]).status.success());
    let log = |d: &Path| -> Vec<String> {
        let text = std::fs::read_to_string(d.join("log.csv")).unwrap();
        text.lines().map(|l| l.split(',').take(10).collect::<Vec<_>>().join(",")).collect()
    };
    assert_eq!(log(&short), log(&long));
    let champion = |d: &Path| std::fs::read_to_string(d.join("champion.json")).unwrap();
    assert_eq!(champion(&short), champion(&long));
}

#[test]
fn search_refuses_the_options_only_the_other_task_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let quick = ["--population", "12", "--episodes", "1", "--generations", "1", "--seed", "3", "--quiet"];
    // A run's whole config.json, MNIST's fields included (minibatch, train_limit, champion_check,
    // delta, backend), is a swing-up config like any other: only the command line is checked.
    let run = path("run");
    let mut args =
        vec!["search", "--task", "swingup", "--preset", "quick", "--backend", "cpu", "--out", &run];
    args.extend_from_slice(&quick);
    let o = wann(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let config = Path::new(&run).join("config.json");
    let config = config.to_str().unwrap();
    let again = path("again");
    let o = wann(&["search", "--config", config, "--generations", "1", "--quiet", "--out", &again]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mnist_only = "only for MNIST searches";
    let swingup_only = "only for swing-up searches";
    let cases: [(&[&str], &str, &str); 9] = [
        (&["--task", "swingup", "--minibatch", "50"], "--minibatch is", mnist_only),
        (&["--task", "swingup", "--train-limit", "600"], "--train-limit is", mnist_only),
        (&["--task", "swingup", "--champion-check", "100"], "--champion-check is", mnist_only),
        (&["--task", "swingup", "--no-delta"], "--no-delta is", mnist_only),
        (&["--task", "swingup", "--backend", "gpu"], "--backend gpu is", mnist_only),
        // The task a config file names is the task: its flags are checked against it.
        (&["--config", config, "--minibatch", "50", "--no-delta"], "--minibatch, --no-delta are", mnist_only),
        (&["--episodes", "2"], "--episodes is", swingup_only),
        (&["--task", "mnist", "--episodes", "2"], "--episodes is", swingup_only),
        (&["--config", config, "--task", "mnist", "--episodes", "2"], "--episodes is", swingup_only),
    ];
    for (i, (flags, names, why)) in cases.iter().enumerate() {
        let target = path(&format!("refused{i}"));
        // Small enough to end at once should a refusal ever go missing (MNIST on 1200 images).
        let mut args = vec!["search", "--out", &target, "--population", "12", "--generations", "1"];
        args.extend_from_slice(flags);
        if !flags.contains(&"--backend") {
            args.extend(["--backend", "cpu"]);
        }
        if *why == swingup_only {
            args.extend(["--train-limit", "1200"]);
        }
        let o = wann(&args);
        let e = String::from_utf8_lossy(&o.stderr);
        let fix = if *why == mnist_only { "or search MNIST with --task mnist" } else { "--task swingup" };
        assert!(
            !o.status.success()
                && e.contains(names)
                && e.contains(why)
                && e.contains(fix)
                && !e.contains("panicked"),
            "{flags:?}: {e}"
        );
        assert!(!Path::new(&target).exists(), "{flags:?} left a run directory behind");
    }
    // On --resume, settings stay refused as settings; what a resume may change is checked against the
    // run's own task.
    let resume = |extra: &[&str]| {
        let mut args = vec!["search", "--resume", run.as_str(), "--quiet"];
        args.extend_from_slice(extra);
        wann(&args)
    };
    for (flags, want) in [
        (&["--minibatch", "50"][..], "cannot change on --resume"),
        (&["--episodes", "2"][..], "cannot change on --resume"),
        (&["--no-delta"][..], "keeps its task"),
        (&["--backend", "gpu", "--generations", "2"][..], "keeps its task"),
    ] {
        let lock = Path::new(&run).join(".wann.lock");
        let before = std::fs::read(&lock).ok();
        let o = resume(flags);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && e.contains(flags[0]) && e.contains(want), "{flags:?}: {e}");
        assert_eq!(std::fs::read(&lock).ok(), before, "{flags:?}: a refused resume wrote its lock");
    }
    let o = resume(&["--generations", "2", "--backend", "cpu"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = std::fs::read_to_string(Path::new(&run).join("log.csv")).unwrap();
    assert_eq!(log.lines().count(), 3, "a header and two generations: {log}");
}
