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

/// Most bytes of data (pixels or labels) one IDX file may promise: MNIST's training images are 47 MB.
pub const MAX_IDX_DATA: u64 = 1 << 30;
/// Deflate cannot compress by more than about 1032:1; a gzip file that claims more is not honest.
const MAX_GZIP_RATIO: u64 = 1100;

/// The raw bytes (header and data) of an IDX file whose header is `header_len` bytes and whose data
/// size the header gives through `data_len`; gzip is expanded transparently. The size is checked
/// from the header before anything is expanded, and expanding stops at that size, so a small file
/// can never ask for gigabytes.
fn read_idx(
    path: &Path,
    bytes: &[u8],
    magic: u32,
    header_len: usize,
    what: &str,
    data_len: impl Fn(&[u8]) -> Result<u64>,
) -> Result<Vec<u8>> {
    let compressed = bytes.starts_with(&[0x1f, 0x8b]);
    let corrupt = |e: std::io::Error| Error::data(path, format!("corrupt gzip data: {e}"));
    let mut rest = bytes;
    let mut gz = compressed.then(|| flate2::bufread::GzDecoder::new(&mut rest));
    let mut out = Vec::new();
    if let Some(gz) = gz.as_mut() {
        gz.take(header_len as u64).read_to_end(&mut out).map_err(corrupt)?;
    } else {
        out.extend_from_slice(&bytes[..bytes.len().min(header_len)]);
    }
    check_header(path, &out, magic, header_len, what)?;
    let expected = data_len(&out)?;
    if expected > MAX_IDX_DATA {
        return Err(Error::data(
            path,
            format!(
                "the header promises {expected} bytes of {what} data, more than this reader accepts ({} MiB)",
                MAX_IDX_DATA >> 20
            ),
        ));
    }
    if let Some(mut gz) = gz {
        if expected > (bytes.len() as u64).saturating_mul(MAX_GZIP_RATIO) {
            return Err(Error::data(
                path,
                format!(
                    "the header promises {expected} bytes of {what} data, but {} compressed bytes cannot hold them",
                    bytes.len()
                ),
            ));
        }
        // One byte more than promised is enough to tell trailing garbage.
        (&mut gz).take(expected + 1).read_to_end(&mut out).map_err(corrupt)?;
        let data = (out.len() - header_len) as u64;
        if data > expected {
            return Err(Error::data(
                path,
                format!("trailing garbage after the {expected} bytes of {what} the header promises"),
            ));
        }
        if data == expected {
            // The stream ended exactly here (the gzip trailer is checked at its end).
            drop(gz);
            if !rest.is_empty() {
                return Err(Error::data(
                    path,
                    format!("{} bytes of trailing garbage after the gzip stream", rest.len()),
                ));
            }
        }
    } else {
        out.extend_from_slice(&bytes[header_len..bytes.len().min(header_len + expected as usize + 1)]);
        if bytes.len() - header_len > expected as usize {
            let extra = bytes.len() - header_len - expected as usize;
            return Err(Error::data(
                path,
                format!("{extra} bytes of trailing garbage after the {expected} bytes of {what}"),
            ));
        }
    }
    check_len(path, out.len() - header_len, expected as usize, what)?;
    Ok(out)
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

/// The file's bytes, refusing one too large to be an IDX file this reader accepts.
fn read_file(path: &Path) -> Result<Vec<u8>> {
    crate::fsutil::read_file(path, MAX_IDX_DATA + 16).map_err(|e| {
        if let Error::Format { msg, .. } = e {
            Error::data(path, msg)
        } else {
            e
        }
    })
}

pub fn read_images(path: &Path) -> Result<IdxImages> {
    parse_images(&read_file(path)?, path)
}

/// Parses an image file's bytes (raw or gzip); `path` only names the file in errors.
pub fn parse_images(bytes: &[u8], path: &Path) -> Result<IdxImages> {
    let dims = |h: &[u8]| (be_u32(h, 4) as u64, be_u32(h, 8) as u64, be_u32(h, 12) as u64);
    let bytes = read_idx(path, bytes, IMAGES_MAGIC, 16, "pixels", |h| {
        let (count, rows, cols) = dims(h);
        if rows == 0 || cols == 0 {
            return Err(Error::data(path, format!("image size {rows}x{cols} is empty")));
        }
        // Three u32 factors fit in u128 without overflow.
        let total = count as u128 * rows as u128 * cols as u128;
        u64::try_from(total).map_err(|_| Error::data(path, "absurd image count"))
    })?;
    let (count, rows, cols) = dims(&bytes);
    Ok(IdxImages {
        count: count as usize,
        rows: rows as usize,
        cols: cols as usize,
        pixels: bytes[16..].to_vec(),
    })
}

/// Reads labels and checks each is below `classes`.
pub fn read_labels(path: &Path, classes: u8) -> Result<Vec<u8>> {
    parse_labels(&read_file(path)?, classes, path)
}

/// Parses a label file's bytes (raw or gzip); `path` only names the file in errors.
pub fn parse_labels(bytes: &[u8], classes: u8, path: &Path) -> Result<Vec<u8>> {
    let bytes = read_idx(path, bytes, LABELS_MAGIC, 8, "labels", |h| Ok(be_u32(h, 4) as u64))?;
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
