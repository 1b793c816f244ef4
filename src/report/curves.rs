//! Learning curves: a search's `log.csv` read back and drawn over generations (fitness, the
//! champion's size, time per generation, the champion's re-checked fitness), one colour per run so
//! that several runs can be compared on one picture.

use super::font;
use super::pictures::{Canvas, Rgb};
use crate::error::{Error, Result};
use image::RgbImage;
use std::path::Path;

/// A log larger than this is not a search log (4096 generations take about 600 KB).
const MAX_LOG_BYTES: u64 = 256 << 20;

/// One run's log, by column.
#[derive(Clone, Debug, PartialEq)]
pub struct RunLog {
    /// Shown in the legend (the run directory's name).
    pub name: String,
    pub generation: Vec<f64>,
    pub best_mean: Vec<f64>,
    pub median_mean: Vec<f64>,
    pub champion_fitness: Vec<f64>,
    pub champion_connections: Vec<f64>,
    pub median_connections: Vec<f64>,
    pub seconds: Vec<f64>,
}

impl RunLog {
    pub fn len(&self) -> usize {
        self.generation.len()
    }

    pub fn is_empty(&self) -> bool {
        self.generation.is_empty()
    }

    /// Parses the text of a `log.csv`; columns are found by their header names, so logs with more
    /// columns than these still read.
    pub fn parse(name: &str, text: &str, path: &Path) -> Result<RunLog> {
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split(',').map(str::trim).collect();
        let column = |want: &str| {
            header
                .iter()
                .position(|h| *h == want)
                .ok_or_else(|| Error::format(path, format!("not a search log: it has no {want:?} column")))
        };
        let cols = [
            column("generation")?,
            column("best_mean_fitness")?,
            column("median_mean_fitness")?,
            column("champion_fitness")?,
            column("champion_connections")?,
            column("median_connections")?,
            column("seconds")?,
        ];
        let mut values: [Vec<f64>; 7] = Default::default();
        for (i, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split(',').collect();
            for (k, &c) in cols.iter().enumerate() {
                let v = fields.get(c).and_then(|f| f.trim().parse::<f64>().ok()).filter(|v| v.is_finite());
                let v = v.ok_or_else(|| {
                    Error::format(path, format!("row {}: column {} is missing or not a number", i + 2, c + 1))
                })?;
                values[k].push(v);
            }
        }
        let [generation, best_mean, median_mean, champion_fitness, champion_connections, median_connections, seconds] =
            values;
        Ok(RunLog {
            name: name.to_string(),
            generation,
            best_mean,
            median_mean,
            champion_fitness,
            champion_connections,
            median_connections,
            seconds,
        })
    }

    /// Reads `DIR/log.csv` (or a log file given directly), naming the run after its directory.
    pub fn load(path: &Path) -> Result<RunLog> {
        let file = if path.is_dir() { path.join(crate::evolve::run::LOG) } else { path.to_path_buf() };
        let dir = if path.is_dir() { path } else { path.parent().unwrap_or(path) };
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        let text = crate::fsutil::read_text(&file, MAX_LOG_BYTES)?;
        let log = RunLog::parse(&name, &text, &file)?;
        if log.is_empty() {
            return Err(Error::format(&file, "the log has no generations yet"));
        }
        Ok(log)
    }
}

const RUN_COLOURS: [Rgb; 6] =
    [[31, 119, 180], [214, 39, 40], [44, 160, 44], [148, 103, 189], [255, 127, 14], [23, 190, 207]];
const INK: Rgb = [30, 30, 30];
const GRID: Rgb = [225, 225, 225];
const AXIS: Rgb = [120, 120, 120];
const SCALE: u32 = 2;

const PANEL_W: i64 = 680;
const PANEL_H: i64 = 420;
const MARGIN: i64 = 24;
const LEGEND_H: i64 = 64;

/// Size of the learning-curve picture (independent of the runs).
pub fn curves_size() -> (u32, u32) {
    ((2 * PANEL_W + 3 * MARGIN) as u32, (LEGEND_H + 2 * PANEL_H + 3 * MARGIN) as u32)
}

/// One panel's series: (values, faint) for each run.
struct Panel<'a> {
    title: &'a str,
    series: Vec<(usize, &'a [f64], &'a [f64], bool)>,
}

