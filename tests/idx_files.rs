//! IDX reading: raw and gzip, and a clear error for every malformation.

use std::io::Write;
use wann::data::{idx, mnist};

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn reads_raw_and_gzip_alike() {
    let dir = tempfile::tempdir().unwrap();
    let pixels: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
    let raw = idx::encode_images(2, 3, 4, &pixels);
    for path in [write(dir.path(), "a", &raw), write(dir.path(), "a.gz", &gz(&raw))] {
        let img = idx::read_images(&path).unwrap();
        assert_eq!((img.count, img.rows, img.cols), (2, 3, 4));
        assert_eq!(img.pixels, pixels);
    }
    let labels = write(dir.path(), "l.gz", &gz(&idx::encode_labels(&[3, 9, 0])));
    assert_eq!(idx::read_labels(&labels, 10).unwrap(), vec![3, 9, 0]);
}

fn err_of(r: wann::Result<impl Sized>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_malformation_is_a_clear_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = idx::encode_images(2, 2, 2, &[0; 8]);
    let truncated = write(dir.path(), "trunc", &good[..good.len() - 3]);
    assert!(err_of(idx::read_images(&truncated)).contains("truncated"));
    assert!(err_of(idx::read_images(&truncated)).contains("trunc"));
    let mut extra = good.clone();
    extra.push(1);
    assert!(err_of(idx::read_images(&write(dir.path(), "extra", &extra))).contains("trailing"));
    let labels_as_images = write(dir.path(), "lab", &idx::encode_labels(&[1, 2]));
    assert!(err_of(idx::read_images(&labels_as_images)).contains("magic number"));
    assert!(err_of(idx::read_images(&write(dir.path(), "tiny", &[0, 0, 8, 3, 0]))).contains("too short"));
    let bad_label = write(dir.path(), "badlab", &idx::encode_labels(&[1, 12]));
    assert!(err_of(idx::read_labels(&bad_label, 10)).contains("label 1 is 12"));
    let whole = gz(&idx::encode_images(50, 28, 28, &[7; 50 * 784]));
    let bad_gz = write(dir.path(), "bad.gz", &whole[..whole.len() / 2]);
    assert!(err_of(idx::read_images(&bad_gz)).contains("corrupt gzip"));
    assert!(err_of(idx::read_images(&dir.path().join("missing"))).contains("missing"));
}

#[test]
fn mnist_loader_checks_counts_and_sizes_and_says_how_to_get_data() {
    let dir = tempfile::tempdir().unwrap();
    let e = err_of(mnist::load(dir.path(), mnist::Split::Test));
    assert!(e.contains("data/fetch.sh") && e.contains(mnist::DATA_ENV), "{e}");
    write(dir.path(), "t10k-images-idx3-ubyte", &idx::encode_images(3, 28, 28, &[0; 3 * 784]));
    write(dir.path(), "t10k-labels-idx1-ubyte.gz", &gz(&idx::encode_labels(&[1, 2])));
    assert!(err_of(mnist::load(dir.path(), mnist::Split::Test)).contains("2 labels"));
    write(dir.path(), "t10k-labels-idx1-ubyte.gz", &gz(&idx::encode_labels(&[1, 2, 3])));
    let d = mnist::load(dir.path(), mnist::Split::Test).unwrap();
    assert_eq!((d.len(), d.dim, d.classes), (3, 256, 10));
    write(dir.path(), "train-images-idx3-ubyte", &idx::encode_images(1, 20, 20, &[0; 400]));
    write(dir.path(), "train-labels-idx1-ubyte", &idx::encode_labels(&[1]));
    assert!(err_of(mnist::load(dir.path(), mnist::Split::Train)).contains("28x28"));
}
