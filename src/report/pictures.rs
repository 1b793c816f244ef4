//! PNG pictures: accuracy by weight value for each digit (heat map), receptive fields, and the
//! network itself. Drawn on a small built-in canvas (anti-aliased lines and disks, alpha blending, a
//! 3x5 bitmap font), so the only dependency is the `image` crate's PNG encoder. Every picture's size
//! is a pure function of its input's shape (see the `*_size` functions) so callers can rely on it.

use super::font;
use super::graph::Topology;
use super::receptive::ReceptiveField;
use super::DigitSweep;
use crate::error::{Error, Result};
use crate::genome::{topology, Activation, Genome};
use image::RgbImage;
use std::collections::HashMap;
use std::path::Path;

pub(super) type Rgb = [u8; 3];

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
const INK: Rgb = [30, 30, 30];
const GREY: Rgb = [150, 150, 150];
const NO_DATA: Rgb = [215, 215, 215];
const INPUT_COLOUR: Rgb = [60, 100, 170];
const BIAS_COLOUR: Rgb = [110, 110, 110];

/// Colour of a hidden node with activation `a` (a categorical palette, also used by the DOT export).
pub fn activation_colour(a: Activation) -> Rgb {
    match a {
        Activation::Linear => [31, 119, 180],
        Activation::Step => [127, 127, 127],
        Activation::Sin => [255, 127, 14],
        Activation::Gaussian => [44, 160, 44],
        Activation::Tanh => [214, 39, 40],
        Activation::Sigmoid => [148, 103, 189],
        Activation::Inverse => [140, 86, 75],
        Activation::Abs => [227, 119, 194],
        Activation::Relu => [188, 189, 34],
        Activation::Cosine => [23, 190, 207],
        Activation::Square => [40, 40, 40],
    }
}

/// The viridis colour map at `t` in [0, 1] (piecewise linear through 9 of its samples).
pub fn viridis(t: f64) -> Rgb {
    const STOPS: [Rgb; 9] = [
        [68, 1, 84],
        [71, 44, 122],
        [59, 81, 139],
        [44, 113, 142],
        [33, 144, 141],
        [39, 173, 129],
        [92, 200, 99],
        [170, 220, 50],
        [253, 231, 37],
    ];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let mut c = [0u8; 3];
    for k in 0..3 {
        c[k] = (STOPS[i][k] as f64 * (1.0 - f) + STOPS[i + 1][k] as f64 * f).round() as u8;
    }
    c
}

/// Rows and columns of the grid the inputs are drawn on: 16x16 for MNIST's 256 pixels; otherwise
/// the smallest near-square grid with row-major filling.
pub fn grid_shape(n_inputs: u32) -> (u32, u32) {
    let n = n_inputs.max(1);
    // u64: the square of a column count near 2^16 does not fit in u32.
    let mut cols = (n as f64).sqrt().floor() as u64;
    while cols * cols < n as u64 {
        cols += 1;
    }
    let cols = cols as u32;
    (n.div_ceil(cols), cols)
}

/// Most pixels a picture may have (a floating-point canvas takes 12 bytes a pixel).
pub const MAX_PIXELS: u64 = 64 << 20;

/// A floating-point RGB canvas with alpha blending (also used by the learning-curve plot).
pub(super) struct Canvas {
    w: u32,
    h: u32,
    px: Vec<[f32; 3]>,
}

impl Canvas {
    pub(super) fn new(w: u32, h: u32, bg: Rgb) -> Canvas {
        let bg = [bg[0] as f32, bg[1] as f32, bg[2] as f32];
        Canvas { w, h, px: vec![bg; (w * h) as usize] }
    }

    pub(super) fn blend(&mut self, x: i64, y: i64, c: Rgb, a: f32) {
        if x < 0 || y < 0 || x >= self.w as i64 || y >= self.h as i64 || a <= 0.0 {
            return;
        }
        let a = a.min(1.0);
        let p = &mut self.px[(y as u32 * self.w + x as u32) as usize];
        for k in 0..3 {
            p[k] = p[k] * (1.0 - a) + c[k] as f32 * a;
        }
    }

