//! Small file helpers shared by every reader and writer of results: atomic writes, reads with a size
//! limit, a lock that gives one process a run directory, readable UTC time stamps, and short quotes of
//! untrusted text for error messages.

use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Largest genome file (JSON or `.out`) read: the paper's champion is a few hundred kilobytes.
pub const MAX_GENOME_FILE: u64 = 256 << 20;
/// Largest settings file read.
pub const MAX_CONFIG_FILE: u64 = 1 << 20;

/// Writes `bytes` to `path` through a temporary file and a rename, so that a crash or Ctrl-C never
/// leaves a half-written file behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Reads at most `limit` bytes from `reader`; more is an error naming `path` (so that `/dev/zero`, a
/// FIFO or a runaway file cannot eat all memory).
pub fn read_limited(reader: impl Read, limit: u64, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::format(
            path,
            format!("larger than {} MiB, more than such a file can sensibly hold", limit >> 20),
        ));
    }
    Ok(bytes)
}

/// The whole file, refusing one larger than `limit` bytes.
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    read_limited(f, limit, path)
}

/// The whole file as UTF-8 text, refusing one larger than `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String> {
    String::from_utf8(read_file(path, limit)?)
        .map_err(|_| Error::format(path, "not a text file (the bytes are not UTF-8)"))
}

/// A settings-sized text file (a run's log, a config).
pub fn read_to_string(path: &Path) -> Result<String> {
    read_text(path, MAX_CONFIG_FILE)
}

/// Untrusted text for an error message: debug-quoted, cut to a few dozen characters so that a huge
/// token in a file never floods the terminal.
pub fn quote(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}... ({} bytes)", &text[..cut], text.len()),
    }
}

/// A parser's message about untrusted input, cut in the middle when long: serde quotes unknown
/// field and variant names whole, and the end says where in the file the problem is.
pub fn clip(msg: impl std::fmt::Display) -> String {
    let msg = msg.to_string();
    let chars: Vec<char> = msg.chars().collect();
    if chars.len() <= 240 {
        return msg;
    }
    let head: String = chars[..120].iter().collect();
    let tail: String = chars[chars.len() - 100..].iter().collect();
    format!("{head} ... {tail}")
}

/// `2026-11-30T05-24-10Z`: the UTC time, readable and safe in a file name.
pub fn utc_stamp(time: std::time::SystemTime) -> String {
    let secs = time.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}-{:02}-{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// An exclusive lock on a directory, held while the value lives (and released by the system if the
/// process dies). The lock file holds the owner's process id, so that a refusal can name it.
#[derive(Debug)]
pub struct DirLock {
    _file: std::fs::File,
    path: PathBuf,
}

impl DirLock {
    pub const FILE: &str = ".wann.lock";

    /// Takes the lock on `dir` (which must exist) or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let path = dir.join(Self::FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut owner = String::new();
                let _ = (&file).take(32).read_to_string(&mut owner);
                let owner = owner.trim();
                let who = if owner.is_empty() || !owner.bytes().all(|b| b.is_ascii_digit()) {
                    "another process".to_string()
                } else {
                    format!("another process (pid {owner})")
                };
                return Err(Error::Invalid(format!(
                    "{} is in use by {who}: wait for it to finish or stop it first; two processes \
                     writing one run directory would mix their results",
                    dir.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let pid = std::process::id().to_string();
        let written = file.set_len(0).and_then(|_| file.write_all(pid.as_bytes())).and_then(|_| file.flush());
        written.map_err(|e| Error::io(&path, e))?;
        Ok(DirLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps_of_known_instants() {
        let at = |s: u64| utc_stamp(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00-00-00Z");
        // 2000-02-29 12:34:56 UTC (a leap day of a century leap year), from `date -u -d ... +%s`.
        assert_eq!(at(951_827_696), "2000-02-29T12-34-56Z");
        assert_eq!(at(1_796_016_250), "2026-11-30T05-24-10Z");
    }

    #[test]
    fn long_messages_keep_their_ends() {
        let msg = format!("unknown field `{}`, expected `id` at line 1 column 9", "y".repeat(5000));
        let clipped = clip(&msg);
        assert!(clipped.len() < 300 && clipped.starts_with("unknown field") && clipped.ends_with("column 9"));
        assert_eq!(clip("short"), "short");
    }

    #[test]
    fn quotes_are_cut() {
        assert_eq!(quote("abc"), "\"abc\"");
        let long = "x".repeat(10_000);
        let q = quote(&long);
        assert!(q.len() < 80 && q.contains("10000 bytes"), "{q}");
    }

    #[test]
    fn reads_stop_at_the_limit() {
        let path = Path::new("zeros");
        assert_eq!(read_limited(std::io::repeat(0).take(10), 10, path).unwrap().len(), 10);
        let err = read_limited(std::io::repeat(0), 1 << 20, path).unwrap_err().to_string();
        assert!(err.contains("larger than 1 MiB"), "{err}");
    }

    #[test]
    fn a_second_lock_is_refused_and_names_the_owner() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        let err = DirLock::acquire(dir.path()).expect_err("the directory is locked").to_string();
        assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
        drop(first);
        DirLock::acquire(dir.path()).expect("free again once the first lock is gone");
    }
}
