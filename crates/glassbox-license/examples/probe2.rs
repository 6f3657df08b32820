//! timing
fn main() {
    use glassbox_license::corpus::{build, Tables};
    for (t, r) in [(false, true), (true, false)] {
        let s = std::time::Instant::now();
        let set = build(
            Tables {
                texts: t,
                references: r,
            },
            0.6,
        );
        eprintln!("texts={t} refs={r}: {:?} {}", s.elapsed(), set.len());
    }
}