    pub(super) fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.blend(xx, yy, c, 1.0);
            }
        }
    }

    pub(super) fn outline(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb, t: i64) {
        self.fill_rect(x, y, w, t, c);
        self.fill_rect(x, y + h - t, w, t, c);
        self.fill_rect(x, y, t, h, c);
        self.fill_rect(x + w - t, y, t, h, c);
    }

    /// An anti-aliased filled disk.
    pub(super) fn disk(&mut self, cx: f32, cy: f32, r: f32, c: Rgb, a: f32) {
        let (x0, x1) = ((cx - r - 1.0).floor() as i64, (cx + r + 1.0).ceil() as i64);
        let (y0, y1) = ((cy - r - 1.0).floor() as i64, (cy + r + 1.0).ceil() as i64);
        for y in y0..=y1 {
            for x in x0..=x1 {
                let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
                self.blend(x, y, c, a * (r + 0.5 - d).clamp(0.0, 1.0));
            }
        }
    }

    /// An anti-aliased one-pixel line (Xiaolin Wu's algorithm).
    pub(super) fn line(&mut self, (x0, y0): (f32, f32), (x1, y1): (f32, f32), c: Rgb, a: f32) {
        let steep = (y1 - y0).abs() > (x1 - x0).abs();
        let (mut x0, mut y0, mut x1, mut y1) = if steep { (y0, x0, y1, x1) } else { (x0, y0, x1, y1) };
        if x0 > x1 {
            std::mem::swap(&mut x0, &mut x1);
            std::mem::swap(&mut y0, &mut y1);
        }
        let dx = x1 - x0;
        let grad = if dx.abs() < 1e-6 { 0.0 } else { (y1 - y0) / dx };
        for x in x0.round() as i64..=x1.round() as i64 {
            let y = y0 + grad * (x as f32 - x0);
            let yf = y.floor();
            let f = y - yf;
            let (p, q) = (yf as i64, yf as i64 + 1);
            if steep {
                self.blend(p, x, c, a * (1.0 - f));
                self.blend(q, x, c, a * f);
            } else {
                self.blend(x, p, c, a * (1.0 - f));
                self.blend(x, q, c, a * f);
            }
        }
    }

    pub(super) fn text(&mut self, x: i64, y: i64, s: &str, scale: u32, c: Rgb) {
        let mut lit = Vec::new();
        font::for_each_pixel(s, scale, |dx, dy| lit.push((dx, dy)));
        for (dx, dy) in lit {
            self.blend(x + dx as i64, y + dy as i64, c, 1.0);
        }
    }

    pub(super) fn text_centred(&mut self, cx: i64, y: i64, s: &str, scale: u32, c: Rgb) {
        self.text(cx - font::text_width(s, scale) as i64 / 2, y, s, scale, c);
    }

    pub(super) fn into_image(self) -> RgbImage {
        let raw: Vec<u8> =
            self.px.iter().flat_map(|p| p.map(|v| v.round().clamp(0.0, 255.0) as u8)).collect();
        RgbImage::from_raw(self.w, self.h, raw).expect("the canvas holds w * h pixels")
    }
}

/// Writes `img` as a PNG at `path` (atomically: never a half-written file).
pub fn save_png(img: &RgbImage, path: &Path) -> Result<()> {
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| Error::Invalid(format!("cannot encode the picture for {}: {e}", path.display())))?;
    crate::fsutil::write_atomic(path, &bytes)
}

// ---- Heat map: accuracy by weight value for each digit ----

