//! The `wann` binary end to end: its commands give the reference evaluator's numbers and clear errors.

#[macro_use]
mod common;

use common::{failure, failure_of, ok_json, wann, wann_in};
use std::path::Path;
use wann::eval::{reference, TRAINING_WEIGHTS};

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
    let data = common::synthetic_test();
    let genome = wann::genome::json::load(&json).unwrap();
    let exact = reference::evaluate(&genome, &TRAINING_WEIGHTS, &data, &data.all_indices()).unwrap();
    for file in [&json, &out] {
        let v = ok_json(&["eval", file.to_str().unwrap(), "--json", "--backend", "cpu"]);
        let n = data.len() as f64;
        assert_eq!(v["report"]["examples"], data.len());
        for (acc, e) in accuracies(&v).iter().zip(&exact) {
            assert_eq!((*acc * n).round(), e.correct as f64, "{}", file.display());
        }
        for (row, e) in v["report"]["per_weight"].as_array().unwrap().iter().zip(&exact) {
            let ce = row["mean_cross_entropy"].as_f64().unwrap();
            assert!((ce - e.ce_sum / n).abs() < 1e-4, "{ce} vs {}", e.ce_sum / n);
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
    assert_eq!(m["workload"], "start x8 x6w x64", "the workload is the one asked for");
    let secs = m["seconds"]["median"].as_f64().unwrap();
    assert!(secs > 0.0 && m["seconds"]["min"].as_f64().unwrap() <= secs);
    // A workload of nothing would print NaN throughput: refused instead.
    for zero in ["--population", "--minibatch", "--test-images", "--repetitions"] {
        let e = failure(&["bench", "--backend", "cpu", "--sizes", "start", zero, "0"]);
        assert!(e.contains("must be"), "{zero} 0: {e}");
    }
    let e = failure(&["bench", "--sizes", "huge"]);
    assert!(e.contains("unknown size"), "{e}");
}

#[test]
fn commands_follow_the_semantics_a_genome_file_states() {
    use wann::genome::{json, Activation, ConnGene, Genome, HiddenNode, Semantics};
    // Pixel 100 -> h267 -> out 257, pixel 200 -> h268 -> out 258, bias -> out 259; h267 -> h268 is
    // disabled, so it runs only under reference semantics (and changes output 258 there).
    let mut g = Genome::empty(256, 10).with_semantics(Semantics::Reference);
    g.hidden = [267, 268].map(|id| HiddenNode { id, activation: Activation::Tanh }).to_vec();
    for (innovation, (src, dst, enabled)) in [
        (100, 267, true),
        (267, 257, true),
        (200, 268, true),
        (268, 258, true),
        (0, 259, true),
        (267, 268, false),
    ]
    .into_iter()
    .enumerate()
    {
        g.conns.push(ConnGene { innovation: innovation as u64, src, dst, enabled });
    }
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    json::save(&g, file("ref.json").as_ref()).unwrap();
    let neat_text = json::to_string(&g).replace("\"semantics\": \"reference\"", "\"semantics\": \"neat\"");
    std::fs::write(file("neat.json"), neat_text).unwrap();
    let conv = wann(&["convert", &file("ref.json"), &file("ref.out")]);
    assert!(conv.status.success(), "{}", String::from_utf8_lossy(&conv.stderr));
    let out_text = std::fs::read_to_string(file("ref.out")).unwrap();
    assert!(!out_text.contains("nan"), "the disabled hidden->hidden gene is written as running");

    let data = mnist_test!();
    let mnist = mnist_dir!();
    let indices: Vec<u32> = (0..500).collect();
    let oracle = |g: &Genome| -> Vec<f64> {
        let stats = reference::evaluate(g, &TRAINING_WEIGHTS, &data, &indices).unwrap();
        stats.iter().map(|s| s.correct as f64 / 500.0).collect()
    };
    let eval = |f: &str| {
        let out = common::wann_in(&mnist, &["eval", f, "--json", "--limit", "500", "--backend", "cpu"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        accuracies(&serde_json::from_slice(&out.stdout).unwrap())
    };
    let reference_acc = oracle(&g);
    let neat_acc = oracle(&g.clone().with_semantics(Semantics::Neat));
    assert_ne!(reference_acc, neat_acc, "the example must tell the semantics apart");
    assert_eq!(eval(&file("ref.json")), reference_acc);
    assert_eq!(eval(&file("ref.out")), reference_acc);
    assert_eq!(eval(&file("neat.json")), neat_acc);
    // `draw --dot` draws the running connections: 6 under reference, 5 under neat.
    for (f, edges) in [("ref.json", 6), ("neat.json", 5)] {
        let dot = file(&format!("{f}.dot"));
        assert!(wann(&["draw", &file(f), "--dot", &dot]).status.success());
        assert_eq!(std::fs::read_to_string(&dot).unwrap().matches(" -> ").count(), edges, "{f}");
    }
}

#[test]
fn search_takes_semantics_and_champion_check_and_its_champion_states_them() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = wann(&[
        "search",
        "--population",
        "8",
        "--generations",
        "2",
        "--minibatch",
        "50",
        "--train-limit",
        "500",
        "--semantics",
        "neat",
        "--champion-check",
        "200",
        "--backend",
        "cpu",
        "--quiet",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["semantics"], "neat");
    assert_eq!(config["champion_check"], 200);
    let champion = std::fs::read_to_string(run.join("champion.json")).unwrap();
    assert!(champion.contains("\"semantics\": \"neat\""));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("champion on the whole training set (500 images)"), "{stdout}");
}

/// The small search every test below starts from, into `dir`.
fn tiny_search(dir: &Path, generations: &str) -> Vec<String> {
    let args = ["search", "--population", "12", "--generations", generations, "--minibatch", "50"];
    let rest = ["--train-limit", "600", "--backend", "cpu", "--quiet", "--seed", "5", "--out"];
    args.iter().chain(&rest).map(|s| s.to_string()).chain([dir.to_str().unwrap().to_string()]).collect()
}

fn run_ok(args: &[String]) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = wann(&args);
    assert!(out.status.success(), "wann {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// The log's fitness columns (the timing columns differ from run to run).
fn fitness_log(dir: &Path) -> Vec<String> {
    let log = std::fs::read_to_string(dir.join("log.csv")).unwrap();
    log.lines().map(|l| l.split(',').take(10).collect::<Vec<_>>().join(",")).collect()
}

#[test]
fn resume_extends_to_more_generations_and_refuses_other_settings() {
    let dir = tempfile::tempdir().unwrap();
    let (short, long) = (dir.path().join("short"), dir.path().join("long"));
    run_ok(&tiny_search(&short, "2"));
    run_ok(&tiny_search(&long, "4"));
    let resume = |extra: &[&str]| {
        let mut args = vec!["search", "--resume", short.to_str().unwrap(), "--quiet"];
        args.extend_from_slice(extra);
        (wann(&args), args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    };
    for (flag, value) in
        [("--population", "20"), ("--seed", "1"), ("--minibatch", "10"), ("--preset", "quick")]
    {
        let (out, args) = resume(&[flag, value]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let e = failure_of(&out, &args);
        assert!(e.contains(flag) && e.contains("cannot change on --resume"), "{e}");
    }
    let (out, args) = resume(&["--generations", "1"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(failure_of(&out, &args).contains("at least"));
    // Extended from 2 to 4 generations: the same log and champion as a run of 4 from the start.
    let (out, _) = resume(&["--generations", "4"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(fitness_log(&short), fitness_log(&long));
    let champion = |d: &Path| std::fs::read_to_string(d.join("champion.json")).unwrap();
    assert_eq!(champion(&short), champion(&long));
    let config = std::fs::read_to_string(short.join("config.json")).unwrap();
    assert!(config.contains("\"generations\": 4"), "{config}");
}

#[test]
fn an_mnist_run_takes_its_own_options_and_refuses_the_swing_ups() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    // --minibatch, --train-limit and --backend cpu are MNIST's own; --no-delta may change on resume.
    run_ok(&tiny_search(&run, "1"));
    let run = run.to_str().unwrap();
    let e = failure(&["search", "--resume", run, "--episodes", "2"]);
    assert!(e.contains("--episodes") && e.contains("cannot change on --resume"), "{e}");
    let out = wann(&["search", "--resume", run, "--generations", "2", "--no-delta", "--quiet"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let target = dir.path().join("refused");
    let small = ["--population", "12", "--generations", "1", "--train-limit", "600", "--backend", "cpu"];
    let mut args = vec!["search", "--minibatch", "50", "--episodes", "2", "--out", target.to_str().unwrap()];
    args.extend_from_slice(&small);
    let e = failure(&args);
    assert!(e.contains("--episodes is only for swing-up searches") && e.contains("--task swingup"), "{e}");
    assert!(!target.exists());
}

#[test]
fn eval_refuses_the_options_only_the_other_task_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let champions = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/champions");
    let mnist = champions.join("mnist-paper-reference-s0/champion.json");
    let swingup = champions.join("swingup-reference-s1/champion.json");
    let (mnist, swingup) = (mnist.to_str().unwrap(), swingup.to_str().unwrap());
    let (heatmap, receptive, draw, dot) = (path("h.png"), path("r.png"), path("d.png"), path("d.dot"));
    let (zoo, animate, curve) = (path("zoo.json"), path("a.gif"), path("c.png"));
    let mnist_only = "only for MNIST evaluations";
    let swingup_only = "only for swing-up evaluations";
    let cases: Vec<(&str, Vec<&str>, &str, &str)> = vec![
        (swingup, vec!["--weights", "1"], "--weights is", mnist_only),
        (swingup, vec!["--split", "train"], "--split is", mnist_only),
        (swingup, vec!["--limit", "5"], "--limit is", mnist_only),
        (swingup, vec!["--backend", "gpu"], "--backend gpu is", mnist_only),
        (swingup, vec!["--draws", "3"], "--draws is", mnist_only),
        (swingup, vec!["--ensemble", "training"], "--ensemble is", mnist_only),
        (swingup, vec!["--heatmap", &heatmap], "--heatmap is", mnist_only),
        (swingup, vec!["--receptive", &receptive], "--receptive is", mnist_only),
        (swingup, vec!["--draw", &draw], "--draw is", mnist_only),
        (swingup, vec!["--dot", &dot], "--dot is", mnist_only),
        (swingup, vec!["--draws", "100", "--dot", &dot, "--json"], "--draws, --dot are", mnist_only),
        (mnist, vec!["--episodes", "100"], "--episodes is", swingup_only),
        (mnist, vec!["--zoo", &zoo], "--zoo is", swingup_only),
        (mnist, vec!["--weight-bias", "-1.5"], "--weight-bias is", swingup_only),
        (mnist, vec!["--weight", "1"], "--weight is", swingup_only),
        (mnist, vec!["--animate", &animate], "--animate is", swingup_only),
        (mnist, vec!["--curve", &curve], "--curve is", swingup_only),
        (
            mnist,
            vec!["--task", "mnist", "--animate", &animate, "--curve", &curve],
            "--animate, --curve are",
            swingup_only,
        ),
    ];
    for (net, flags, names, why) in cases {
        let mut args = vec!["eval", net];
        // MNIST is the default task.
        if why == mnist_only {
            args.extend(["--task", "swingup"]);
        }
        args.extend_from_slice(&flags);
        // Small enough to end at once should a refusal ever go missing.
        args.extend(["--sweep=1:1:0.1", "--seed", "1"]);
        let e = failure(&args);
        let fix = if why == mnist_only { "or evaluate on MNIST with --task mnist" } else { "--task swingup" };
        assert!(e.contains(names) && e.contains(why) && e.contains(fix), "{flags:?}: {e}");
        let written: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(written.is_empty(), "{flags:?} wrote {written:?}");
    }
    // What both tasks read, and --backend cpu (the swing-up runs on the CPU), is accepted and read.
    let v = ok_json(&[
        "eval",
        swingup,
        "--task",
        "swingup",
        "--episodes",
        "2",
        "--sweep=0.78:0.78:0.01",
        "--seed",
        "1",
        "--backend",
        "cpu",
        "--json",
    ]);
    let r = &v["report"];
    assert_eq!((r["episodes"].as_u64(), r["seed"].as_u64()), (Some(2), Some(1)), "{r}");
    assert_eq!(r["curve"].as_array().unwrap().len(), 1);
    // MNIST's own options are read; left out, they take their documented defaults.
    let v = ok_json(&[
        "eval",
        mnist,
        "--weights",
        "-1,2",
        "--split",
        "train",
        "--limit",
        "100",
        "--draws",
        "3",
        "--ensemble",
        "sweep",
        "--sweep=0:1:0.5",
        "--backend",
        "cpu",
        "--json",
    ]);
    let weights = |v: &serde_json::Value| -> Vec<f64> {
        v["report"]["per_weight"].as_array().unwrap().iter().map(|r| r["weight"].as_f64().unwrap()).collect()
    };
    assert_eq!(weights(&v), [-1.0, 2.0]);
    assert_eq!((v["split"].as_str(), v["report"]["examples"].as_u64()), (Some("train"), Some(100)));
    assert_eq!(
        (v["report"]["random"]["draws"].as_u64(), v["report"]["ensemble"]["set"].as_str()),
        (Some(3), Some("sweep"))
    );
    let v = ok_json(&["eval", mnist, "--limit", "100", "--backend", "cpu", "--json"]);
    assert_eq!(weights(&v), TRAINING_WEIGHTS.map(f64::from));
    assert_eq!((v["split"].as_str(), v["report"]["examples"].as_u64()), (Some("test"), Some(100)));
    assert_eq!(
        (v["report"]["random"]["draws"].as_u64(), v["report"]["ensemble"]["set"].as_str()),
        (Some(100), Some("training"))
    );
}

#[test]
fn run_directories_are_never_overwritten_nor_mixed() {
    let dir = tempfile::tempdir().unwrap();
    // A folder with a file of the user's that a run would write.
    let user = dir.path().join("mine");
    std::fs::create_dir(&user).unwrap();
    std::fs::write(user.join("log.csv"), "my own numbers\n").unwrap();
    let args = tiny_search(&user, "1");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let e = failure(&args);
    assert!(e.contains("log.csv") && e.contains("overwrite"), "{e}");
    assert_eq!(std::fs::read_to_string(user.join("log.csv")).unwrap(), "my own numbers\n");
    let e = failure(&["search", "--resume", user.to_str().unwrap()]);
    assert!(e.contains("no checkpoint here"), "{e}");
    let left: Vec<_> = std::fs::read_dir(&user).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["log.csv"], "nothing added to the user's folder");
    // Another run's checkpoint copied into a run directory is refused, and the log is untouched.
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_ok(&tiny_search(&a, "2"));
    run_ok(&tiny_search(&b, "1"));
    std::fs::copy(a.join("checkpoint.json.gz"), b.join("checkpoint.json.gz")).unwrap();
    let log_before = std::fs::read_to_string(b.join("log.csv")).unwrap();
    let e = failure(&["search", "--resume", b.to_str().unwrap(), "--generations", "3"]);
    assert!(e.contains("belongs to another run"), "{e}");
    assert_eq!(std::fs::read_to_string(b.join("log.csv")).unwrap(), log_before);
}

#[test]
fn settings_that_cannot_be_meant_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let cases: [(&[&str], &str); 5] = [
        (&["--generations", "0"], "generations must be at least 1"),
        (&["--population", "1000000000"], "population must be from 2"),
        (&["--minibatch", "5000"], "more than the 1200 training images"),
        (&["--train-limit", "100000"], "more than the 1200 training images"),
        (&["--config", "/dev/zero"], "larger than"),
    ];
    for (i, (flags, want)) in cases.iter().enumerate() {
        let target = out(&format!("run{i}"));
        let mut args = vec!["search", "--backend", "cpu", "--out", target.as_str()];
        args.extend_from_slice(flags);
        let e = failure(&args);
        assert!(e.contains(want), "{flags:?}: {e}");
        assert!(!Path::new(&target).join("config.json").exists(), "{flags:?} left a run directory behind");
    }
    let config = dir.path().join("c.json");
    std::fs::write(&config, r#"{"generations": 0}"#).unwrap();
    assert!(failure(&["search", "--config", config.to_str().unwrap()]).contains("generations must be"));
    std::fs::write(&config, r#"{"mutation": {"add_connection": 1, "add_node": 1, "enable": 1, "change_activation": 1, "typo": 1}}"#).unwrap();
    assert!(failure(&["search", "--config", config.to_str().unwrap()]).contains("unknown field `typo`"));
    let e = failure(&["eval", "/dev/zero", "--backend", "cpu"]);
    assert!(e.contains("larger than"), "{e}");
    let e = failure(&["eval", "tests/fixtures/hand_made.json", "--backend", "cpu", "--draws", "1000000"]);
    assert!(e.contains("predictions"), "{e}");
}

#[test]
fn ctrl_c_stops_with_status_130_and_the_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let args = tiny_search(&run, "100000");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wann"))
        .args(&args)
        .env("WANN_DATA", common::synthetic_mnist_dir())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for a few generations in the log, then interrupt as Ctrl-C would.
    while std::fs::read_to_string(run.join("log.csv")).map_or(0, |l| l.lines().count()) < 3 {
        assert!(child.try_wait().unwrap().is_none(), "the search ended on its own");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("--resume") && !err.contains("panicked"), "{err}");
    let done = fitness_log(&run).len() as u64 - 1;
    let out = wann(&["search", "--resume", run.to_str().unwrap(), "--generations", &(done + 1).to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    let net = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hand_made.json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wann"))
        .args(["eval", net.to_str().unwrap(), "--backend", "cpu"])
        .env("WANN_DATA", common::synthetic_mnist_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Like `wann eval ... | head -n 0`: the reader is gone before the tables are printed.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !err.contains("panicked"), "{:?}: {err}", out.status);
}

#[test]
fn the_real_mnist_files_load_when_present() {
    let dir = mnist_dir!();
    let out = wann_in(
        &dir,
        &["eval", "tests/fixtures/hand_made.json", "--backend", "cpu", "--limit", "100", "--json"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
