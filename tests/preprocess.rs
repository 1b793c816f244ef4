//! MNIST preprocessing: bit-exact against OpenCV (fixture made by tests/fixtures/opencv_reference.py),
//! and hand-computed cases for each step.

#[macro_use]
mod common;

use sha2::{Digest, Sha256};
use wann::data::idx;
use wann::data::preprocess::{deskew, moments, preprocess_mnist_f64, resize_bilinear};

#[test]
fn matches_opencv_bit_for_bit_on_2000_test_images() {
    let images = idx::read_images(&mnist_dir!().join("t10k-images-idx3-ubyte")).unwrap();
    let expected: Vec<&str> = include_str!("fixtures/preprocess_t10k.sha").lines().collect();
    assert_eq!(expected.len(), 2000);
    let mut mismatches = Vec::new();
    for (i, want) in expected.iter().enumerate() {
        let out = preprocess_mnist_f64(&images.pixels[i * 784..(i + 1) * 784], 28);
        let bytes: Vec<u8> = out.iter().flat_map(|v| v.to_le_bytes()).collect();
        let got = format!("{:x}", Sha256::digest(&bytes));
        if &got[..16] != *want {
            mismatches.push(i);
        }
    }
    assert!(mismatches.is_empty(), "images differing from OpenCV: {mismatches:?}");
}

#[test]
fn resize_keeps_a_constant_image_and_interpolates_by_hand() {
    let flat = vec![0.25; 28 * 28];
    assert!(resize_bilinear(&flat, 28, 28, 16, 16).iter().all(|&v| v == 0.25));
    // A horizontal ramp src(x) = x: output x samples at (x + 0.5) * 1.75 - 0.5.
    let ramp: Vec<f64> = (0..28 * 28).map(|i| (i % 28) as f64).collect();
    let out = resize_bilinear(&ramp, 28, 28, 16, 16);
    for x in 0..16 {
        let want = (x as f64 + 0.5) * 1.75 - 0.5;
        assert!((out[3 * 16 + x] - want).abs() < 1e-12, "x={x}: {} vs {want}", out[3 * 16 + x]);
    }
    // 2x2 -> 1x1 samples the centre: the mean of the four pixels.
    assert_eq!(resize_bilinear(&[0.0, 1.0, 2.0, 3.0], 2, 2, 1, 1), vec![1.5]);
}

#[test]
fn deskew_leaves_symmetric_and_empty_images_alone() {
    // A centred symmetric blob has mu11 = 0: skew 0, the warp is the identity.
    let mut blob = vec![0.0; 256];
    for y in 5..11 {
        for x in 6..10 {
            blob[y * 16 + x] = 0.5 + 0.1 * ((y as f64 - 7.5).abs() + (x as f64 - 7.5).abs());
        }
    }
    assert_eq!(moments(&blob, 16, 16).mu11, 0.0);
    assert_eq!(deskew(&blob, 16), blob);
    // A single row has mu02 = 0 (< 1e-2): returned unchanged.
    let mut row = vec![0.0; 256];
    row[8 * 16 + 3] = 1.0;
    row[8 * 16 + 12] = 1.0;
    assert_eq!(deskew(&row, 16), row);
}

#[test]
fn deskew_straightens_a_sheared_stroke() {
    // A diagonal stroke x = 8 + (y - 8) / 2 has skew 1/2: deskewing makes it vertical at column 8.
    let mut img = vec![0.0; 256];
    for y in 2..14 {
        let x = 8.0 + (y as f64 - 8.0) / 2.0;
        let (x0, f) = (x.floor() as usize, x - x.floor());
        img[y * 16 + x0] += 1.0 - f;
        if f > 0.0 {
            img[y * 16 + x0 + 1] += f;
        }
    }
    let m = moments(&img, 16, 16);
    assert!((m.mu11 / m.mu02 - 0.5).abs() < 0.05, "skew {}", m.mu11 / m.mu02);
    let out = deskew(&img, 16);
    // Each row's intensity-weighted column is now (close to) the same.
    let cols: Vec<f64> = (2..14)
        .map(|y| {
            let r = &out[y * 16..y * 16 + 16];
            r.iter().enumerate().map(|(x, v)| x as f64 * v).sum::<f64>() / r.iter().sum::<f64>()
        })
        .collect();
    let spread =
        cols.iter().cloned().fold(f64::MIN, f64::max) - cols.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread < 0.6, "row centres after deskew: {cols:?}");
}