const HM_SCALE: u32 = 2;
const HM_LEFT: u32 = 64;
const HM_TOP: u32 = 56;
const HM_CELL_W: u32 = 16;
const HM_CELL_H: u32 = 24;
const HM_GAP: u32 = 8;
const HM_RIGHT: u32 = 96;
const HM_BOTTOM: u32 = 56;
const HM_TITLE: &str = "ACCURACY PER DIGIT BY SHARED WEIGHT";
const HM_SUBTITLE: &str = "WHITE BOX: BEST WEIGHT FOR THAT DIGIT";

/// Size of the heat map for `n_weights` sweep values and `n_classes` digits.
pub fn heatmap_size(n_weights: usize, n_classes: usize) -> (u32, u32) {
    let min_w = font::text_width(HM_SUBTITLE, HM_SCALE) + 2 * 16;
    let w = (HM_LEFT + n_weights as u32 * HM_CELL_W + HM_RIGHT).max(min_w);
    let h = HM_TOP + (n_classes as u32 + 1) * HM_CELL_H + HM_GAP + HM_BOTTOM;
    (w, h)
}

/// Accuracy for each digit (rows) at each sweep weight (columns), viridis from 0% to 100%, with the
/// best weight of every digit boxed and an "ALL" row for the whole set underneath.
pub fn heatmap(sweep: &DigitSweep) -> RgbImage {
    let n = sweep.weights.len();
    let rows = sweep.accuracy.len();
    let (w, h) = heatmap_size(n, rows);
    let mut c = Canvas::new(w, h, WHITE);
    let s = HM_SCALE;
    c.text(16, 10, HM_TITLE, s, INK);
    c.text(16, 28, HM_SUBTITLE, s, GREY);
    let (cw, ch) = (HM_CELL_W as i64, HM_CELL_H as i64);
    let (left, top) = (HM_LEFT as i64, HM_TOP as i64);
    let cell = |c: &mut Canvas, row_y: i64, col: usize, v: Option<f64>| {
        let colour = v.map_or(NO_DATA, viridis);
        c.fill_rect(left + col as i64 * cw, row_y, cw, ch, colour);
    };
    for (d, accs) in sweep.accuracy.iter().enumerate() {
        let y = top + d as i64 * ch;
        c.text(left - 16 - font::text_width(&d.to_string(), s) as i64, y + 7, &d.to_string(), s, INK);
        for (k, &v) in accs.iter().enumerate().take(n) {
            cell(&mut c, y, k, v);
        }
    }
    let all_y = top + rows as i64 * ch + HM_GAP as i64;
    c.text(left - 16 - font::text_width("ALL", s) as i64, all_y + 7, "ALL", s, INK);
    for (k, &v) in sweep.overall.iter().enumerate().take(n) {
        cell(&mut c, all_y, k, Some(v));
    }
    // Boxes on the best weight of each row (first best on ties).
    // As `DigitSweep::best_weight`: w = 0 is never boxed (every output is 0 there).
    let best_col = |accs: &mut dyn Iterator<Item = Option<f64>>| -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for (k, v) in accs.enumerate().filter(|&(k, _)| sweep.weights.get(k) != Some(&0.0)) {
            if let Some(v) = v {
                if best.is_none_or(|(_, b)| v > b) {
                    best = Some((k, v));
                }
            }
        }
        best.map(|(k, _)| k)
    };
    for (d, accs) in sweep.accuracy.iter().enumerate() {
        if let Some(k) = best_col(&mut accs.iter().copied()) {
            c.outline(left + k as i64 * cw, top + d as i64 * ch, cw, ch, WHITE, 2);
            c.outline(left + k as i64 * cw - 1, top + d as i64 * ch - 1, cw + 2, ch + 2, BLACK, 1);
        }
    }
    if let Some(k) = best_col(&mut sweep.overall.iter().map(|&v| Some(v))) {
        c.outline(left + k as i64 * cw, all_y, cw, ch, WHITE, 2);
        c.outline(left + k as i64 * cw - 1, all_y - 1, cw + 2, ch + 2, BLACK, 1);
    }
    // Weight axis: ticks and labels at whole numbers (and at the ends when none is whole).
    let axis_y = all_y + ch + 4;
    let mut last_label_end = i64::MIN;
    let step = if n > 1 { (sweep.weights[n - 1] - sweep.weights[0]).abs() / (n - 1) as f32 } else { 1.0 };
    for (k, &wv) in sweep.weights.iter().enumerate() {
        let whole = (wv - wv.round()).abs() <= step * 0.49 && (wv - wv.round()).abs() < 0.05;
        if !(whole || n == 1) {
            continue;
        }
        let x = left + k as i64 * cw + cw / 2;
        let label = format!("{}", wv.round() as i64);
        let tw = font::text_width(&label, s) as i64;
        if x - tw / 2 <= last_label_end + 6 {
            continue;
        }
        c.fill_rect(x, axis_y, 1, 5, INK);
        c.text(x - tw / 2, axis_y + 8, &label, s, INK);
        last_label_end = x + tw / 2;
    }
    c.text_centred(left + (n as i64 * cw) / 2, axis_y + 26, "SHARED WEIGHT W", s, INK);
    // Colour bar, 0% at the bottom and 100% at the top, beside the digit rows.
    let bar_x = left + n as i64 * cw + 16;
    let bar_h = rows as i64 * ch;
    for y in 0..bar_h {
        let t = 1.0 - y as f64 / (bar_h - 1).max(1) as f64;
        c.fill_rect(bar_x, top + y, 14, 1, viridis(t));
    }
    for (t, label) in [(1.0, "100%"), (0.5, "50%"), (0.0, "0%")] {
        let y = top + ((1.0 - t) * (bar_h - 1) as f64) as i64;
        c.fill_rect(bar_x + 14, y, 4, 1, INK);
        c.text(bar_x + 22, (y - 5).clamp(top, top + bar_h - 10), label, s, INK);
    }
    c.into_image()
}

