//! Writes a network shaped like an evolved one (grown from the search's minimal start by its own
//! mutations) for trying out `wann eval`, `wann draw` and the benchmark baseline without a search:
//! `cargo run --release --example random_network -- OUT.json|OUT.out [CONNECTIONS] [HIDDEN] [SEED]`
//! (defaults 2000 connections, 150 hidden nodes, seed 1).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: random_network OUT.json|OUT.out [CONNECTIONS] [HIDDEN] [SEED]";
    let out = args.first().ok_or(usage)?;
    let num = |i: usize, d: u64| -> Result<u64, String> {
        args.get(i).map_or(Ok(d), |s| s.parse().map_err(|_| format!("{s:?} is not a number; {usage}")))
    };
    let (conns, hidden, seed) = (num(1, 2000)? as usize, num(2, 150)? as usize, num(3, 1)?);
    let g = wann::workload::grown_network(seed, 256, 10, conns, hidden);
    wann::genome::save(&g, std::path::Path::new(out))?;
    eprintln!(
        "wrote {out}: {} enabled connections, {} hidden nodes",
        g.enabled_connections(),
        g.hidden.len()
    );
    Ok(())
}
