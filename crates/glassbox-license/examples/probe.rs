use glassbox_core::Detector;
fn main() {
    let t = std::time::Instant::now();
    let d = glassbox_license::detector(&Default::default()).unwrap();
    let mut out = Vec::new();
    d.detect("warm", 0, &mut out).unwrap();
    let set = glassbox_license::corpus::shared_full();
    eprintln!(
        "build {:?} phrases {} longest {}",
        t.elapsed(),
        set.len(),
        set.longest()
    );
    let text = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    let mut out = Vec::new();
    d.detect(&text, 0, &mut out).unwrap();
    for m in out {
        println!(
            "{} {}..{} {:.1} {:?}",
            m.category,
            m.start,
            m.end,
            m.score,
            &text[m.start..m.end.min(m.start + 60)]
        );
    }
}
