//! The reference's MNIST preprocessing (`domain/classify_gym.py`): pixels / 255, bilinear resize
//! 28x28 -> 16x16, then deskew by image moments. The arithmetic reproduces OpenCV's `cv2.resize`
//! 5 (INTER_LINEAR), `cv2.moments` and `cv2.warpAffine` (WARP_INVERSE_MAP | INTER_LINEAR, fixed point
//! with 1/32 sub-pixel steps, constant zero border) operation for operation, in f64 like the reference.

/// Side of the network's input image.
pub const SIDE: usize = 16;

/// Bilinear resize of a row-major `sw x sh` image to `dw x dh`, as OpenCV 5's INTER_LINEAR: source
/// coordinate `(i + 0.5) * scale - 0.5`, clamped at the borders, horizontal pass then vertical pass.
/// Each pass is `fma(b - a, f, a)`: probing cv2 5.0.0 showed this form, bit for bit; the textbook
/// `a * (1 - f) + b * f` differs from it by one ulp on about 5% of MNIST pixels.
pub fn resize_bilinear(src: &[f64], sw: usize, sh: usize, dw: usize, dh: usize) -> Vec<f64> {
    assert_eq!(src.len(), sw * sh, "resize_bilinear: image size does not match its dimensions");
    let xt: Vec<_> = (0..dw).map(|x| linear_taps(x, dw, sw)).collect();
    let yt: Vec<_> = (0..dh).map(|y| linear_taps(y, dh, sh)).collect();
    let lerp = |a: f64, b: f64, f: f64| (b - a).mul_add(f, a);
    let hrow = |r: usize| -> Vec<f64> {
        xt.iter().map(|&(x0, x1, f)| lerp(src[r * sw + x0], src[r * sw + x1], f)).collect()
    };
    let mut out = vec![0.0; dw * dh];
    for (y, &(y0, y1, f)) in yt.iter().enumerate() {
        let (r0, r1) = (hrow(y0), hrow(y1));
        for x in 0..dw {
            out[y * dw + x] = lerp(r0[x], r1[x], f);
        }
    }
    out
}

/// For destination index `i` of `d`, the two source indices of `s` and the fraction between them, as
/// OpenCV computes them (the position is kept as f32).
fn linear_taps(i: usize, d: usize, s: usize) -> (usize, usize, f64) {
    let scale = s as f64 / d as f64;
    let pos = ((i as f64 + 0.5) * scale - 0.5) as f32;
    let mut i0 = pos.floor() as i64;
    let mut f = pos - i0 as f32;
    if i0 < 0 {
        i0 = 0;
        f = 0.0;
    }
    if i0 >= s as i64 - 1 {
        i0 = s as i64 - 1;
        f = 0.0;
    }
    let i1 = (i0 as usize + 1).min(s - 1);
    (i0 as usize, i1, f as f64)
}

/// Raw and central moments needed for deskewing, accumulated in OpenCV's order (per row sums first).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Moments {
    pub m00: f64,
    pub m10: f64,
    pub m01: f64,
    pub m11: f64,
    pub m02: f64,
    pub mu11: f64,
    pub mu02: f64,
}

pub fn moments(img: &[f64], w: usize, h: usize) -> Moments {
    let mut m = Moments::default();
    for y in 0..h {
        let (mut x0, mut x1) = (0.0f64, 0.0f64);
        for x in 0..w {
            let p = img[y * w + x];
            x0 += p;
            x1 += x as f64 * p;
        }
        let (yf, sy) = (y as f64, (y * y) as f64);
        m.m02 += x0 * sy;
        m.m11 += x1 * yf;
        m.m01 += yf * x0;
        m.m10 += x1;
        m.m00 += x0;
    }
    let cy = if m.m00.abs() > f64::EPSILON { m.m01 * (1.0 / m.m00) } else { 0.0 };
    m.mu11 = m.m11 - m.m10 * cy;
    m.mu02 = m.m02 - m.m01 * cy;
    m
}

/// Deskews a square `n x n` image: `skew = mu11 / mu02` (unchanged if `|mu02| < 1e-2`), then
/// output(y, x) = bilinear sample at (y, x + skew * (y - n/2)), zero outside, through OpenCV's
/// fixed-point warp: the matrix is rounded to f32, positions to 1/1024 then to 1/32 of a pixel.
pub fn deskew(img: &[f64], n: usize) -> Vec<f64> {
    let m = moments(img, n, n);
    if m.mu02.abs() < 1e-2 {
        return img.to_vec();
    }
    let skew = m.mu11 / m.mu02;
    // M = float32([[1, skew, -0.5 * n * skew], [0, 1, 0]]), used as double inside OpenCV.
    let m00 = 1.0f32 as f64;
    let m01 = skew as f32 as f64;
    let m02 = (-0.5 * n as f64 * skew) as f32 as f64;
    let round = |v: f64| v.round_ties_even() as i64; // cvRound: nearest, ties to even
    let mut out = vec![0.0; n * n];
    for y in 0..n {
        let x0 = round((m01 * y as f64 + m02) * 1024.0) + 16;
        for x in 0..n {
            let xx = (x0 + round(m00 * x as f64 * 1024.0)) >> 5;
            let (sx, frac) = (xx >> 5, (xx & 31) as f64 / 32.0);
            // Source rows are exact (the matrix's second row is [0, 1, 0]): one row, two taps.
            let at = |c: i64| if (0..n as i64).contains(&c) { img[y * n + c as usize] } else { 0.0 };
            let (w0, w1) = ((1.0f32 - frac as f32) as f64, frac);
            out[y * n + x] = at(sx) * w0 + at(sx + 1) * w1;
        }
    }
    out
}

/// A square MNIST image (bytes, `side x side`) to the reference's 16x16 f64 image.
pub fn preprocess_mnist_f64(pixels: &[u8], side: usize) -> Vec<f64> {
    let scaled: Vec<f64> = pixels.iter().map(|&p| p as f64 / 255.0).collect();
    deskew(&resize_bilinear(&scaled, side, side, SIDE, SIDE), SIDE)
}

/// A square MNIST image (bytes) to the network's 256 inputs.
pub fn preprocess_mnist(pixels: &[u8], side: usize) -> Vec<f32> {
    preprocess_mnist_f64(pixels, side).into_iter().map(|v| v as f32).collect()
}
