//! Writes a hand-built, non-searched MNIST network that does better than chance, for looking at the
//! report's pictures on something meaningful: `cargo run --release --example template_network --
//! OUT.json [THRESHOLD]`. For each digit, pixels much brighter in that digit's training mean than in
//! the overall mean feed its output directly; pixels much darker feed it through an `inverse`
//! hidden node (so they count against it for positive weights). Needs MNIST (see `--data`).

use wann::data::mnist::{self, Split};
use wann::genome::{Activation, ConnGene, Genome, HiddenNode};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args.first().ok_or("usage: template_network OUT.json [THRESHOLD]")?;
    let threshold: f32 = args.get(1).map_or(Ok(0.12), |s| s.parse()).map_err(|_| "THRESHOLD is a number")?;
    let dir = mnist::default_dir(None);
    mnist::ensure(&dir)?;
    let data = mnist::load(&dir, Split::Train)?;
    let mut mean = vec![[0.0f32; 256]; 10];
    let mut count = [0usize; 10];
    let mut all = [0.0f32; 256];
    for i in 0..data.len() {
        let d = data.labels[i] as usize;
        count[d] += 1;
        for (p, &x) in data.input(i).iter().enumerate() {
            mean[d][p] += x;
            all[p] += x / data.len() as f32;
        }
    }
    let mut g = Genome::empty(256, 10);
    let add = |g: &mut Genome, src: u32, dst: u32| {
        let innovation = g.conns.len() as u64;
        g.conns.push(ConnGene { innovation, src, dst, enabled: true });
    };
    for d in 0..10 {
        let out_id = g.first_output_id() + d as u32;
        let neg = g.fixed_node_count() + d as u32;
        g.hidden.push(HiddenNode { id: neg, activation: Activation::Inverse });
        add(&mut g, neg, out_id);
        for p in 0..256 {
            let diff = mean[d][p] / count[d].max(1) as f32 - all[p];
            if diff > threshold {
                add(&mut g, p as u32 + 1, out_id);
            } else if diff < -threshold {
                add(&mut g, p as u32 + 1, neg);
            }
        }
    }
    wann::genome::save(&g, std::path::Path::new(out))?;
    eprintln!(
        "wrote {out}: {} hidden nodes, {} enabled connections",
        g.hidden.len(),
        g.enabled_connections()
    );
    Ok(())
}
