//! Latchkey's own JSON lines ([`crate::record`]).

use super::{Read, json_lines};
use crate::problem::Problem;
use crate::record::Record;
use std::io::BufRead;

pub(super) fn read<'a>(source: Box<dyn BufRead + Send + 'a>) -> impl Iterator<Item = Read> + 'a {
    json_lines(source, |number, line| {
        serde_json::from_str::<Record>(line).map_err(|error| {
            vec![Problem::new(
                number,
                "",
                format!("not a Latchkey record: {error}"),
            )]
        })
    })
}