// ---- Receptive fields ----

const RF_SCALE: u32 = 2;
const RF_GAP: u32 = 16;
const RF_TOP: u32 = 40;
const RF_LABEL: u32 = 20;
const RF_FOOTER: u32 = 56;
const RF_PER_ROW: u32 = 5;
const RF_TITLE: &str = "RECEPTIVE FIELDS: PATHS FROM EACH PIXEL TO EACH OUTPUT";

fn rf_cell(n_inputs: u32) -> u32 {
    let (_, cols) = grid_shape(n_inputs);
    (160 / cols).clamp(2, 12)
}

/// Size of the receptive-field picture (MNIST: 896 x 488).
pub fn receptive_size(n_inputs: u32, n_outputs: u32) -> (u32, u32) {
    let (rows, cols) = grid_shape(n_inputs);
    let cell = rf_cell(n_inputs);
    let per_row = RF_PER_ROW.min(n_outputs.max(1));
    let panel_rows = n_outputs.max(1).div_ceil(per_row);
    let w =
        (RF_GAP + per_row * (cols * cell + RF_GAP)).max(font::text_width(RF_TITLE, RF_SCALE) + 2 * RF_GAP);
    let h = RF_TOP + panel_rows * (RF_LABEL + rows * cell + RF_GAP) + RF_FOOTER;
    (w, h)
}

