//! `secbench-agent sm start --config FILE`: the local stage's Parameters and Secrets
//! extension (see the library).

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let result = secbench_agent::parse_args(&args).and_then(secbench_agent::sm_start);
    if let Err(e) = result {
        eprintln!("Error: {e}");
        std::process::exit(1);
    }
}
