//! IDX files (the MNIST distribution format), raw or gzip-compressed. Every malformation is an error
//! naming the file.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    /// `count * rows * cols` bytes, image-major, row-major.
    pub pixels: Vec<u8>,
}

/// Reads a whole file, transparently un-gzipping it when it starts with the gzip magic bytes.
fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::data(path, format!("corrupt gzip data: {e}")))?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn check_header(path: &Path, bytes: &[u8], magic: u32, header_len: usize, what: &str) -> Result<()> {
    if bytes.len() >= 4 && be_u32(bytes, 0) != magic {
        return Err(Error::data(
            path,
            format!("magic number {:#010x}, expected {magic:#010x} for an IDX {what} file", be_u32(bytes, 0)),
        ));
    }
    if bytes.len() < header_len {
        return Err(Error::data(
            path,
            format!("file is {} bytes, too short for an IDX {what} header", bytes.len()),
        ));
    }
    Ok(())
}

fn check_len(path: &Path, actual: usize, expected: usize, what: &str) -> Result<()> {
    match actual.cmp(&expected) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Less => Err(Error::data(
            path,
            format!("truncated: the header promises {expected} bytes of {what}, the file has {actual}"),
        )),
        std::cmp::Ordering::Greater => Err(Error::data(
            path,
            format!("{} bytes of trailing garbage after the {expected} bytes of {what}", actual - expected),
        )),
    }
}

pub fn read_images(path: &Path) -> Result<IdxImages> {
    let bytes = read_maybe_gz(path)?;
    check_header(path, &bytes, IMAGES_MAGIC, 16, "image")?;
    let (count, rows, cols) =
        (be_u32(&bytes, 4) as usize, be_u32(&bytes, 8) as usize, be_u32(&bytes, 12) as usize);
    if rows == 0 || cols == 0 {
        return Err(Error::data(path, format!("image size {rows}x{cols} is empty")));
    }
    let expected = count.checked_mul(rows * cols).ok_or_else(|| Error::data(path, "absurd image count"))?;
    check_len(path, bytes.len() - 16, expected, "pixels")?;
    Ok(IdxImages { count, rows, cols, pixels: bytes[16..].to_vec() })
}

/// Reads labels and checks each is below `classes`.
pub fn read_labels(path: &Path, classes: u8) -> Result<Vec<u8>> {
    let bytes = read_maybe_gz(path)?;
    check_header(path, &bytes, LABELS_MAGIC, 8, "label")?;
    let count = be_u32(&bytes, 4) as usize;
    check_len(path, bytes.len() - 8, count, "labels")?;
    let labels = bytes[8..].to_vec();
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= classes) {
        return Err(Error::data(path, format!("label {i} is {l}, outside 0..{classes}")));
    }
    Ok(labels)
}

/// Writes an uncompressed IDX image file (used by tests and tools that make small datasets).
pub fn encode_images(count: usize, rows: usize, cols: usize, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + pixels.len());
    for v in [IMAGES_MAGIC, count as u32, rows as u32, cols as u32] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}