/// One panel per output laid out as the input image: grey where no path leads to the output,
/// otherwise viridis by the number of paths (log scale, shared by all panels).
pub fn receptive_picture(n_inputs: u32, fields: &[ReceptiveField]) -> Result<RgbImage> {
    let n_out = fields.len() as u32;
    let (w, h) = receptive_size(n_inputs, n_out);
    if w as u64 * h as u64 > MAX_PIXELS {
        return Err(Error::Invalid(format!(
            "a receptive-field picture of {n_out} outputs over {n_inputs} inputs would be {w} x {h} pixels, \
             more than {MAX_PIXELS}"
        )));
    }
    let (rows, cols) = grid_shape(n_inputs);
    let cell = rf_cell(n_inputs) as i64;
    let per_row = RF_PER_ROW.min(n_out.max(1));
    let mut c = Canvas::new(w, h, WHITE);
    let s = RF_SCALE;
    c.text(RF_GAP as i64, 12, RF_TITLE, s, INK);
    let max_paths = fields.iter().flat_map(|f| f.paths.iter().copied()).fold(0.0f64, f64::max);
    let scale = |p: f64| if max_paths > 1.0 { p.ln_1p() / max_paths.ln_1p() } else { 1.0 };
    let (pw, ph) = (cols as i64 * cell, rows as i64 * cell);
    for (k, f) in fields.iter().enumerate() {
        let (pr, pc) = (k as u32 / per_row, k as u32 % per_row);
        let x0 = (RF_GAP + pc * (cols * cell as u32 + RF_GAP)) as i64;
        let y0 = (RF_TOP + pr * (RF_LABEL + rows * cell as u32 + RF_GAP)) as i64;
        c.text(x0, y0, &format!("{}: {} PX", f.output, f.inputs_reached), s, INK);
        let gy = y0 + RF_LABEL as i64 - 4;
        for (p, &paths) in f.paths.iter().enumerate() {
            let (r, col) = (p as i64 / cols as i64, p as i64 % cols as i64);
            let colour = if paths > 0.0 { viridis(scale(paths)) } else { NO_DATA };
            c.fill_rect(x0 + col * cell, gy + r * cell, cell, cell, colour);
        }
        c.outline(x0 - 1, gy - 1, pw + 2, ph + 2, GREY, 1);
    }
    // Footer: the colour bar from 1 path to the most paths.
    let fy = h as i64 - RF_FOOTER as i64 + 8;
    let fx = RF_GAP as i64;
    for x in 0..256 {
        c.fill_rect(fx + x, fy, 1, 12, viridis(x as f64 / 255.0));
    }
    c.text(fx, fy + 18, "1", s, INK);
    let max_label = if max_paths >= 1e6 { format!("{max_paths:.1E}") } else { format!("{max_paths:.0}") };
    c.text(fx + 256 - font::text_width(&max_label, s) as i64, fy + 18, &max_label, s, INK);
    c.fill_rect(fx + 272, fy, 12, 12, NO_DATA);
    c.text(fx + 292, fy + 1, "NO PATH; COLOUR: PATHS (LOG SCALE)", s, INK);
    Ok(c.into_image())
}

// ---- The network ----

/// Size of the network picture.
pub const NETWORK_SIZE: (u32, u32) = (1600, 1000);