/// The learning curves of one or more runs: fitness (best and median mean), the champion's fitness on
/// its fresh re-check sample, the champion's and the median connection count, and seconds per
/// generation (a 25-generation moving average over the faint raw values).
pub fn curves_picture(runs: &[RunLog]) -> Result<RgbImage> {
    if runs.is_empty() || runs.iter().any(RunLog::is_empty) {
        return Err(Error::Invalid("a learning-curve plot needs at least one run with generations".into()));
    }
    let (w, h) = curves_size();
    let mut c = Canvas::new(w, h, [255, 255, 255]);
    legend(&mut c, runs);
    let smoothed: Vec<Vec<f64>> = runs.iter().map(|r| moving_average(&r.seconds, 25)).collect();
    let panels = [
        Panel {
            title: "FITNESS (MNIST: -CROSS-ENTROPY, SWING-UP: RETURN): BEST AND MEDIAN MEAN",
            series: runs
                .iter()
                .enumerate()
                .flat_map(|(k, r)| {
                    [
                        (k, &r.generation[..], &r.median_mean[..], true),
                        (k, &r.generation[..], &r.best_mean[..], false),
                    ]
                })
                .collect(),
        },
        Panel {
            title: "CHAMPION FITNESS ON ITS RE-CHECK SAMPLE",
            series: runs
                .iter()
                .enumerate()
                .map(|(k, r)| (k, &r.generation[..], &r.champion_fitness[..], false))
                .collect(),
        },
        Panel {
            title: "CONNECTIONS: CHAMPION AND MEDIAN",
            series: runs
                .iter()
                .enumerate()
                .flat_map(|(k, r)| {
                    [
                        (k, &r.generation[..], &r.median_connections[..], true),
                        (k, &r.generation[..], &r.champion_connections[..], false),
                    ]
                })
                .collect(),
        },
        Panel {
            title: "SECONDS PER GENERATION",
            series: runs
                .iter()
                .enumerate()
                .flat_map(|(k, r)| {
                    [
                        (k, &r.generation[..], &r.seconds[..], true),
                        (k, &r.generation[..], &smoothed[k][..], false),
                    ]
                })
                .collect(),
        },
    ];
    for (i, p) in panels.iter().enumerate() {
        let x = MARGIN + (i as i64 % 2) * (PANEL_W + MARGIN);
        let y = LEGEND_H + MARGIN + (i as i64 / 2) * (PANEL_H + MARGIN);
        draw_panel(&mut c, x, y, p);
    }
    Ok(c.into_image())
}

fn legend(c: &mut Canvas, runs: &[RunLog]) {
    c.text(MARGIN, 14, "SOLID: BEST OR CHAMPION (SMOOTHED TIME)   FAINT: MEDIAN (RAW TIME)", SCALE, INK);
    let mut x = MARGIN;
    for (k, r) in runs.iter().enumerate() {
        let colour = RUN_COLOURS[k % RUN_COLOURS.len()];
        c.fill_rect(x, 38, 24, 10, colour);
        let label = format!("{} ({} GEN)", r.name, r.len());
        c.text(x + 32, 38, &label, SCALE, INK);
        x += 32 + font::text_width(&label, SCALE) as i64 + 32;
    }
}

fn draw_panel(c: &mut Canvas, x0: i64, y0: i64, p: &Panel) {
    const LEFT: i64 = 92;
    const TOP: i64 = 30;
    const BOTTOM: i64 = 40;
    const RIGHT: i64 = 16;
    let (px, py, pw, ph) = (x0 + LEFT, y0 + TOP, PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM);
    c.text(x0 + LEFT, y0 + 6, p.title, SCALE, INK);
    let xs: Vec<f64> = p.series.iter().flat_map(|s| s.1.iter().copied()).collect();
    let ys: Vec<f64> = p.series.iter().flat_map(|s| s.2.iter().copied()).collect();
    let (xmin, xmax) = range(&xs);
    let (ymin, ymax) = range(&ys);
    let xt = ticks(xmin, xmax);
    let yt = ticks(ymin, ymax);
    let (xmin, xmax) = (xt[0].min(xmin), xt[xt.len() - 1].max(xmax));
    let (ymin, ymax) = (yt[0].min(ymin), yt[yt.len() - 1].max(ymax));
    let sx = |v: f64| px as f32 + ((v - xmin) / (xmax - xmin)) as f32 * pw as f32;
    let sy = |v: f64| (py + ph) as f32 - ((v - ymin) / (ymax - ymin)) as f32 * ph as f32;
    for &t in &yt {
        let y = sy(t).round() as i64;
        c.fill_rect(px, y, pw, 1, GRID);
        let label = tick_label(t, &yt);
        c.text(px - 8 - font::text_width(&label, SCALE) as i64, y - 5, &label, SCALE, INK);
    }
    for &t in &xt {
        let x = sx(t).round() as i64;
        c.fill_rect(x, py, 1, ph, GRID);
        c.text_centred(x, py + ph + 10, &tick_label(t, &xt), SCALE, INK);
    }
    c.outline(px, py, pw + 1, ph + 1, AXIS, 1);
    c.text_centred(px + pw / 2, py + ph + 26, "GENERATION", SCALE, AXIS);
    // Faint series first so that the solid ones stay on top.
    for faint in [true, false] {
        for &(k, xs, ys, f) in p.series.iter().filter(|s| s.3 == faint) {
            let colour = RUN_COLOURS[k % RUN_COLOURS.len()];
            let alpha = if f { 0.35 } else { 1.0 };
            let points: Vec<(f32, f32)> = xs.iter().zip(ys).map(|(&x, &y)| (sx(x), sy(y))).collect();
            if points.len() == 1 {
                c.disk(points[0].0, points[0].1, 3.0, colour, alpha);
            }
            for seg in points.windows(2) {
                c.line(seg[0], seg[1], colour, alpha);
            }
        }
    }
}

