//! Reading a file the user names (the spec, fixtures, scenarios, recordings, a HAR to import):
//! regular files only, with a size cap, so a mistaken path fails at once naming the file.
//!
//! A FIFO would block start-up forever, a device such as `/dev/zero` would be read until memory
//! runs out, and a folder gives an OS error that does not say what was expected (issue 11).

use std::path::Path;

/// The largest file read: a generated fixture set of thousands of records, or a large API
/// document, is a few MB, so a file this large is a mistake (or not what it claims to be).
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Why a file could not be read: the file and what is wrong, in words.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot read {path}: {message}")]
pub struct ReadError {
    pub path: String,
    pub message: String,
}

/// The text of `path`, read only if it is a regular file (a symlink to one is fine) of at most
/// [`MAX_FILE_BYTES`].
pub fn read_regular(path: &Path) -> Result<String, ReadError> {
    use std::io::Read as _;
    let error = |message: String| ReadError {
        path: path.display().to_string(),
        message,
    };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) => {
            return Err(match std::fs::read_link(path) {
                Ok(target) => error(format!(
                    "a broken symlink (it points to {}, which cannot be read: {e})",
                    target.display()
                )),
                Err(_) => error(e.to_string()),
            });
        }
    };
    if !metadata.is_file() {
        let what = if metadata.is_dir() {
            "a folder"
        } else {
            "a FIFO, socket or device"
        };
        return Err(error(format!(
            "not a regular file ({what}); evalmock reads regular files only"
        )));
    }
    let over = || {
        error(format!(
            "over the limit of {} MB per file",
            MAX_FILE_BYTES / (1024 * 1024)
        ))
    };
    if metadata.len() > MAX_FILE_BYTES {
        return Err(over());
    }
    let file = std::fs::File::open(path).map_err(|e| error(e.to_string()))?;
    let mut text = String::new();
    // The cap holds even for a file that grows while it is read.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| error(e.to_string()))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(over());
    }
    Ok(text)
}
