//! `hardware-sim` binary: serves emulated readers on PTYs.

fn main() {
    eprintln!("hardware-sim: not built yet — see issue 2/6 in the tracker");
    std::process::exit(2);
}
