//! Files the server creates for itself in its data directory hold secrets (the development
//! master key, the embedded database, the mailbox of live invitation and sign-in links), so
//! they are the owner's only: directories 0700, files 0600.

use std::io;
use std::path::Path;

/// The embedded SQLite database, in the data directory.
pub const EMBEDDED_DATABASE: &str = "latchkey.db";

/// Creates `path` and any missing parents as 0700 (an existing directory keeps its mode).
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Options that create a file as 0600 (the mode applies only when the file is created).
pub fn private_file_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Makes sure `path` exists as a private file: creates it empty as 0600 when missing, and
/// takes away any group and other access an existing one has (a data directory of an earlier
/// version has 0644 files).
pub fn ensure_private_file(path: &Path) -> io::Result<()> {
    private_file_options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
            tracing::warn!(
                path = %path.display(),
                "the file was readable by others; it is now the owner's only"
            );
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn directories_and_files_are_the_owners_only() {
        let root = std::env::temp_dir().join(format!("latchkey-files-{}", uuid::Uuid::now_v7()));
        let nested = root.join("a/b");
        create_private_dir(&nested).unwrap();
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&nested), 0o700);

        let file = nested.join("new.db");
        ensure_private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);

        let loose = nested.join("loose.txt");
        std::fs::write(&loose, "kept").unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        ensure_private_file(&loose).unwrap();
        assert_eq!(mode(&loose), 0o600);
        assert_eq!(std::fs::read_to_string(&loose).unwrap(), "kept");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