/// Smallest and largest value, widened when they are equal so that the axis has a span.
fn range(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 * lo.abs().max(1.0) {
        let pad = (lo.abs() * 0.05).max(0.5);
        return (lo - pad, hi + pad);
    }
    (lo, hi)
}

/// Round tick values (1, 2 or 5 times a power of ten) covering `[lo, hi]`, about five of them.
pub fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let first = (lo / step).floor() as i64;
    let last = (hi / step).ceil() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// A tick's label with just enough decimals to tell neighbouring ticks apart.
fn tick_label(v: f64, all: &[f64]) -> String {
    let step = if all.len() > 1 { (all[1] - all[0]).abs() } else { 1.0 };
    let decimals = if step >= 1.0 { 0 } else { (-step.log10()).ceil() as usize };
    let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
    format!("{v:.decimals$}")
}

/// Mean over a centred window of `width` values (shorter at the ends).
fn moving_average(v: &[f64], width: usize) -> Vec<f64> {
    let half = width / 2;
    (0..v.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half + 1).min(v.len()));
            v[a..b].iter().sum::<f64>() / (b - a) as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "generation,best_mean_fitness,median_mean_fitness,best_max_fitness,champion_fitness,\
champion_connections,champion_nodes,median_connections,median_nodes,objectives,compile_seconds,eval_seconds,\
evolve_seconds,seconds,edge_evals_per_second
0,-2.300000,-2.310000,-2.100000,-2.290000,12,270,10,270,mean+conns,0.01,0.2,0.01,0.25,1.0e9
1,-2.200000,-2.300000,-2.000000,-2.190000,14,271,11,270,mean+max,0.01,0.2,0.01,0.35,1.0e9
";

    #[test]
    fn parses_columns_by_name() {
        let log = RunLog::parse("r", LOG, Path::new("log.csv")).unwrap();
        assert_eq!(log.generation, vec![0.0, 1.0]);
        assert_eq!(log.best_mean, vec![-2.3, -2.2]);
        assert_eq!(log.champion_fitness, vec![-2.29, -2.19]);
        assert_eq!(log.champion_connections, vec![12.0, 14.0]);
        assert_eq!(log.median_connections, vec![10.0, 11.0]);
        assert_eq!(log.seconds, vec![0.25, 0.35]);
    }

    #[test]
    fn rejects_what_is_not_a_log() {
        let e = RunLog::parse("r", "a,b\n1,2\n", Path::new("x.csv")).unwrap_err().to_string();
        assert!(e.contains("no \"generation\" column"), "{e}");
        let bad = LOG.replace("0.35,1.0e9", "nan,1.0e9");
        let e = RunLog::parse("r", &bad, Path::new("x.csv")).unwrap_err().to_string();
        assert!(e.contains("row 3"), "{e}");
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 4095.0), vec![0.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0]);
        let t: Vec<f64> = ticks(-2.31, -2.19).iter().map(|v| (v * 1000.0).round() / 1000.0).collect();
        assert_eq!(t, vec![-2.35, -2.3, -2.25, -2.2, -2.15]);
        assert_eq!(tick_label(0.5, &[0.0, 0.5, 1.0]), "0.5");
        assert_eq!(tick_label(1000.0, &[0.0, 1000.0]), "1000");
    }

    #[test]
    fn moving_average_by_hand() {
        assert_eq!(moving_average(&[1.0, 2.0, 3.0, 4.0], 3), vec![1.5, 2.0, 3.0, 3.5]);
    }

    #[test]
    fn picture_has_its_size_and_draws_each_run_in_its_colour() {
        let a = RunLog::parse("a", LOG, Path::new("log.csv")).unwrap();
        let b = RunLog { name: "b".into(), ..a.clone() };
        let img = curves_picture(&[a, b]).unwrap();
        assert_eq!(img.dimensions(), curves_size());
        let has = |c: Rgb| img.pixels().any(|p| p.0 == c);
        assert!(has(RUN_COLOURS[0]) && has(RUN_COLOURS[1]));
        assert!(curves_picture(&[]).is_err());
    }
}