/// The network: inputs as their image grid on the left (bias above it), hidden nodes in columns by
/// layer coloured by activation, outputs on the right; every expressed connection as a translucent line
/// in its source's colour.
pub fn network_picture(genome: &Genome) -> Result<RgbImage> {
    let topo = Topology::new(genome)?;
    let (w, h) = NETWORK_SIZE;
    let mut c = Canvas::new(w, h, WHITE);
    let s = 2;
    let enabled: Vec<_> = genome.expressed_conns().collect();
    c.text(
        24,
        16,
        &format!(
            "{} HIDDEN NODES IN {} {}, {} CONNECTIONS",
            genome.hidden.len(),
            topo.hidden_layers,
            if topo.hidden_layers == 1 { "LAYER" } else { "LAYERS" },
            enabled.len()
        ),
        s,
        INK,
    );

    let mut pos: HashMap<u32, (f32, f32)> = HashMap::new();
    // Inputs: the image grid.
    let (rows, cols) = grid_shape(genome.n_inputs);
    let cell = (360 / cols.max(rows)).clamp(2, 20) as f32;
    let gx = 40.0f32;
    let gy = (h as f32 - rows as f32 * cell) / 2.0;
    for p in 0..genome.n_inputs {
        let (r, col) = (p / cols, p % cols);
        pos.insert(p + 1, (gx + (col as f32 + 0.5) * cell, gy + (r as f32 + 0.5) * cell));
    }
    pos.insert(0, (gx + cols as f32 * cell / 2.0, gy - 50.0));
    // Outputs: a column on the right.
    let n_out = genome.n_outputs;
    let out_x = w as f32 - 140.0;
    let out_gap = ((h as f32 - 200.0) / n_out as f32).min(70.0);
    let out_top = (h as f32 - out_gap * n_out as f32) / 2.0;
    for (k, id) in genome.output_ids().enumerate() {
        pos.insert(id, (out_x, out_top + (k as f32 + 0.5) * out_gap));
    }
    // Hidden: one column per layer, ordered within a column by the mean height of their sources.
    let (hx0, hx1) = (gx + cols as f32 * cell + 100.0, out_x - 100.0);
    let n_layers = topo.hidden_layers.max(1) as f32;
    let (top, bottom) = (70.0f32, h as f32 - 80.0);
    let mut radius: HashMap<u32, f32> = HashMap::new();
    // Every lookup below is by map, never by scanning the genome, so that drawing stays linear in its
    // size (a genome of a million genes draws in seconds).
    let activation: HashMap<u32, Activation> = genome.hidden.iter().map(|h| (h.id, h.activation)).collect();
    let mut by_layer: Vec<Vec<u32>> = vec![Vec::new(); topo.hidden_layers as usize + 1];
    for &id in &topo.hidden_order {
        by_layer[topo.layer[&id] as usize].push(id);
    }
    for l in 1..=topo.hidden_layers {
        let mut ids: Vec<(f32, u32)> = by_layer[l as usize]
            .iter()
            .map(|&id| {
                let ys: Vec<f32> = topo.sources(id).iter().filter_map(|s| pos.get(s)).map(|p| p.1).collect();
                let key =
                    if ys.is_empty() { h as f32 / 2.0 } else { ys.iter().sum::<f32>() / ys.len() as f32 };
                (key, id)
            })
            .collect();
        ids.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let x = hx0 + (l as f32 - 0.5) * (hx1 - hx0) / n_layers;
        let gap = (bottom - top) / ids.len() as f32;
        let r = (gap * 0.42).clamp(1.5, 7.0);
        let y0 = top + ((bottom - top) - gap * ids.len() as f32) / 2.0;
        for (i, &(_, id)) in ids.iter().enumerate() {
            pos.insert(id, (x, y0 + (i as f32 + 0.5) * gap));
            radius.insert(id, r);
        }
    }
    // Connections.
    let alpha = (0.6 * (200.0 / enabled.len().max(1) as f32).sqrt()).clamp(0.08, 0.6);
    let colour_of = |id: u32| -> Rgb {
        if id == 0 {
            BIAS_COLOUR
        } else if id <= genome.n_inputs {
            INPUT_COLOUR
        } else {
            activation_colour(activation.get(&id).copied().unwrap_or(Activation::Linear))
        }
    };
    for e in &enabled {
        if let (Some(&a), Some(&b)) = (pos.get(&e.src), pos.get(&e.dst)) {
            // Hidden sources are few next to the pixels: draw them stronger so they stay visible.
            let a_edge = if e.src > genome.n_inputs { (2.0 * alpha).min(0.8) } else { alpha };
            c.line(a, b, colour_of(e.src), a_edge);
        }
    }
    // Inputs: cells shaded by how many connections leave them.
    let mut fan_out: HashMap<u32, u32> = HashMap::new();
    for e in &enabled {
        *fan_out.entry(e.src).or_default() += 1;
    }
    let max_fan = genome.conns.iter().map(|e| fan_out.get(&e.src).copied().unwrap_or(0)).max().unwrap_or(0);
    // Cover the connections' starts inside the grid: the shading shows each pixel's fan-out.
    c.fill_rect(
        gx as i64,
        gy as i64,
        (cols as f32 * cell) as i64 + 1,
        (rows as f32 * cell) as i64 + 1,
        WHITE,
    );
    for p in 0..genome.n_inputs {
        let (x, y) = pos[&(p + 1)];
        let f = fan_out.get(&(p + 1)).copied().unwrap_or(0);
        let colour = if f == 0 {
            [235, 235, 235]
        } else {
            let t = 0.35 + 0.65 * f as f32 / max_fan.max(1) as f32;
            let mix = |k: usize| (255.0 * (1.0 - t) + INPUT_COLOUR[k] as f32 * t) as u8;
            [mix(0), mix(1), mix(2)]
        };
        let half = cell / 2.0;
        c.fill_rect((x - half) as i64 + 1, (y - half) as i64 + 1, cell as i64 - 1, cell as i64 - 1, colour);
    }
    c.outline(
        gx as i64 - 1,
        gy as i64 - 1,
        (cols as f32 * cell) as i64 + 3,
        (rows as f32 * cell) as i64 + 3,
        GREY,
        1,
    );
    c.text_centred(
        (gx + cols as f32 * cell / 2.0) as i64,
        (gy + rows as f32 * cell + 12.0) as i64,
        "INPUTS",
        s,
        INK,
    );
    let (bx, by) = pos[&0];
    c.disk(bx, by, 8.0, BIAS_COLOUR, 1.0);
    c.text(bx as i64 + 14, by as i64 - 5, "BIAS", s, INK);
    // Hidden nodes; a ring for one that reaches no output (it cannot change any result).
    let live = topology::live_hidden(genome);
    for &id in &topo.hidden_order {
        let (x, y) = pos[&id];
        let r = radius[&id];
        if r >= 3.0 {
            c.disk(x, y, r + 1.0, WHITE, 1.0);
        }
        c.disk(x, y, r, activation_colour(activation[&id]), 1.0);
        if !live.contains(&id) && r >= 3.0 {
            c.disk(x, y, r - 2.0, WHITE, 1.0);
        }
    }
    // Outputs.
    for (k, id) in genome.output_ids().enumerate() {
        let (x, y) = pos[&id];
        let r = (out_gap * 0.3).clamp(3.0, 12.0);
        c.disk(x, y, r + 2.0, INK, 1.0);
        c.disk(x, y, r, WHITE, 1.0);
        c.text(x as i64 + r as i64 + 10, y as i64 - 7, &k.to_string(), 3, INK);
    }
    c.text_centred(out_x as i64, (out_top + out_gap * n_out as f32 + 10.0) as i64, "OUTPUTS", s, INK);
    // Legend: the activations present.
    let mut present: Vec<Activation> = genome.hidden.iter().map(|n| n.activation).collect();
    present.sort();
    present.dedup();
    let mut lx = 24i64;
    let ly = h as i64 - 34;
    if !present.is_empty() {
        c.text(lx, ly, "HIDDEN:", s, INK);
        lx += font::text_width("HIDDEN:", s) as i64 + 16;
    }
    for a in present {
        c.disk(lx as f32 + 6.0, ly as f32 + 5.0, 6.0, activation_colour(a), 1.0);
        let name = a.name().to_uppercase();
        c.text(lx + 18, ly, &name, s, INK);
        lx += 18 + font::text_width(&name, s) as i64 + 24;
    }
    if topo.hidden_order.iter().any(|id| !live.contains(id)) {
        c.disk(lx as f32 + 6.0, ly as f32 + 5.0, 6.0, GREY, 1.0);
        c.disk(lx as f32 + 6.0, ly as f32 + 5.0, 4.0, WHITE, 1.0);
        c.text(lx + 18, ly, "RING: REACHES NO OUTPUT", s, INK);
    }
    Ok(c.into_image())
}
