//! Pictures of swing-up behaviour: an animated GIF of one episode (track, cart, pole, reward so far)
//! and a PNG of the mean return by shared weight (the sweep's curve with its ±std band).

use super::physics::{State, POLE_LENGTH, TRACK_LIMIT};
use super::report::SweepPoint;
use super::rollout::StepRecord;
use crate::error::{Error, Result};
use crate::report::font;
use image::{Rgb, RgbImage};
use std::path::Path;

const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const INK: Rgb<u8> = Rgb([30, 30, 30]);
const GREY: Rgb<u8> = Rgb([160, 160, 160]);
const CART: Rgb<u8> = Rgb([200, 40, 40]);
const POLE: Rgb<u8> = Rgb([40, 70, 200]);
const AXLE: Rgb<u8> = Rgb([30, 200, 200]);
const BAND: Rgb<u8> = Rgb([200, 215, 240]);

/// Animation frame size and world scale (pixels per metre).
pub const FRAME_W: u32 = 540;
pub const FRAME_H: u32 = 260;
const PX_PER_M: f64 = 100.0;
/// Simulation steps per GIF frame: 4 steps of 0.01 s, shown for 40 ms, play in real time.
pub const STEPS_PER_FRAME: usize = 4;

fn fill_rect(img: &mut RgbImage, x0: f64, y0: f64, x1: f64, y1: f64, c: Rgb<u8>) {
    let (w, h) = (img.width() as f64, img.height() as f64);
    let xa = x0.max(0.0).round() as u32;
    let xb = x1.min(w).round() as u32;
    let ya = y0.max(0.0).round() as u32;
    let yb = y1.min(h).round() as u32;
    for y in ya..yb {
        for x in xa..xb {
            img.put_pixel(x, y, c);
        }
    }
}

/// A segment `thickness` wide with round ends.
fn thick_line(img: &mut RgbImage, a: (f64, f64), b: (f64, f64), thickness: f64, c: Rgb<u8>) {
    let r = thickness / 2.0;
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = (dx * dx + dy * dy).max(1e-12);
    let xmin = (a.0.min(b.0) - r).floor().max(0.0) as u32;
    let xmax = ((a.0.max(b.0) + r).ceil().max(0.0) as u32).min(img.width());
    let ymin = (a.1.min(b.1) - r).floor().max(0.0) as u32;
    let ymax = ((a.1.max(b.1) + r).ceil().max(0.0) as u32).min(img.height());
    for y in ymin..ymax {
        for x in xmin..xmax {
            let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
            let t = (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0);
            let (qx, qy) = (a.0 + t * dx - px, a.1 + t * dy - py);
            if qx * qx + qy * qy <= r * r {
                img.put_pixel(x, y, c);
            }
        }
    }
}

fn disk(img: &mut RgbImage, centre: (f64, f64), r: f64, c: Rgb<u8>) {
    thick_line(img, centre, centre, 2.0 * r, c);
}

fn text(img: &mut RgbImage, s: &str, x: u32, y: u32, scale: u32, c: Rgb<u8>) {
    let (w, h) = (img.width(), img.height());
    font::for_each_pixel(s, scale, |dx, dy| {
        if x + dx < w && y + dy < h {
            img.put_pixel(x + dx, y + dy, c);
        }
    });
}

/// One frame: the track with its end stops, the cart, the pole, and the labels.
pub fn frame(state: &State, caption: &str, status: &str) -> RgbImage {
    let mut img = RgbImage::from_pixel(FRAME_W, FRAME_H, WHITE);
    let cx0 = FRAME_W as f64 / 2.0;
    let track_y = 170.0;
    let to_px = |x: f64| cx0 + x * PX_PER_M;
    thick_line(
        &mut img,
        (to_px(-TRACK_LIMIT), track_y + 14.0),
        (to_px(TRACK_LIMIT), track_y + 14.0),
        2.0,
        INK,
    );
    for end in [-TRACK_LIMIT, TRACK_LIMIT] {
        thick_line(&mut img, (to_px(end), track_y - 6.0), (to_px(end), track_y + 14.0), 3.0, GREY);
    }
    let cx = to_px(state.x);
    fill_rect(&mut img, cx - 20.0, track_y - 10.0, cx + 20.0, track_y + 10.0, CART);
    disk(&mut img, (cx - 20.0, track_y + 10.0), 4.0, INK);
    disk(&mut img, (cx + 20.0, track_y + 10.0), 4.0, INK);
    // θ = 0 is upright; positive θ leans the pole towards negative x, as the reference draws it.
    let len = POLE_LENGTH * PX_PER_M;
    let tip = (cx - len * state.theta.sin(), track_y - len * state.theta.cos());
    thick_line(&mut img, (cx, track_y), tip, 6.0, POLE);
    disk(&mut img, (cx, track_y), 3.0, AXLE);
    disk(&mut img, tip, 3.0, INK);
    text(&mut img, caption, 10, 10, 2, INK);
    text(&mut img, status, 10, 26, 2, INK);
    img
}

