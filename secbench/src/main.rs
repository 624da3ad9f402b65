use clap::Parser;

fn main() {
    let cli = secbench::cli::Cli::parse();
    match secbench::commands::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::exit(2);
        }
    }
}
