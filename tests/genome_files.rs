//! Genome validation, the JSON format and the reference's `.out` format.

mod common;

use rand::SeedableRng;
use wann::genome::{json, out_format, Activation, ConnGene, Genome, HiddenNode};

fn conn(innovation: u64, src: u32, dst: u32, enabled: bool) -> ConnGene {
    ConnGene { innovation, src, dst, enabled }
}

/// 2 inputs (ids 1, 2), 1 output (id 3), hidden 4 and 5.
fn small() -> Genome {
    let mut g = Genome::empty(2, 1);
    g.hidden = vec![
        HiddenNode { id: 4, activation: Activation::Tanh },
        HiddenNode { id: 5, activation: Activation::Sin },
    ];
    g.conns = vec![
        conn(0, 1, 4, true),
        conn(1, 4, 5, true),
        conn(2, 5, 3, true),
        conn(3, 0, 3, false),
        conn(4, 2, 5, true),
    ];
    g
}

fn invalid(g: &Genome) -> String {
    g.validate().expect_err("genome should be rejected").to_string()
}

#[test]
fn validation_names_each_problem() {
    assert!(small().validate().is_ok());
    let mut g = small();
    g.conns.push(conn(5, 5, 4, true));
    assert!(invalid(&g).contains("cycle"));
    let mut g = small();
    g.conns[3].dst = 99;
    assert!(invalid(&g).contains("node 99 does not exist"));
    let mut g = small();
    g.conns[1].innovation = 0;
    assert!(invalid(&g).contains("innovation number used twice"));
    let mut g = small();
    g.conns.push(conn(9, 1, 4, false));
    assert!(invalid(&g).contains("duplicate"));
    let mut g = small();
    g.conns.push(conn(9, 3, 4, true));
    assert!(invalid(&g).contains("output node cannot be a source"));
    let mut g = small();
    g.conns.push(conn(9, 4, 1, true));
    assert!(invalid(&g).contains("cannot be destinations"));
    let mut g = small();
    g.hidden[1].id = 4;
    assert!(invalid(&g).contains("appears twice"));
    // A cycle through disabled genes only is allowed: only enabled connections execute.
    let mut g = small();
    g.conns.push(conn(9, 5, 4, false));
    assert!(g.validate().is_ok());
}

#[test]
fn json_round_trip_and_errors() {
    let g = small();
    let text = json::to_string(&g);
    assert_eq!(json::from_str(&text, "x.json".as_ref()).unwrap(), g);
    let bad_act = text.replace("\"activation\": 5", "\"activation\": 12");
    let e = json::from_str(&bad_act, "x.json".as_ref()).unwrap_err().to_string();
    assert!(e.contains("unknown activation id 12") && e.contains("x.json"), "{e}");
    let e = json::from_str(&text.replace("\"version\": 1", "\"version\": 7"), "x.json".as_ref()).unwrap_err();
    assert!(e.to_string().contains("version 7"), "{e}");
    let cyclic = text.replace("\"src\": 1,\n      \"dst\": 4", "\"src\": 5,\n      \"dst\": 4");
    assert!(json::from_str(&cyclic, "x.json".as_ref()).unwrap_err().to_string().contains("cycle"));
    assert!(json::from_str("{", "x.json".as_ref())
        .unwrap_err()
        .to_string()
        .contains("not a valid genome file"));
}

#[test]
fn out_format_by_hand() {
    let text = out_format::to_string(&small()).unwrap();
    // Order: bias, in1, in2, hidden 4, hidden 5, output 3.
    let expected = "\
0.00e+00,0.00e+00,0.00e+00,0.00e+00,0.00e+00,nan,1.00e+00
0.00e+00,0.00e+00,0.00e+00,1.00e+00,0.00e+00,0.00e+00,1.00e+00
0.00e+00,0.00e+00,0.00e+00,0.00e+00,1.00e+00,0.00e+00,1.00e+00
0.00e+00,0.00e+00,0.00e+00,0.00e+00,1.00e+00,0.00e+00,5.00e+00
0.00e+00,0.00e+00,0.00e+00,0.00e+00,0.00e+00,1.00e+00,3.00e+00
0.00e+00,0.00e+00,0.00e+00,0.00e+00,0.00e+00,0.00e+00,1.00e+00
";
    assert_eq!(text, expected);
    let back = out_format::from_str(&text, 2, 1, "n.out".as_ref()).unwrap();
    assert_eq!(back.hidden, small().hidden);
    assert_eq!(back.enabled_connections(), 4);
    assert_eq!(out_format::to_string(&back).unwrap(), text);
}

#[test]
fn out_round_trips_random_networks_exactly() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for _ in 0..50 {
        let g = common::random_genome(&mut rng, 256, 10, 30, 200, false);
        let text = out_format::to_string(&g).unwrap();
        let back = out_format::from_str(&text, 256, 10, "r.out".as_ref()).unwrap();
        assert_eq!(out_format::to_string(&back).unwrap(), text, "out -> genome -> out must be identical");
        // Same network: same enabled/disabled connections between the same nodes, same activations.
        let ids = |g: &Genome| -> Vec<u32> { g.execution_order().unwrap() };
        let remap: std::collections::HashMap<u32, u32> = ids(&g).into_iter().zip(ids(&back)).collect();
        let key = |g: &Genome, m: &dyn Fn(u32) -> u32| {
            let mut v: Vec<_> = g.conns.iter().map(|c| (m(c.src), m(c.dst), c.enabled)).collect();
            v.sort();
            v
        };
        let ident = |x: u32| x;
        assert_eq!(key(&g, &|x| *remap.get(&x).unwrap_or(&x)), key(&back, &ident));
        for h in &g.hidden {
            assert_eq!(back.activation_of(remap[&h.id]), h.activation);
        }
        // The JSON round trip keeps everything, innovations included.
        assert_eq!(json::from_str(&json::to_string(&back), "r.json".as_ref()).unwrap(), back);
    }
}

#[test]
fn out_format_errors() {
    let p = "bad.out".as_ref();
    let good = out_format::to_string(&small()).unwrap();
    let e = out_format::from_str(&good.replacen("5.00e+00", "1.20e+01", 1), 2, 1, p).unwrap_err().to_string();
    assert!(e.contains("unknown activation id 12"), "{e}");
    let e = out_format::from_str(&good.replacen(",1.00e+00\n", ",1.00e+00,0\n", 1), 2, 1, p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("columns"), "{e}");
    let e = out_format::from_str(&good, 5, 1, p).unwrap_err().to_string();
    assert!(e.contains("input and output counts"), "{e}");
    let e = out_format::from_str(&good.replacen("0.00e+00", "abc", 1), 2, 1, p).unwrap_err().to_string();
    assert!(e.contains("\"abc\" is not a number"), "{e}");
    // A back edge (hidden 5 -> hidden 4) makes a cycle.
    let mut rows: Vec<Vec<String>> = good.lines().map(|l| l.split(',').map(String::from).collect()).collect();
    rows[4][3] = "1.00e+00".into();
    let cyclic: String = rows.iter().map(|r| r.join(",") + "\n").collect();
    assert!(out_format::from_str(&cyclic, 2, 1, p).unwrap_err().to_string().contains("cycle"));
}
