//! Progress bars of the command line's long work (backfills, imports, exports), on stderr.

use std::io::Write;

/// `[#########-----------]  4500/12000 queued` on one line of stderr.
pub fn bar(done: u64, total: u64, what: &str) {
    const WIDTH: u64 = 30;
    let filled = (done.min(total) * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH);
    let line = format!(
        "\r[{}{}] {done:>7}/{total} {what}",
        "#".repeat(filled as usize),
        "-".repeat((WIDTH - filled) as usize)
    );
    let mut stderr = std::io::stderr();
    let _ = stderr
        .write_all(line.as_bytes())
        .and_then(|()| stderr.flush());
}