/// Writes the episode `steps` (after `start`) as an animated GIF that loops.
pub fn save_episode_gif(start: &State, steps: &[StepRecord], caption: &str, path: &Path) -> Result<()> {
    use image::codecs::gif::{GifEncoder, Repeat};
    use image::{Delay, Frame};
    let mut frames = vec![(frame(start, caption, "STEP 0  REWARD 0.0"), 40u32)];
    let last = steps.len().saturating_sub(1);
    for (i, s) in steps.iter().enumerate() {
        if (i + 1) % STEPS_PER_FRAME == 0 || i == last {
            let status = format!("STEP {}  REWARD {:.1}", i + 1, s.total);
            frames.push((frame(&s.state, caption, &status), if i == last { 1500 } else { 40 }));
        }
    }
    let mut bytes = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut bytes, 10);
        let fail = |e: image::ImageError| Error::Invalid(format!("cannot encode {}: {e}", path.display()));
        enc.set_repeat(Repeat::Infinite).map_err(fail)?;
        enc.encode_frames(frames.into_iter().map(|(img, ms)| {
            let rgba = image::DynamicImage::ImageRgb8(img).into_rgba8();
            Frame::from_parts(rgba, 0, 0, Delay::from_numer_denom_ms(ms, 1))
        }))
        .map_err(fail)?;
    }
    crate::fsutil::write_atomic(path, &bytes)
}

pub const CURVE_W: u32 = 720;
pub const CURVE_H: u32 = 400;

/// Mean return (line) ± std (band) by shared weight; the best weight marked.
pub fn curve(points: &[SweepPoint], best_weight: f64, episodes: usize) -> RgbImage {
    let mut img = RgbImage::from_pixel(CURVE_W, CURVE_H, WHITE);
    let (left, right, top, bottom) = (70.0, CURVE_W as f64 - 20.0, 50.0, CURVE_H as f64 - 50.0);
    let (wmin, wmax) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.weight), b.max(p.weight)));
    let (wmin, wmax) = if wmax > wmin { (wmin, wmax) } else { (wmin - 1.0, wmin + 1.0) };
    let rmax = 1000.0_f64.max(points.iter().map(|p| p.mean + p.std).fold(0.0, f64::max));
    let rmin = 0.0_f64.min(points.iter().map(|p| p.mean - p.std).fold(0.0, f64::min));
    let px = |w: f64| left + (w - wmin) / (wmax - wmin) * (right - left);
    let py = |r: f64| bottom - (r - rmin) / (rmax - rmin) * (bottom - top);
    for p in points {
        let x = px(p.weight);
        thick_line(&mut img, (x, py(p.mean + p.std)), (x, py(p.mean - p.std)), 2.0, BAND);
    }
    // Axes, gridlines every 200 reward and every 0.5 weight.
    let mut r = (rmin / 200.0).ceil() * 200.0;
    while r <= rmax {
        thick_line(&mut img, (left, py(r)), (right, py(r)), 1.0, GREY);
        let label = format!("{:.0}", r + 0.0);
        text(
            &mut img,
            &label,
            (left as u32).saturating_sub(font::text_width(&label, 2) + 8),
            py(r) as u32 - 5,
            2,
            INK,
        );
        r += 200.0;
    }
    let mut w = (wmin * 2.0).ceil() / 2.0;
    while w <= wmax + 1e-9 {
        thick_line(&mut img, (px(w), bottom), (px(w), bottom + 6.0), 1.0, INK);
        let label = format!("{w:.1}");
        text(
            &mut img,
            &label,
            (px(w) as u32).saturating_sub(font::text_width(&label, 2) / 2),
            bottom as u32 + 12,
            2,
            INK,
        );
        w += 0.5;
    }
    thick_line(&mut img, (left, top), (left, bottom), 1.5, INK);
    thick_line(&mut img, (left, bottom), (right, bottom), 1.5, INK);
    for pair in points.windows(2) {
        thick_line(
            &mut img,
            (px(pair[0].weight), py(pair[0].mean)),
            (px(pair[1].weight), py(pair[1].mean)),
            2.0,
            POLE,
        );
    }
    thick_line(&mut img, (px(best_weight), top), (px(best_weight), bottom), 1.5, CART);
    let title = format!("MEAN RETURN OVER {episodes} EPISODES BY SHARED WEIGHT (BAND: +-STD)");
    text(&mut img, &title, left as u32, 14, 2, INK);
    let best = format!("BEST W = {best_weight:.2}");
    text(
        &mut img,
        &best,
        (px(best_weight) as u32 + 6).min(CURVE_W - font::text_width(&best, 2) - 4),
        top as u32 + 4,
        2,
        CART,
    );
    text(
        &mut img,
        "SHARED WEIGHT",
        (CURVE_W - font::text_width("SHARED WEIGHT", 2)) / 2,
        CURVE_H - 16,
        2,
        INK,
    );
    img
}
