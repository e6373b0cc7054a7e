//! What compiling a provider's payment fields costs on the request path, and what
//! `FieldSet::compile_cached` leaves of it: `cargo run --release -p shared --example
//! field_set_compile`. (2-core dev machine, 2026-12-02: 176 µs per compile, 0.61 µs cached.)

use shared::fields::{Field, FieldSet};
use std::time::Instant;
fn main() {
    let fields = vec![
        Field {
            mask: Some("(9xx) xxx-xx-xx".into()),
            ..Field::new("account", "Номер", r"9\d{9}")
        },
        Field::new("city", "Город", "Пермь|Казань|Екатеринбург|Самара|Уфа"),
    ];
    let n = 2000;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(FieldSet::compile(&fields).unwrap());
    }
    let compile = t.elapsed() / n;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(FieldSet::compile_cached(&fields).unwrap());
    }
    let cached = t.elapsed() / n;
    println!("compile {compile:?} per set, compile_cached {cached:?} per set");
}
