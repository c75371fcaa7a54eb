//! Bank statement parsers (src/bank_formats): hand-made fixtures, generator output, hostile input.

mod formats;
mod generated;
mod malformed;
mod other_parsers;
mod real_files;
